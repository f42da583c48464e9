//! Connect links on a generic server (a stand-in answering like Pipedream's
//! open-source MCP server): results that merely mention a URL or say
//! `accountRequired: false` pass untouched; a `connect_link_pattern` finds
//! a custom link; a client that asked for log messages gets a
//! `notifications/message`; the elicitation's answer never reaches the remote.

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
const CUSTOM: &str = "https://auth.example.com/connect?app=jira&state=s1";

type Posts = Arc<Mutex<Vec<Value>>>;

fn result_for(tool: &str) -> Value {
    let text = |t: String| json!({"content": [{"type": "text", "text": t}]});
    match tool {
        "plain" => text("Posted. See https://example.com/messages/42 and https://pipedream.com/docs".into()),
        "said-no" => json!({"content": [{"type": "text", "text": format!("Go to: {LINK}")}], "accountRequired": false}),
        "custom" => text(format!("Authorize first: {CUSTOM}")),
        _ => text(format!("Go to: {LINK} to connect your account.")),
    }
}

async fn mcp(State(posts): State<Posts>, body: Bytes) -> Response {
    let msg: Value = serde_json::from_slice(&body).unwrap();
    posts.lock().unwrap().push(msg.clone());
    let Some(id) = msg.get("id").cloned().filter(|_| msg.get("method").is_some()) else {
        return StatusCode::ACCEPTED.into_response();
    };
    let result = match msg["method"].as_str().unwrap() {
        "initialize" => {
            json!({"protocolVersion": "2025-11-25", "capabilities": {"tools": {}, "logging": {}}, "serverInfo": {"name": "pd-like", "version": "1"}})
        }
        "tools/call" => result_for(msg["params"]["name"].as_str().unwrap_or("")),
        _ => json!({}),
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

fn bridge(url: &str, extra: &str) -> Bridge {
    bridge_with(url, 10, extra, None)
}

/// `serve pd` for the stand-in at `url`, with a `timeout` in seconds, more
/// config lines, and a log filter (none: the default).
fn bridge_with(url: &str, timeout: u64, extra: &str, log: Option<&str>) -> Bridge {
    let data = tempfile::tempdir().unwrap();
    let (dir, config) = support::write_config(&format!(
        "[servers.pd]\nurl = {}\ntimeout = {timeout}\n{extra}",
        toml_string(url)
    ));
    let mut cmd = Bridge::command();
    match log {
        Some(filter) => cmd.env("RUST_LOG", filter),
        None => cmd.env_remove("RUST_LOG"),
    };
    cmd.env("MCP_BRIDGE_DATA_DIR", data.path())
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .arg("pd");
    let mut b = Bridge::spawn(cmd);
    b.keep(dir);
    b.keep(data);
    b
}

async fn call(b: &mut Bridge, tool: &str) -> Value {
    b.request_ok("tools/call", json!({"name": tool, "arguments": {}})).await
}

/// Calls `send` (a result with a Connect Link) on a client that takes log
/// messages and URL elicitations, declines any elicitation, and returns
/// every message other than the call's answer that reached the client up
/// to a ping's answer after it.
async fn messages_around_a_linked_call(b: &mut Bridge) -> Vec<Value> {
    let id = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "send", "arguments": {}}}))
        .await;
    let mut seen = vec![];
    loop {
        let m = b.recv_timeout(Duration::from_secs(10)).await;
        if m.get("id") == Some(&id) && m.get("method").is_none() {
            assert!(m["result"]["content"].to_string().contains(LINK), "{m}");
            break;
        }
        if m["method"] == "elicitation/create" {
            b.respond(&m["id"], json!({"action": "decline"})).await;
        }
        seen.push(m);
    }
    seen.extend(b.fence().await);
    seen
}

