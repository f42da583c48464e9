//! A remote's text cannot drive the person's terminal: `tools`, `call`,
//! `doctor` and the errors they print show a remote's control characters
//! (ANSI colours, OSC titles and clipboard writes, carriage returns)
//! escaped, and keep a result's own lines; `--json` stays the exact JSON.

mod cli_support;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use cli_support::{Home, Run};
use serde_json::{Value, json};

const NAME: &str = "send\u{1b}[8m_hidden";
const DESCRIPTION: &str = "\u{1b}]0;pwned\u{7}Sends mail\u{1b}[2J";
const RESULT: &str = "done\u{1b}]52;c;cGF5bG9hZA==\u{7}\nline 2\rfake prompt $";

fn tools() -> Value {
    json!([{"name": NAME, "description": DESCRIPTION, "inputSchema": {"type": "object", "properties": {}}}])
}

async fn mcp(body: axum::body::Bytes) -> axum::response::Response {
    let msg: Value = serde_json::from_slice(&body).unwrap_or_default();
    let Some(id) = msg.get("id").cloned() else {
        return StatusCode::ACCEPTED.into_response();
    };
    let answer = match (msg["method"].as_str(), msg["params"]["name"].as_str()) {
        (Some("initialize"), _) => json!({"result": {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                                                    "serverInfo": {"name": "loud", "version": "1"}}}),
        (Some("tools/list"), _) => json!({"result": {"tools": tools()}}),
        (Some("tools/call"), Some("fail")) => {
            json!({"error": {"code": -32000, "message": "\u{1b}[31mboom\u{1b}]0;t\u{7}"}})
        }
        (Some("tools/call"), _) => json!({"result": {"content": [{"type": "text", "text": RESULT}]}}),
        _ => json!({"error": {"code": -32601, "message": "method not found"}}),
    };
    let mut answer = answer;
    answer["jsonrpc"] = json!("2.0");
    answer["id"] = id;
    axum::Json(answer).into_response()
}

async fn start(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn no_sequences(r: &Run) {
    for c in ['\u{1b}', '\u{7}', '\r'] {
        assert!(
            !r.out.contains(c) && !r.err.contains(c),
            "{c:?} reached the terminal: {:?}",
            r.all()
        );
    }
}

#[tokio::test]
async fn tools_and_call_escape_a_remotes_terminal_sequences_and_json_stays_exact() {
    let app = axum::Router::new().route(
        "/mcp",
        axum::routing::post(mcp).get(|| async { StatusCode::METHOD_NOT_ALLOWED }),
    );
    let url = start(app).await;
    let home = Home::new();
    let config = home.file("c.toml", &format!("[servers.loud]\nurl = \"{url}\"\n"));
    let c = config.to_str().unwrap();

    let r = home.run_async(&["--config", c, "tools", "loud"]).await;
    assert_eq!(r.code, 0, "{}", r.all());
    no_sequences(&r);
    assert!(
        r.out.contains("send\\u{1b}[8m_hidden") && r.out.contains("\\u{1b}]0;pwned\\u{7}Sends mail"),
        "{}",
        r.out
    );

    let r = home.run_async(&["--config", c, "tools", "loud", "--json"]).await;
    assert_eq!(serde_json::from_str::<Value>(&r.out).unwrap(), tools(), "{}", r.all());

    let r = home.run_async(&["--config", c, "call", "loud", "send"]).await;
    assert_eq!(r.code, 0, "{}", r.all());
    no_sequences(&r);
    assert!(
        r.out
            .contains("done\\u{1b}]52;c;cGF5bG9hZA==\\u{7}\nline 2\\rfake prompt $"),
        "{:?}",
        r.out
    );

    let r = home.run_async(&["--config", c, "call", "loud", "send", "--json"]).await;
    let result: Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(result["content"][0]["text"], RESULT, "{}", r.all());

    let r = home.run_async(&["--config", c, "call", "loud", "fail"]).await;
    assert_eq!(r.code, 1, "{}", r.all());
    no_sequences(&r);
    assert!(r.err.contains("\\u{1b}[31mboom"), "{}", r.all());
}

#[tokio::test]
async fn doctor_escapes_a_remotes_terminal_sequences() {
    let page = "\u{1b}]0;all good\u{7}\u{1b}[32mOK\u{1b}[0m\r";
    let app = axum::Router::new().fallback(move || async move { (StatusCode::INTERNAL_SERVER_ERROR, page) });
    let url = start(app).await;
    let home = Home::new();
    let config = home.file("c.toml", &format!("[servers.loud]\nurl = \"{url}\"\n"));
    let r = home.run_async(&["--config", config.to_str().unwrap(), "doctor"]).await;
    assert_ne!(r.code, 0, "{}", r.all());
    no_sequences(&r);
    assert!(r.out.contains("\\u{1b}[32mOK"), "{}", r.all());
}
