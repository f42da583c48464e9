//! No remote and no client can make the bridge hold more than a server's
//! `max_message_size` (128 MiB unless the entry says otherwise): a body, an
//! SSE event or a stdin line past it is an error for its request (the
//! bridge reads no further, and keeps serving), and an error page is read
//! for a few KiB and a few seconds at most.

mod support;

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{Bridge, toml_string};

const MIB: usize = 1 << 20;

/// A body of `prefix`, then `size` bytes of `x`, then `suffix`, sent in
/// 1 MiB pieces with no length declared.
fn streamed(prefix: String, size: usize, suffix: &'static str) -> Body {
    let pieces = std::iter::once(Bytes::from(prefix))
        .chain((0..size / MIB).map(|_| Bytes::from(vec![b'x'; MIB])))
        .chain(std::iter::once(Bytes::from(vec![b'x'; size % MIB])))
        .chain(std::iter::once(Bytes::from_static(suffix.as_bytes())))
        .map(Ok::<_, std::io::Error>);
    Body::from_stream(futures::stream::iter(pieces))
}

async fn mcp(body: Bytes) -> Response {
    let msg: Value = serde_json::from_slice(&body).unwrap_or_default();
    let Some(id) = msg.get("id").cloned() else {
        return StatusCode::ACCEPTED.into_response();
    };
    let head = |id: &Value| format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{"content":[{{"type":"text","text":""#);
    match (msg["method"].as_str(), msg["params"]["name"].as_str()) {
        (Some("initialize"), _) => axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": {
            "protocolVersion": "2025-11-25", "capabilities": {"tools": {}}, "serverInfo": {"name": "big", "version": "1"}}}))
        .into_response(),
        // 129 MiB of JSON, streamed with no length: past the default limit.
        (Some("tools/call"), Some("huge")) => Response::builder()
            .header("content-type", "application/json")
            .body(streamed(head(&id), 129 * MIB, "\"}]}}"))
            .unwrap(),
        // 200 KiB, declared: past a 64 KiB limit before a byte is read.
        (Some("tools/call"), Some("declared")) => {
            let text = format!(r#"{}{}"}}]}}}}"#, head(&id), "x".repeat(200 << 10));
            ([("content-type", "application/json")], text).into_response()
        }
        // One SSE event of 200 KiB, with an id (a stream that could be resumed).
        (Some("tools/call"), Some("event")) => {
            let event = format!("id: e1\ndata: {}{}\"}}]}}}}\n\n", head(&id), "x".repeat(200 << 10));
            ([("content-type", "text/event-stream")], event).into_response()
        }
        // An error page that never ends.
        (Some("tools/call"), Some("endless-error")) => {
            let pieces = futures::stream::unfold((), |()| async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Some((Ok::<_, std::io::Error>(Bytes::from_static(b"still failing... ")), ()))
            });
            Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .body(Body::from_stream(pieces))
                .unwrap()
        }
        (Some("tools/call"), _) => axum::Json(json!({"jsonrpc": "2.0", "id": id,
            "result": {"content": [{"type": "text", "text": "small"}]}}))
        .into_response(),
        _ => axum::Json(json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "no"}})).into_response(),
    }
}

async fn start() -> String {
    let app = axum::Router::new().route(
        "/mcp",
        axum::routing::post(mcp).get(|| async { StatusCode::METHOD_NOT_ALLOWED }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn bridge(extra: &str) -> Bridge {
    let url = start().await;
    let mut b = Bridge::serve(
        &format!("[servers.big]\nurl = {}\ntimeout = 30\n{extra}", toml_string(&url)),
        "big",
    );
    b.initialize(json!({})).await;
    b
}

async fn call(b: &mut Bridge, tool: &str) -> Value {
    b.request("tools/call", json!({"name": tool, "arguments": {}})).await
}

async fn still_serves(b: &mut Bridge) {
    let r = call(b, "small").await;
    assert_eq!(r["result"]["content"][0]["text"], "small", "{r}");
}

fn says_too_large(r: &Value, size: &str) {
    let m = r["error"]["message"].as_str().unwrap_or_default();
    assert!(
        m.contains(&format!("larger than {size}")) && m.contains("max_message_size"),
        "{}",
        &r.to_string()[..r.to_string().len().min(400)]
    );
}

#[tokio::test]
async fn a_remote_streaming_a_body_past_128_mib_gets_an_error_not_the_memory() {
    let mut b = bridge("").await;
    let r = call(&mut b, "huge").await;
    says_too_large(&r, "128 MiB");
    still_serves(&mut b).await;
}

#[tokio::test]
async fn a_body_or_event_past_the_servers_own_limit_is_an_error_for_its_call() {
    let mut b = bridge("max_message_size = \"64KiB\"\n").await;
    for tool in ["declared", "event"] {
        let started = Instant::now();
        let r = call(&mut b, tool).await;
        says_too_large(&r, "64 KiB");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{tool}: not resumed in a loop"
        );
        still_serves(&mut b).await;
    }
}

#[tokio::test]
async fn a_client_line_past_the_limit_is_answered_for_its_id_and_never_relayed() {
    let mut b = bridge("max_message_size = \"64KiB\"\n").await;
    let id = b.next_id();
    let line = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                      "params": {"name": "small", "arguments": {"blob": "y".repeat(100 << 10)}}});
    b.send(&line).await;
    let r = b.wait_response(&id, Duration::from_secs(10)).await;
    says_too_large(&r, "64 KiB");
    assert_eq!(r["error"]["code"], -32600, "{r}");
    still_serves(&mut b).await;
}

#[tokio::test]
async fn an_endless_error_page_is_read_for_seconds_not_until_the_timeout() {
    let mut b = bridge("").await;
    let started = Instant::now();
    let r = call(&mut b, "endless-error").await;
    let m = r["error"]["message"].as_str().unwrap_or_default();
    assert!(m.contains("HTTP 500") && m.contains("still failing"), "{r}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    still_serves(&mut b).await;
}

#[test]
fn a_bad_max_message_size_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["0", "\"12 parsecs\"", "\"5GiB\"", "-1"] {
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            format!("[servers.a]\nurl = \"https://x.example/mcp\"\nmax_message_size = {bad}\n"),
        )
        .unwrap();
        let out = std::process::Command::new(support::bridge_bin())
            .args(["--config", path.to_str().unwrap(), "config", "check"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(
            err.contains("max_message_size") && err.contains("1KiB to 4GiB"),
            "{bad}: {err}"
        );
    }
}