#[tokio::test]
async fn false_positives_are_left_untouched() {
    let (url, posts) = start().await;
    let mut b = bridge(&url, "");
    b.initialize(json!({"elicitation": {"url": {}}, "logging": {}})).await;
    for tool in ["plain", "said-no", "custom"] {
        let r = call(&mut b, tool).await;
        assert_eq!(r, result_for(tool), "{tool} changed");
    }
    let fenced = b.fence().await;
    assert!(fenced.is_empty(), "{fenced:?}");
    let calls = posts
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m["method"] == "tools/call")
        .count();
    assert_eq!(calls, 3, "no retries for results without a link");
    assert!(!b.stderr_text().contains("WARN"), "{}", b.stderr_text());
    // The control: on this client and bridge, a result with a link does
    // reach the client as more messages, and the log as a WARN line.
    b.request_ok("logging/setLevel", json!({"level": "info"})).await;
    let around = messages_around_a_linked_call(&mut b).await;
    assert!(around.iter().any(|m| m["method"] == "elicitation/create"), "{around:?}");
    assert!(b.stderr_text().contains("WARN"), "{}", b.stderr_text());
}

#[tokio::test]
async fn a_connect_link_pattern_finds_a_custom_link() {
    let (url, _posts) = start().await;
    let mut b = bridge(&url, "connect_link_pattern = \"https://auth.example.com/connect?*\"\n");
    b.initialize(json!({})).await;
    let r = call(&mut b, "custom").await;
    assert_eq!(
        r["content"][0]["text"],
        format!("Connect your Jira account to continue:\n{CUSTOM}")
    );
    // The provider's own recogniser still applies.
    let r = call(&mut b, "send").await;
    assert!(
        r["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Connect your Slack account")
    );
}

#[tokio::test]
async fn a_client_taking_log_messages_gets_one_and_the_elicitation_answer_stays_here() {
    let (url, posts) = start().await;
    let mut b = bridge(&url, "[servers.pd.connect]\nretry_on_account_required = 0\n");
    b.initialize(json!({"elicitation": {"url": {}}})).await;
    b.request_ok("logging/setLevel", json!({"level": "info"})).await;
    let id = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "send", "arguments": {}}}))
        .await;
    let note = b.next_other_timeout(Duration::from_secs(5)).await;
    assert_eq!(note["method"], "notifications/message");
    assert_eq!(note["params"]["level"], "warning");
    assert_eq!(note["params"]["data"]["url"], LINK);
    let ask = b.next_other_timeout(Duration::from_secs(5)).await;
    assert_eq!(ask["method"], "elicitation/create");
    b.respond(&ask["id"], json!({"action": "cancel"})).await;
    let r = b.wait_response(&id, Duration::from_secs(5)).await;
    assert!(r["result"]["content"][0]["text"].as_str().unwrap().contains(LINK));
    // The client's lines reach the remote in order, and an answer is passed
    // on before the next line is read: once a later call has reached the
    // remote, a leaked answer would be there too.
    call(&mut b, "plain").await;
    let posts = posts.lock().unwrap().clone();
    assert!(
        posts.iter().any(|m| m["params"]["name"] == "plain"),
        "the later call reached the remote: {posts:?}"
    );
    assert!(
        !posts.iter().any(|m| m.get("id") == Some(&ask["id"])),
        "the answer leaked to the remote: {posts:?}"
    );
}

#[tokio::test]
async fn surfacing_can_be_switched_off() {
    let (url, _posts) = start().await;
    let cfg = "[servers.pd.connect]\nnotice = false\nlog = false\nnotify = false\nelicit = false\nretry_on_account_required = 0\n";
    let mut b = bridge(&url, cfg);
    b.initialize(json!({"elicitation": {"url": {}}, "logging": {}})).await;
    b.request_ok("logging/setLevel", json!({"level": "info"})).await;
    let r = call(&mut b, "send").await;
    assert_eq!(r, result_for("send"));
    let fenced = b.fence().await;
    assert!(fenced.is_empty(), "{fenced:?}");
    assert!(!b.stderr_text().contains("ctok_"), "{}", b.stderr_text());
    // The control: switched on, the same client and call get messages.
    let mut on = bridge(&url, "[servers.pd.connect]\nretry_on_account_required = 0\n");
    on.initialize(json!({"elicitation": {"url": {}}, "logging": {}})).await;
    on.request_ok("logging/setLevel", json!({"level": "info"})).await;
    let around = messages_around_a_linked_call(&mut on).await;
    assert!(around.iter().any(|m| m["method"] == "elicitation/create"), "{around:?}");
    assert!(
        around.iter().any(|m| m["method"] == "notifications/message"),
        "{around:?}"
    );
    assert!(on.stderr_text().contains("ctok_"), "{}", on.stderr_text());
}

