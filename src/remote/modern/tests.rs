use super::*;
use crate::config::{Config, Resolver};
use crate::credential::Static;
use crate::provider::Setup;
use crate::redact::Redactor;
use crate::remote::authorized::Authorized;
use crate::remote::inbound::Inbound;

/// A 2026-07-28 server on loopback whose every answer is one SSE event:
/// `server/discover`'s result, padded with `pad` bytes.
async fn padded_server(pad: usize) -> String {
    let answer = move |body: String| async move {
        let id = serde_json::from_str::<Value>(&body).unwrap_or_default()["id"].clone();
        let result = json!({"supportedVersions": ["2026-07-28"], "pad": "x".repeat(pad)});
        let event = format!("data: {}\n\n", json!({"jsonrpc": "2.0", "id": id, "result": result}));
        ([(http::header::CONTENT_TYPE, "text/event-stream")], event)
    };
    let app = axum::Router::new().route("/mcp", axum::routing::post(answer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// The modern transport to `url`, configured with `extra` lines.
fn modern(url: &str, extra: &str) -> Arc<Modern> {
    let config = Config::parse(&format!("[servers.s]\nurl = \"{url}\"\n{extra}"), None).unwrap();
    let (name, entry) = config.select(Some("s")).unwrap();
    let (resolver, redactor) = (Resolver::new(), Redactor::new());
    let setup = Setup::new(name, entry, &config, &resolver, &redactor);
    let ep = setup.endpoint(url.parse().unwrap(), Arc::new(Static::none())).unwrap();
    let http = Authorized::new(&ep.url, ep.headers.clone(), ep.credential.clone(), ep.redactor.clone()).unwrap();
    let shared = Arc::new(EraShared::new(&ep.server, ep.timeout));
    let inbound = Arc::new(Inbound::new(Outbox::channel().0));
    Modern::new(Arc::new(Exchange::new(ep, http, inbound)), shared)
}

/// The answer `server/discover` gets from `m`.
async fn discover_answer(m: &Modern) -> Option<Value> {
    let id = json!("discover-1");
    let body = Bytes::from(crate::jsonrpc::to_line(
        &json!({"jsonrpc": "2.0", "id": id, "method": "server/discover"}),
    ));
    let heads = Heads {
        version: "2026-07-28",
        method: "server/discover",
        name: None,
        arguments: None,
    };
    m.exchange(&body, &heads, &id).await.unwrap().1
}

#[tokio::test]
async fn a_discover_answer_is_read_up_to_the_servers_max_message_size() {
    let limit = "max_message_size = \"64KiB\"\n";
    let small = modern(&padded_server(1 << 10).await, limit);
    let answer = discover_answer(&small).await.expect("an answer under the limit");
    assert_eq!(answer["result"]["supportedVersions"][0], "2026-07-28");
    let large = modern(&padded_server(200 << 10).await, limit);
    assert_eq!(
        discover_answer(&large).await,
        None,
        "an event past the limit is not read"
    );
}
