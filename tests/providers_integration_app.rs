//! `provider = "integration-app"` end to end against the Integration.app
//! emulator: the token as Bearer on `/mcp` and as `?token=` only on the
//! legacy `/sse` transport, `mode`/`apps` query parameters, `x-chat-id`,
//! the bridge's own `tools/list_changed` after `enable-tools` in dynamic
//! mode, and a 400 "No valid session ID" handled as session expiry.

mod providers_common;
mod support;

use mcp_bridge::emulator::integration_app::IntegrationAppEmulator;
use providers_common::{data_dir, serve, store_path, text_of, tool_names};
use serde_json::{Value, json};
use std::time::Duration;

const TOKEN: &str = "ia.jwt.c2VjcmV0LXRva2Vu";

fn config(url: &str, extra: &str) -> String {
    format!("[servers.ia]\nprovider = \"integration-app\"\nurl = \"{url}\"\ntoken = \"{TOKEN}\"\n{extra}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_mode_sends_bearer_apps_mode_and_chat_id() {
    let emu = IntegrationAppEmulator::start(TOKEN).await.unwrap();
    let store = data_dir();
    let cfg = config(
        &emu.mcp_url(),
        "mode = \"static\"\napps = [\"gmail\", \"slack\"]\nchat_id = \"chat-42\"\n",
    );
    let mut b = serve(&cfg, "ia", &store_path(&store), &[]);
    b.initialize(json!({})).await;
    let tools = b.request_ok("tools/list", Value::Null).await;
    assert_eq!(
        tool_names(&tools),
        ["gmail_send-email", "gmail_read-email", "slack_send-message"]
    );
    let r = b
        .request_ok("tools/call", json!({"name": "slack_send-message", "arguments": {}}))
        .await;
    assert_eq!(text_of(&r), "slack_send-message done");
    let failed = b
        .request_ok(
            "tools/call",
            json!({"name": "gmail_send-email", "arguments": {"fail": true}}),
        )
        .await;
    assert_eq!(failed["isError"], true, "a tool exception is relayed as isError");

    let posts: Vec<_> = emu.requests().into_iter().filter(|r| r.method == "POST").collect();
    assert!(posts.len() >= 5);
    for r in &posts {
        assert_eq!(r.path, "/mcp");
        assert_eq!(r.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
        assert_eq!(r.query_param("token"), None, "no token in the /mcp URL");
        assert_eq!(r.query_param("apps").as_deref(), Some("gmail,slack"));
        assert_eq!(r.query_param("mode").as_deref(), Some("static"));
        assert_eq!(r.header("x-chat-id"), Some("chat-42"));
    }
    let chats = emu.chat_sessions();
    assert_eq!(chats.len(), 1);
    assert!(emu.session_ids().contains(&chats["chat-42"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_mode_announces_the_tools_enable_tools_added() {
    let emu = IntegrationAppEmulator::start(TOKEN).await.unwrap();
    let store = data_dir();
    let mut b = serve(
        &config(&emu.mcp_url(), "mode = \"dynamic\"\n"),
        "ia",
        &store_path(&store),
        &[],
    );
    b.initialize(json!({})).await;
    let tools = b.request_ok("tools/list", Value::Null).await;
    assert_eq!(tool_names(&tools), ["enable-tools"]);

    let r = b
        .request_ok(
            "tools/call",
            json!({"name": "enable-tools", "arguments": {"tools": ["gmail_send-email"]}}),
        )
        .await;
    assert_ne!(r["isError"], true, "{r}");
    let note = b.next_other_timeout(Duration::from_secs(5)).await;
    assert_eq!(
        note,
        json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
    );
    let tools = b.request_ok("tools/list", Value::Null).await;
    assert_eq!(tool_names(&tools), ["enable-tools", "gmail_send-email"]);

    // A failed enable-tools changes nothing and announces nothing.
    let r = b
        .request_ok(
            "tools/call",
            json!({"name": "enable-tools", "arguments": {"tools": ["nope_x"]}}),
        )
        .await;
    assert_eq!(r["isError"], true);
    let e = b
        .request("tools/call", json!({"name": "slack_send-message", "arguments": {}}))
        .await;
    assert_eq!(e["error"]["code"], -32602, "not enabled: {e}");
    // Nothing announced up to a ping's answer (the successful enable-tools
    // above is the control: its announcement came after its result).
    let fenced = b.fence().await;
    assert!(fenced.is_empty(), "{fenced:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_sse_transport_puts_the_token_in_the_query() {
    let emu = IntegrationAppEmulator::start(TOKEN).await.unwrap();
    let store = data_dir();
    let cfg = config(&emu.sse_url(), "transport = \"sse\"\napps = [\"google-calendar\"]\n");
    let mut b = serve(&cfg, "ia", &store_path(&store), &[]);
    b.initialize(json!({})).await;
    let tools = b.request_ok("tools/list", Value::Null).await;
    assert_eq!(tool_names(&tools), ["google-calendar_create-event"]);

    let reqs = emu.requests();
    let get = reqs.iter().find(|r| r.path == "/sse").expect("the stream was opened");
    assert_eq!(get.method, "GET");
    assert_eq!(get.status, 200);
    assert_eq!(get.query_param("token").as_deref(), Some(TOKEN));
    assert_eq!(get.header("authorization"), None, "no Bearer on the legacy transport");
    assert!(reqs.iter().any(|r| r.path == "/messages"));
    assert!(reqs.iter().all(|r| r.path != "/mcp"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_400_for_an_unknown_session_reinitialises_transparently() {
    let emu = IntegrationAppEmulator::start(TOKEN).await.unwrap();
    let store = data_dir();
    let mut b = serve(&config(&emu.mcp_url(), ""), "ia", &store_path(&store), &[]);
    b.initialize(json!({})).await;
    b.request_ok("tools/list", Value::Null).await;
    emu.forget_sessions();
    let tools = b.request_ok("tools/list", Value::Null).await;
    assert_eq!(tool_names(&tools).len(), 4, "all actions in static mode");

    let reqs = emu.requests();
    let refused: Vec<_> = reqs.iter().filter(|r| r.status == 400).collect();
    assert_eq!(refused.len(), 1, "{reqs:?}");
    let inits = reqs
        .iter()
        .filter(|r| r.rpc_method().as_deref() == Some("initialize"))
        .count();
    assert_eq!(inits, 2, "the bridge initialised a new session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_gets_401_without_a_challenge() {
    let emu = IntegrationAppEmulator::start(TOKEN).await.unwrap();
    let resp = reqwest::Client::new()
        .post(emu.mcp_url())
        .bearer_auth("wrong")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().get("www-authenticate").is_none());
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"error": "Unauthorized: Invalid token"})
    );

    let store = data_dir();
    let cfg = config(&emu.mcp_url(), "").replace(TOKEN, "ia.jwt.d3Jvbmc");
    let mut b = serve(&cfg, "ia", &store_path(&store), &[]);
    let r = b
        .request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}),
        )
        .await;
    let msg = r["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("Integration.app refused the token in `token`"), "{r}");
    assert!(!msg.contains("d3Jvbmc"), "{msg}");
}