#[tokio::test]
async fn the_link_is_logged_in_the_warn_line_only_even_at_trace() {
    let (url, _posts) = start().await;
    let mut b = bridge_with(&url, 10, "", Some("trace"));
    b.initialize(json!({})).await;
    call(&mut b, "send").await;
    let stderr = b.stderr_text();
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("ctok_0123456789abcdef")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("WARN") && lines[0].contains("app=slack"),
        "{}",
        lines[0]
    );
}

#[tokio::test]
async fn an_unanswered_elicitation_ends_at_the_timeout_with_the_notice() {
    let (url, _posts) = start().await;
    let mut b = bridge_with(&url, 2, "", None);
    b.initialize(json!({"elicitation": {"url": {}}})).await;
    let id = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "send", "arguments": {}}}))
        .await;
    let ask = b.next_other_timeout(Duration::from_secs(10)).await;
    assert_eq!(ask["method"], "elicitation/create");
    // Held while the person decides: a ping goes round and the call is
    // still unanswered; then, never answered, it ends at the timeout.
    let fenced = b.fence().await;
    assert!(Bridge::answers_to(&fenced, &id).is_empty(), "{fenced:?}");
    let r = b.wait_response(&id, support::SIGNAL_TIMEOUT).await;
    assert!(
        r["result"]["content"][0]["text"].as_str().unwrap().contains(LINK),
        "{r}"
    );

    // The client leaving while a call is held still gets it answered.
    let id = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "send", "arguments": {}}}))
        .await;
    let ask = b.next_other_timeout(Duration::from_secs(5)).await;
    assert_eq!(ask["method"], "elicitation/create");
    b.close_stdin();
    let r = b.wait_response(&id, Duration::from_secs(5)).await;
    assert!(
        r["result"]["content"][0]["text"].as_str().unwrap().contains(LINK),
        "{r}"
    );
}

#[tokio::test]
async fn a_cancelled_held_call_gets_no_answer_and_the_next_one_is_asked_again() {
    let (url, _posts) = start().await;
    let mut b = bridge(&url, "");
    b.initialize(json!({"elicitation": {"url": {}}})).await;
    let id = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "send", "arguments": {}}}))
        .await;
    let ask = b.next_other_timeout(Duration::from_secs(5)).await;
    assert_eq!(ask["method"], "elicitation/create");
    b.notify(
        "notifications/cancelled",
        json!({"requestId": id, "reason": "user stopped"}),
    )
    .await;
    let fenced = b.fence().await;
    assert!(fenced.is_empty(), "{fenced:?}");
    // The app is not left marked as asked: a new call asks again.
    let id2 = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": id2, "method": "tools/call", "params": {"name": "send", "arguments": {}}}))
        .await;
    let again = b.next_other_timeout(Duration::from_secs(5)).await;
    assert_eq!(again["method"], "elicitation/create");
    b.respond(&again["id"], json!({"action": "decline"})).await;
    let r = b.wait_response(&id2, Duration::from_secs(5)).await;
    assert!(
        r["result"]["content"][0]["text"].as_str().unwrap().contains(LINK),
        "{r}"
    );
    // The same call, not cancelled, was answered; the cancelled one never is.
    let rest = b.close_and_read_rest().await;
    assert!(Bridge::answers_to(&rest, &id).is_empty(), "{rest:?}");
}
