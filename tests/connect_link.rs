//! Connect links reach the person once and clearly: a remote that answers a
//! tool call like Pipedream does when the user's account is missing makes
//! the bridge send a URL-mode elicitation (to a client that supports it) and
//! put a plain notice first in the result, once per app.

mod support;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{Bridge, toml_string};

const LINK: &str = "https://pipedream.com/_static/connect.html?token=ctok_0123456789abcdef&connectLink=true&app=slack";

type Posts = Arc<Mutex<Vec<Value>>>;

async fn mcp(State(posts): State<Posts>, body: Bytes) -> Response {
    let msg: Value = serde_json::from_slice(&body).unwrap();
    posts.lock().unwrap().push(msg.clone());
    let Some(id) = msg.get("id").cloned().filter(|_| msg.get("method").is_some()) else {
        return StatusCode::ACCEPTED.into_response();
    };
    let result = match msg["method"].as_str().unwrap() {
        "initialize" => {
            json!({"protocolVersion": "2025-11-25", "capabilities": {"tools": {}}, "serverInfo": {"name": "pd-like", "version": "1"}})
        }
        // The open-source Pipedream server's answer when no account is connected.
        _ => json!({"content": [{"type": "text", "text": format!("Go to: {LINK} to connect your account.")}]}),
    };
    axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response()
}

async fn start() -> (String, Posts) {
    let posts = Posts::default();
    let app = axum::Router::new()
        .route(
            "/mcp",
            axum::routing::post(mcp).get(|| async { StatusCode::METHOD_NOT_ALLOWED }),
        )
        .with_state(posts.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, posts)
}

#[tokio::test]
async fn connect_link_is_surfaced_once_by_url_elicitation_and_a_notice() {
    let (url, posts) = start().await;
    let mut cmd = Bridge::command();
    let (dir, config) = support::write_config(&format!("[servers.pd]\nurl = {}\n", toml_string(&url)));
    cmd.env("RUST_LOG", "trace")
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .arg("pd");
    let mut b = Bridge::spawn(cmd);
    b.keep(dir);
    b.initialize(json!({"elicitation": {"form": {}, "url": {}}})).await;

    let first = b
        .request_ok(
            "tools/call",
            json!({"name": "SLACK-SEND-MESSAGE", "arguments": {"instruction": "hi"}}),
        )
        .await;
    let ask = b.next_other().expect("a URL-mode elicitation before the result");
    assert_eq!(ask["method"], "elicitation/create");
    assert_eq!(ask["params"]["mode"], "url");
    assert_eq!(ask["params"]["url"], LINK);
    let notice = first["content"][0]["text"].as_str().unwrap();
    assert!(
        notice.starts_with("Action needed: connect your slack account.") && notice.contains(LINK),
        "{notice}"
    );
    assert_eq!(
        first["content"][1]["text"],
        format!("Go to: {LINK} to connect your account."),
        "the original text stays"
    );

    // The person's answer to the bridge's own question is not sent to the remote.
    b.respond(&ask["id"], json!({"action": "accept"})).await;
    let second = b
        .request_ok(
            "tools/call",
            json!({"name": "SLACK-SEND-MESSAGE", "arguments": {"instruction": "again"}}),
        )
        .await;
    assert_eq!(second["content"].as_array().unwrap().len(), 1, "shown once: {second}");
    assert!(b.next_other().is_none(), "no second elicitation");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !posts.lock().unwrap().iter().any(|m| m.get("id") == Some(&ask["id"])),
        "answer leaked to the remote"
    );
    assert!(
        !b.stderr_text().contains("ctok_0123456789abcdef"),
        "the one-time token was logged"
    );
}

#[tokio::test]
async fn without_url_elicitation_the_notice_alone_carries_the_link() {
    let (url, _posts) = start().await;
    let mut b = Bridge::serve(&format!("[servers.pd]\nurl = {}\n", toml_string(&url)), "pd");
    b.initialize(json!({"elicitation": {}})).await;
    let r = b.request_ok("tools/call", json!({"name": "x", "arguments": {}})).await;
    assert!(r["content"][0]["text"].as_str().unwrap().contains(LINK));
    assert!(b.next_other().is_none());
}
