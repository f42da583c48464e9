//! A remote over HTTP/2 with TLS, through the public surface. Hosted
//! providers sit behind fronts that answer in HTTP/2 when the client offers
//! it (reqwest does, by ALPN), so the bridge's requests, SSE streams and
//! many calls in flight share one connection's streams there. The test puts
//! an HTTP/2-only TLS front on loopback that forwards each request to an
//! in-process sandbox over HTTP/1.1, streaming the answers back as they come.

mod support;
mod tls_support;

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, StreamBody, combinators::UnsyncBoxBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use support::{Bridge, toml_string};
use tls_support::{authority, server_certificate, write_pem};
use tokio::net::TcpListener;

type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// What the front saw: its connections, and the requests whose answer is
/// still streaming.
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    open: AtomicUsize,
}

/// Counts one answer as open at the front until its stream ends.
struct OpenAnswer(Arc<Seen>);

impl OpenAnswer {
    fn new(seen: Arc<Seen>) -> OpenAnswer {
        seen.open.fetch_add(1, Ordering::SeqCst);
        OpenAnswer(seen)
    }
}

impl Drop for OpenAnswer {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Forwards one request to `backend` (the sandbox's `http://host:port`) and
/// streams its answer back; headers that belong to one hop are dropped.
async fn forward(req: Request<Incoming>, backend: Arc<str>, http: reqwest::Client, seen: Arc<Seen>) -> Response<Body> {
    let open = OpenAnswer::new(seen);
    let (parts, body) = req.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out = http.request(parts.method.clone(), format!("{backend}{path}"));
    for (name, value) in &parts.headers {
        if name != hyper::header::HOST {
            out = out.header(name, value);
        }
    }
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let answer = match out.body(body).send().await {
        Ok(answer) => answer,
        Err(e) => {
            let text = Bytes::from(format!("front: {e}"));
            let body = http_body_util::Full::new(text)
                .map_err(|never| match never {})
                .boxed_unsync();
            return Response::builder().status(502).body(body).unwrap();
        }
    };
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        let hop = ["connection", "keep-alive", "transfer-encoding", "upgrade"];
        if !hop.contains(&name.as_str()) {
            response = response.header(name, value);
        }
    }
    let frames = answer.bytes_stream().map(move |piece| {
        let _still_open = &open;
        piece.map(Frame::data).map_err(std::io::Error::other)
    });
    response.body(StreamBody::new(frames).boxed_unsync()).unwrap()
}

/// An HTTP/2-only TLS front before `backend`; returns its port and the PEM
/// of the authority that signed its certificate.
async fn h2_front(backend: String, seen: Arc<Seen>) -> (u16, String) {
    let ca = authority("mcp-bridge test CA");
    let (cert, key) = server_certificate(&ca, false);
    let acceptor = tls_support::acceptor(cert, key, &[b"h2"]);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let backend: Arc<str> = backend.into();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let (acceptor, backend, http, seen) = (acceptor.clone(), backend.clone(), http.clone(), seen.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(conn).await else {
                    return;
                };
                seen.connections.fetch_add(1, Ordering::SeqCst);
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let (backend, http, seen) = (backend.clone(), http.clone(), seen.clone());
                    async move { Ok::<_, std::convert::Infallible>(forward(req, backend, http, seen).await) }
                });
                let _ = hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (port, ca.pem())
}

fn text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn relays_over_http2_with_streams_and_many_calls_in_flight() {
    let token = "tok-h2-5be0c3a1";
    let sandbox = support::sandbox_with(Some(token), None).await;
    let seen = Arc::new(Seen::default());
    let (port, ca_pem) = h2_front(format!("http://{}", sandbox.addr), seen.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let trust = write_pem(&dir, "ca.pem", &ca_pem);
    let url = format!("https://localhost:{port}/mcp");
    let (config_dir, config) = support::write_config(&format!(
        "[servers.h2]\nurl = {}\nbearer = {}\n",
        toml_string(&url),
        toml_string(token)
    ));
    let mut cmd = Bridge::command();
    cmd.arg("--config").arg(&config).args(["serve", "h2"]);
    tls_support::trust_only(&mut cmd, &trust);
    let mut b = Bridge::spawn(cmd);
    b.keep(config_dir);

    b.initialize(json!({"elicitation": {}})).await;
    let one = b
        .request_ok(
            "tools/call",
            json!({"name": "slow_echo", "arguments": {"text": "over h2", "delay_ms": 0}}),
        )
        .await;
    assert_eq!(text(&one), "over h2", "{one}");

    // Progress notifications come on the call's SSE stream, before its result.
    let progress = b
        .request_ok(
            "tools/call",
            json!({"name": "progress_demo", "arguments": {"steps": 3, "delay_ms": 20},
                   "_meta": {"progressToken": "h2-progress"}}),
        )
        .await;
    assert!(text(&progress).contains('3'), "{progress}");
    let mut steps = Vec::new();
    while let Some(note) = b.next_other() {
        if note["method"] == "notifications/progress" {
            assert_eq!(note["params"]["progressToken"], "h2-progress", "{note}");
            steps.push(note["params"]["progress"].as_f64().unwrap_or(-1.0));
        }
    }
    assert_eq!(steps, vec![1.0, 2.0, 3.0]);

    // Many calls in flight at once: each asks the user a question and waits
    // for the answer, so once every question has reached the client, every
    // call's answer stream is open at the front at the same time.
    const IN_FLIGHT: usize = 32;
    let mut ids = Vec::new();
    for i in 0..IN_FLIGHT {
        let id = json!(format!("many-{i}"));
        b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "ask_user", "arguments": {"question": format!("question {i}")}}}))
            .await;
        ids.push(id);
    }
    let mut questions = Vec::new();
    while questions.len() < IN_FLIGHT {
        let ask = b.next_other_timeout(Duration::from_secs(20)).await;
        if ask["method"] == "elicitation/create" {
            questions.push(ask);
        }
    }
    // They share one connection (or two, if a second was opened while the
    // first was being set up): the bridge multiplexes its calls as HTTP/2
    // streams, where HTTP/1.1 would need a connection for each.
    let open = seen.open.load(Ordering::SeqCst);
    let connections = seen.connections.load(Ordering::SeqCst);
    assert!(open >= IN_FLIGHT, "{open} answers open at the front");
    assert!((1..=2).contains(&connections), "{connections} connections");
    for ask in &questions {
        let question = ask["params"]["message"].as_str().unwrap_or_default().to_string();
        b.respond(&ask["id"], json!({"action": "accept", "content": {"answer": question}}))
            .await;
    }
    for (i, id) in ids.iter().enumerate() {
        let answer = b.wait_response(id, Duration::from_secs(20)).await;
        assert_eq!(
            text(&answer["result"]),
            format!("The user answered: question {i}"),
            "{answer}"
        );
    }
    assert_eq!(seen.connections.load(Ordering::SeqCst), connections);
    let posts = sandbox
        .requests()
        .into_iter()
        .filter(|r| r.http_method == "POST")
        .count();
    assert!(posts >= 2 * IN_FLIGHT + 3, "{posts} POSTs reached the sandbox");
}
