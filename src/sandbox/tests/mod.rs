//! Tests of the sandbox's HTTP behaviour (handshake, SSE priming, bearer
//! check, session expiry, Host validation, shutdown) against a real server
//! on an ephemeral port. Tool behaviour is tested in `tools.rs`.

mod client;
mod tools;

use std::time::Duration;

use serde_json::{Value, json};

use self::client::{ACCEPT, RawClient};
use super::{SERVER_NAME, Sandbox, SandboxOptions};

async fn start(opts: SandboxOptions) -> Sandbox {
    Sandbox::start(opts).await.expect("sandbox starts")
}

#[tokio::test]
async fn initialize_and_list_tools() {
    let sandbox = start(SandboxOptions::default()).await;
    assert!(sandbox.url().starts_with("http://127.0.0.1:"));
    assert!(sandbox.url().ends_with("/mcp"));

    let mut client = RawClient::new(&sandbox.url());
    let (init, events) = client.initialize(json!({})).await;
    assert_eq!(init["serverInfo"]["name"], SERVER_NAME);
    assert_eq!(init["capabilities"]["tools"]["listChanged"], true);
    assert!(init["instructions"].as_str().is_some_and(|s| !s.is_empty()));

    // The stream opens with a priming event: an id and a retry, no data.
    let priming = &events[0];
    assert!(priming.id.is_some(), "{events:?}");
    assert_eq!(priming.retry, Some(super::SSE_RETRY.as_millis() as u64));
    assert!(priming.data.is_empty());

    let messages = client.call("tools/list", json!({})).await;
    let tools = messages.last().unwrap()["result"]["tools"].clone();
    let mut names: Vec<&str> = tools
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "ask_user",
            "big_result",
            "chat_list_channels",
            "chat_read_messages",
            "chat_send_message",
            "progress_demo",
            "sample_llm",
            "slow_echo",
        ]
    );
    let send = tools
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "chat_send_message")
        .unwrap();
    let required = send["inputSchema"]["required"].as_array().unwrap();
    assert!(required.contains(&json!("channel")) && required.contains(&json!("text")));

    let log = sandbox.requests();
    let methods: Vec<_> = log.iter().map(|r| r.rpc_method.as_deref()).collect();
    assert_eq!(
        methods,
        [
            Some("initialize"),
            Some("notifications/initialized"),
            Some("tools/list")
        ]
    );
    assert_eq!(log[2].session_id, client.session);
    assert_eq!(sandbox.session_ids().await, vec![client.session.unwrap()]);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn token_is_required_when_configured() {
    let sandbox = start(SandboxOptions {
        token: Some("s3cret".into()),
        ..Default::default()
    })
    .await;
    let init = RawClient::new(&sandbox.url()).request_body("initialize", json!({}));

    for auth in [None, Some("Bearer wrong"), Some("s3cret"), Some("Basic s3cret")] {
        let mut req = reqwest::Client::new()
            .post(sandbox.url())
            .header("accept", ACCEPT)
            .json(&init);
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "auth {auth:?}");
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body, json!({ "error": "unauthorized" }));
    }
    // GET and DELETE are checked too.
    let resp = reqwest::Client::new()
        .get(sandbox.url())
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    let mut client = RawClient::new(&sandbox.url()).with_token("s3cret");
    let (init, _) = client.initialize(json!({})).await;
    assert_eq!(init["serverInfo"]["name"], SERVER_NAME);
    let last = sandbox.requests().pop().unwrap();
    assert_eq!(last.authorization.as_deref(), Some("Bearer s3cret"));
    assert_eq!(last.status, 202);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn idle_session_expires_with_404() {
    let sandbox = start(SandboxOptions {
        session_ttl: Some(Duration::from_millis(500)),
        ..Default::default()
    })
    .await;
    let mut client = RawClient::new(&sandbox.url());
    client.initialize(json!({})).await;

    // Activity within the ttl keeps the session alive.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        client.call("tools/list", json!({})).await;
    }

    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(sandbox.session_ids().await.is_empty());
    let body = client.request_body("tools/list", json!({}));
    let resp = client.post(&body).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.text().await.unwrap(), "Not Found: Session not found");

    // A fresh initialize works again.
    client.session = None;
    client.initialize(json!({})).await;
    assert_eq!(client.call("tools/list", json!({})).await.len(), 1);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn expire_session_forces_404() {
    let sandbox = start(SandboxOptions::default()).await;
    let mut client = RawClient::new(&sandbox.url());
    client.initialize(json!({})).await;
    let id = client.session.clone().unwrap();
    assert!(sandbox.expire_session(&id).await);
    assert!(!sandbox.expire_session(&id).await);
    let body = client.request_body("tools/list", json!({}));
    assert_eq!(client.post(&body).send().await.unwrap().status(), 404);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn interrupted_stream_resumes_with_last_event_id() {
    let sandbox = start(SandboxOptions::default()).await;
    let mut client = RawClient::new(&sandbox.url());
    client.initialize(json!({})).await;
    let mut stream = client
        .open(
            "tools/call",
            json!({ "name": "slow_echo", "arguments": { "text": "later", "delay_ms": 300 } }),
        )
        .await;
    let priming = stream.next_event().await.unwrap();
    assert!(priming.retry.is_some() && priming.data.is_empty(), "{priming:?}");
    let last_event_id = priming.id.expect("priming event id");
    drop(stream); // the connection drops before the result is ready

    let resp = client
        .http
        .get(sandbox.url())
        .header("accept", "text/event-stream")
        .header("mcp-session-id", client.session.as_deref().unwrap())
        .header("mcp-protocol-version", client::PROTOCOL)
        .header("last-event-id", &last_event_id)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut resumed = client::SseReader::new(resp);
    let message = tokio::time::timeout(Duration::from_secs(5), resumed.next_message())
        .await
        .expect("resumed stream delivers")
        .unwrap();
    assert_eq!(client::result_text(&message["result"]), "later", "{message}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn host_header_is_validated() {
    let sandbox = start(SandboxOptions::default()).await;
    let port = sandbox.addr.port();
    let init = RawClient::new(&sandbox.url()).request_body(
        "initialize",
        json!({ "protocolVersion": client::PROTOCOL, "capabilities": {},
                "clientInfo": { "name": "t", "version": "0" } }),
    );
    for (host, expected) in [
        (format!("localhost:{port}"), 200),
        (format!("127.0.0.1:{port}"), 200),
        (format!("evil.example:{port}"), 403),
    ] {
        let resp = reqwest::Client::new()
            .post(sandbox.url())
            .header("host", &host)
            .header("accept", ACCEPT)
            .json(&init)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), expected, "host {host}");
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn shutdown_frees_the_port_and_ends_streams() {
    let sandbox = start(SandboxOptions::default()).await;
    let addr = sandbox.addr;
    let mut client = RawClient::new(&sandbox.url());
    client.initialize(json!({})).await;
    // A long call keeps an SSE stream open across the shutdown.
    let mut pending = client
        .open(
            "tools/call",
            json!({ "name": "slow_echo", "arguments": { "text": "x", "delay_ms": 3_600_000 } }),
        )
        .await;

    sandbox.shutdown().await;
    // The stream ends now, not when the hour is up (the wait bounds a hang).
    let drained = tokio::time::timeout(Duration::from_secs(60), async {
        while pending.next_event().await.is_some() {}
    })
    .await;
    assert!(drained.is_ok(), "SSE stream still open after shutdown");

    let again = Sandbox::start(SandboxOptions {
        port: addr.port(),
        ..Default::default()
    })
    .await
    .expect("port is free again");
    assert_eq!(again.addr, addr);
    again.shutdown().await;
}

/// A 2026-07-28 `server/discover`: no session, `_meta` and the standard
/// headers. The HTTP status and the answer.
async fn discover(url: &str) -> (u16, Value) {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"},
    }}});
    let resp = reqwest::Client::new()
        .post(url)
        .header("accept", ACCEPT)
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "server/discover")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let answer = client::parse_sse(&text)
        .iter()
        .find_map(|e| e.json())
        .unwrap_or_else(|| serde_json::from_str(&text).unwrap_or(Value::Null));
    (status, answer)
}

fn supported(answer: &Value) -> Vec<&str> {
    answer["result"]["supportedVersions"]
        .as_array()
        .map(|v| v.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_sandbox_speaking_2026_only_refuses_initialize_and_names_only_that_revision() {
    let modern = Sandbox::start_speaking(SandboxOptions::default(), None, super::Revisions::ModernOnly)
        .await
        .expect("sandbox starts");
    let (status, answer) = discover(&modern.url()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(supported(&answer), ["2026-07-28"], "{answer}");
    assert_eq!(
        answer["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], SERVER_NAME,
        "{answer}"
    );

    let init = json!({"jsonrpc": "2.0", "id": 2, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"}}});
    let resp = reqwest::Client::new()
        .post(modern.url())
        .header("accept", ACCEPT)
        .json(&init)
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    assert!(!text.contains("\"serverInfo\""), "initialize must be refused: {text}");
    modern.shutdown().await;

    // The default sandbox speaks both eras and says so.
    let both = start(SandboxOptions::default()).await;
    let (_, answer) = discover(&both.url()).await;
    let versions = supported(&answer);
    assert!(
        versions.contains(&"2026-07-28") && versions.contains(&"2025-11-25"),
        "{answer}"
    );
    both.shutdown().await;
}
