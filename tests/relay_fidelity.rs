//! Fidelity: what goes in one side comes out the other equal as a JSON
//! value. The remote here is a small echo server the test starts on
//! loopback: it answers each request with the exact message it received,
//! and can stream notifications and server→client requests that carry
//! fields and methods no SDK models.

mod support;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{Bridge, toml_string};

#[derive(Default)]
struct Seen {
    /// Every POSTed message, with the headers that matter here.
    posts: Vec<(Value, Option<String>, Option<String>)>,
}

type Shared = Arc<Mutex<Seen>>;

/// A notification and a server→client request no SDK knows, sent on the
/// response stream of `custom/stream`.
fn odd_notification() -> Value {
    json!({"jsonrpc": "2.0", "method": "notifications/vendor_event", "params": {"_meta": {"trace": "t-1"}, "n": 1, "big": 12345678901234567890u64, "f": 0.1}, "x-top": {"a": [1, null]}})
}
fn odd_request() -> Value {
    json!({"jsonrpc": "2.0", "id": "srv-1", "method": "vendor/ask", "params": {"q": "?", "extra": {"deep": true}}})
}

async fn mcp(State(seen): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let msg: Value = serde_json::from_slice(&body).unwrap();
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
    seen.lock()
        .unwrap()
        .posts
        .push((msg.clone(), h("mcp-session-id"), h("mcp-method")));
    let Some(id) = msg.get("id").cloned().filter(|_| msg.get("method").is_some()) else {
        return StatusCode::ACCEPTED.into_response();
    };
    match msg["method"].as_str().unwrap() {
        // A server of both eras, as the 2026-07-28 revision describes one.
        "server/discover" => {
            let result = json!({
                "resultType": "complete",
                "supportedVersions": ["2026-07-28", "2025-11-25"],
                "capabilities": {"tools": {}},
                "echo": msg,
            });
            axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response()
        }
        "initialize" => {
            let result = json!({
                "protocolVersion": "2025-11-25",
                "capabilities": {"tools": {"listChanged": true}, "tasks": {"list": {}, "requests": {"tools": {"call": {}}}}, "x-vendor": {"on": true}},
                "serverInfo": {"name": "echo", "version": "1"},
                "echo": msg["params"],
            });
            let mut r = axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response();
            r.headers_mut().insert("mcp-session-id", "sess-1".parse().unwrap());
            r
        }
        "custom/stream" => {
            let resp = json!({"jsonrpc": "2.0", "id": id, "result": {"done": true, "x-extra": [1, 2]}});
            let body = [odd_notification(), odd_request(), resp]
                .iter()
                .map(|m| format!("event: message\ndata: {m}\n\n"))
                .collect::<String>();
            ([("content-type", "text/event-stream")], body).into_response()
        }
        // Remotes misbehaving in the ways the bridge must explain.
        "fail/503" => (StatusCode::SERVICE_UNAVAILABLE, "upstream is down for maintenance").into_response(),
        "fail/json" => ([("content-type", "application/json")], "{not json").into_response(),
        "fail/html" => ([("content-type", "text/html")], "<html>login</html>").into_response(),
        _ => axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": {"echo": msg}, "x-top": 1})).into_response(),
    }
}

async fn start_echo() -> (String, Shared) {
    let seen = Shared::default();
    let app = axum::Router::new()
        .route(
            "/mcp",
            axum::routing::post(mcp)
                .get(|| async { StatusCode::METHOD_NOT_ALLOWED })
                .delete(|| async { StatusCode::OK }),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

fn bridge(url: &str) -> Bridge {
    Bridge::serve(&format!("[servers.echo]\nurl = {}\n", toml_string(url)), "echo")
}

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn unknown_fields_and_methods_pass_both_ways_unchanged() {
    let (url, seen) = start_echo().await;
    let mut b = bridge(&url);
    let caps = json!({"sampling": {"tools": {}}, "elicitation": {"form": {}, "url": {}}, "roots": {"listChanged": true}, "tasks": {"requests": {"sampling": {"createMessage": {}}}}, "x-client": {"v": 2}});
    let init = b.initialize(caps.clone()).await;
    // The client's capabilities reach the remote unchanged ...
    assert_eq!(init["echo"]["capabilities"], caps);
    // ... and the server's, including ones no SDK models, reach the client.
    assert_eq!(
        init["capabilities"]["tasks"],
        json!({"list": {}, "requests": {"tools": {"call": {}}}})
    );
    assert_eq!(init["capabilities"]["x-vendor"], json!({"on": true}));

    let sent = json!({"jsonrpc": "2.0", "id": "abc", "method": "vendor/thing",
        "params": {"_meta": {"progressToken": 1, "k": [1, 2.5, {"n": null}]}, "task": {"ttl": 60000}, "weird": "ü ✓"}});
    b.send(&sent).await;
    let resp = b.wait_response(&json!("abc"), WAIT).await;
    assert_eq!(
        resp["result"]["echo"], sent,
        "the remote must receive exactly what the client sent"
    );
    assert_eq!(resp["x-top"], 1, "unknown top-level response fields survive");
    // `1` stays an integer (typed SDKs turn it into 1.0).
    assert!(resp.to_string().contains("\"progressToken\":1,"), "{resp}");

    let posted = seen
        .lock()
        .unwrap()
        .posts
        .iter()
        .find(|p| p.0["id"] == "abc")
        .cloned()
        .unwrap();
    assert_eq!(posted.1.as_deref(), Some("sess-1"));
    assert_eq!(posted.2.as_deref(), Some("vendor/thing"));
}

#[tokio::test]
async fn server_initiated_odd_messages_reach_the_client_and_answers_go_back() {
    let (url, seen) = start_echo().await;
    let mut b = bridge(&url);
    b.initialize(json!({})).await;
    let id = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "custom/stream"}))
        .await;
    let resp = b.wait_response(&id, WAIT).await;
    assert_eq!(resp["result"], json!({"done": true, "x-extra": [1, 2]}));
    assert_eq!(b.next_other().unwrap(), odd_notification());
    let req = b.next_other().unwrap();
    assert_eq!(req, odd_request());
    let answer =
        json!({"jsonrpc": "2.0", "id": "srv-1", "result": {"ok": true, "_meta": {"x": 1}}, "x-client-extra": "kept"});
    b.send(&answer).await;
    // The client's answer reaches the remote unchanged.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if seen.lock().unwrap().posts.iter().any(|p| p.0 == answer) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the answer never reached the remote"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sessionless_requests_are_forwarded_as_they_are() {
    let (url, seen) = start_echo().await;
    let mut b = bridge(&url);
    // The 2026-07-28 revision has no initialize: the first message is a plain request.
    let sent = json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover",
        "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}}}});
    b.send(&sent).await;
    let resp = b.wait_response(&json!(1), WAIT).await;
    assert_eq!(resp["result"]["echo"], sent);
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "x", "arguments": {}, "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}});
    b.send(&call).await;
    assert_eq!(b.wait_response(&json!(2), WAIT).await["result"]["echo"], call);
    let posts = seen.lock().unwrap().posts.clone();
    assert!(
        posts.iter().all(|p| p.1.is_none()),
        "no session id without initialize: {posts:?}"
    );
    assert_eq!(posts[0].2.as_deref(), Some("server/discover"));
}

#[tokio::test]
async fn a_misbehaving_remote_gets_a_clear_error_and_the_bridge_goes_on() {
    let (url, _seen) = start_echo().await;
    let mut b = bridge(&url);
    b.initialize(json!({})).await;
    for (method, wants) in [
        (
            "fail/503",
            vec!["`echo`", "HTTP 503", "upstream is down for maintenance"],
        ),
        ("fail/json", vec!["`echo`", "not valid JSON"]),
        ("fail/html", vec!["`echo`", "text/html"]),
    ] {
        let r = b.request(method, json!({})).await;
        let msg = r["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("{method}: no error in {r}"));
        for w in wants {
            assert!(msg.contains(w), "{method}: {w:?} missing from {msg}");
        }
        assert_eq!(r["error"]["data"]["server"], "echo");
    }
    let ok = b.request("vendor/ok", json!({})).await;
    assert_eq!(ok["result"]["echo"]["method"], "vendor/ok");
}
