//! A warm start across the protocol eras, through the binary: a 2026-07-28
//! client's `server/discover` on a new start is answered from what the
//! bridge kept of the server's last discover result (or, for a 2025
//! server, of the discover the bridge made from its `initialize`), while
//! the server is still held on the real one asked behind the answer;
//! a result with `ttlMs` 0 is never answered from the cache, and one kept
//! for one identity is never read for another. Its lists to a 2025 server
//! are answered from the cache before the session the bridge opens for it
//! exists; a 2025 client's lists to a 2026-07-28 server (translated) from
//! the cache too.
//!
//! The remote is a small server started here, speaking either revision:
//! each `server/discover` (2026) or `initialize` (2025) it answers names
//! its number (`discover-1`, `start-1`, …) in the server info, so a test
//! can tell a cached answer from a live one, and it can hold those
//! answers, or its `tools/list` answers, until the test lets them go.

mod support;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use support::{Bridge, list_cache_text as cache_text, remote_config_file as config, wait_until};
use tokio::sync::watch;

const MODERN: &str = "2026-07-28";
const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

/// Which revision the remote speaks.
#[derive(Clone, Copy)]
enum Speaks {
    /// 2026-07-28, its discover result (and lists) carrying `ttlMs`.
    Modern { ttl_ms: u64 },
    /// 2025-06-18: sessions and `initialize`, no `server/discover`.
    Legacy,
}

struct Shared {
    speaks: Speaks,
    /// How many `server/discover` (modern) or `initialize` (legacy)
    /// requests arrived: the handshakes.
    handshakes: AtomicUsize,
    /// The methods asked, in order.
    methods: Mutex<Vec<String>>,
    /// While true, the handshake answers wait.
    held: watch::Sender<bool>,
    /// While true, the `tools/list` answers wait.
    lists_held: watch::Sender<bool>,
    /// The name of the one tool `tools/list` answers.
    tool: Mutex<String>,
}

struct Remote {
    url: String,
    shared: Arc<Shared>,
}

impl Remote {
    async fn start(speaks: Speaks) -> Remote {
        let shared = Arc::new(Shared {
            speaks,
            handshakes: AtomicUsize::new(0),
            methods: Mutex::new(Vec::new()),
            held: watch::channel(false).0,
            lists_held: watch::channel(false).0,
            tool: Mutex::new("echo".to_string()),
        });
        let url = support::mcp_remote(post(answer), shared.clone()).await;
        Remote { url, shared }
    }

    fn handshakes(&self) -> usize {
        self.shared.handshakes.load(Ordering::SeqCst)
    }

    fn hold(&self, held: bool) {
        self.shared.held.send_replace(held);
    }

    fn hold_lists(&self, held: bool) {
        self.shared.lists_held.send_replace(held);
    }

    /// How many `tools/list` requests arrived.
    fn lists_asked(&self) -> usize {
        let methods = self.shared.methods.lock().unwrap();
        methods.iter().filter(|m| *m == "tools/list").count()
    }
}

fn reply(id: &Value, result: Value) -> Response {
    axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response()
}

async fn answer(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Response {
    let msg: Value = serde_json::from_str(&body).unwrap_or_default();
    let method = msg["method"].as_str().unwrap_or("").to_string();
    shared.methods.lock().unwrap().push(method.clone());
    let Some(id) = msg.get("id").cloned() else {
        return StatusCode::ACCEPTED.into_response();
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let handshake = match shared.speaks {
        Speaks::Modern { .. } => method == "server/discover",
        Speaks::Legacy => method == "initialize",
    };
    if handshake {
        let n = shared.handshakes.fetch_add(1, Ordering::SeqCst) + 1;
        let mut held = shared.held.subscribe();
        let _ = held.wait_for(|h| !*h).await;
        // Who asked, named without the token itself.
        let caller = header("authorization").replace("Bearer token-", "user ");
        return match shared.speaks {
            Speaks::Modern { ttl_ms } => reply(
                &id,
                json!({"resultType": "complete", "supportedVersions": [MODERN],
                    "capabilities": {"tools": {"listChanged": true}},
                    "instructions": format!("for {caller}"),
                    "_meta": {SERVER_INFO: {"name": "kept", "version": format!("discover-{n}")}},
                    "ttlMs": ttl_ms, "cacheScope": "private"}),
            ),
            Speaks::Legacy => {
                let result = json!({
                    "protocolVersion": msg["params"]["protocolVersion"],
                    "capabilities": {"tools": {"listChanged": true}},
                    "serverInfo": {"name": "kept", "version": format!("start-{n}")},
                });
                let mut response = reply(&id, result);
                response
                    .headers_mut()
                    .insert("mcp-session-id", format!("s-{n}").parse().unwrap());
                response
            }
        };
    }
    if method == "tools/list" {
        let mut held = shared.lists_held.subscribe();
        let _ = held.wait_for(|h| !*h).await;
    }
    let tool = shared.tool.lock().unwrap().clone();
    let tools = json!([{"name": tool, "inputSchema": {"type": "object"}}]);
    match shared.speaks {
        Speaks::Modern { ttl_ms } => {
            if header("mcp-protocol-version") != MODERN {
                let error = json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32022,
                    "message": "Unsupported protocol version", "data": {"supported": [MODERN]}}});
                return (StatusCode::BAD_REQUEST, axum::Json(error)).into_response();
            }
            match method.as_str() {
                "tools/list" => reply(
                    &id,
                    json!({"resultType": "complete", "tools": tools, "ttlMs": ttl_ms, "cacheScope": "private"}),
                ),
                _ => reply(&id, json!({"resultType": "complete"})),
            }
        }
        Speaks::Legacy => {
            if header("mcp-session-id").is_empty() {
                // No session: the bridge's era question gets a 2025 refusal.
                let error = json!({"jsonrpc": "2.0", "id": id,
                    "error": {"code": -32600, "message": "Bad Request: no session"}});
                return (StatusCode::BAD_REQUEST, axum::Json(error)).into_response();
            }
            match method.as_str() {
                "tools/list" => reply(&id, json!({"tools": tools})),
                _ => reply(&id, json!({})),
            }
        }
    }
}

/// The `_meta` a 2026-07-28 client puts on each request.
fn meta() -> Value {
    json!({"_meta": {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "modern-client", "version": "1.0"},
    }})
}

/// `result` without its `ttlMs`, which an answer from the cache counts
/// down from when the result was fetched.
fn without_ttl(result: &Value) -> Value {
    let mut r = result.clone();
    if let Some(o) = r.as_object_mut() {
        o.remove("ttlMs");
    }
    r
}

/// A 2026-07-28 client's start: `server/discover`; the server version
/// its result names, and the result.
async fn discover(b: &mut Bridge) -> (String, Value) {
    let result = b.request_ok("server/discover", meta()).await;
    let version = result["_meta"][SERVER_INFO]["version"]
        .as_str()
        .unwrap_or("")
        .to_string();
    (version, result)
}

/// A whole first start: discover and the tools, then the client goes once
/// the discover result (naming `version`) is in the cache.
async fn first_start(config: &Path, data: &Path, version: &str) -> Value {
    let mut b = Bridge::serve_remote_with_data(config, data);
    let (live, result) = discover(&mut b).await;
    assert_eq!(live, version, "{result}");
    b.request_ok("tools/list", meta()).await;
    wait_until("the discover result to be kept", || cache_text(data).contains(version)).await;
    b.close_and_read_rest().await;
    result
}

#[tokio::test]
async fn a_2026_client_starting_again_is_answered_from_the_cached_discover_while_the_server_is_held() {
    let remote = Remote::start(Speaks::Modern { ttl_ms: 3_600_000 }).await;
    let data = tempfile::tempdir().unwrap();
    let (_dir, config) = config(&remote.url, "");
    let first = first_start(&config, data.path(), "discover-1").await;

    // The server holds every discover: only the cache can answer now.
    remote.hold(true);
    let mut b = Bridge::serve_remote_with_data(&config, data.path());
    let (version, result) = discover(&mut b).await;
    assert_eq!(version, "discover-1", "answered from the cache: {result}");
    // The server's result as it sent it, but for its `ttlMs`: what is left
    // of it, counted from when it was fetched.
    let left = result["ttlMs"].as_u64().unwrap_or_default();
    assert!((3_000_000..3_600_000).contains(&left), "{result}");
    assert_eq!(
        without_ttl(&result),
        without_ttl(&first),
        "the cached result is the server's"
    );
    // Behind the answer the bridge asked the server itself, which has not
    // answered it yet; the client's list does not wait for it.
    wait_until("the discover behind the cached answer", || remote.handshakes() == 2).await;
    let tools = b.request_ok("tools/list", meta()).await;
    assert_eq!(tools["tools"][0]["name"], "echo", "{tools}");

    // Let the server answer: what it says now is kept for the next start.
    remote.hold(false);
    wait_until("the fresh discover result to be kept", || {
        cache_text(data.path()).contains("discover-2")
    })
    .await;
    b.close_and_read_rest().await;
    let mut b = Bridge::serve_remote_with_data(&config, data.path());
    let (version, _) = discover(&mut b).await;
    assert_eq!(version, "discover-2", "the last start's discover, from the cache");
    b.close_and_read_rest().await;
}

#[tokio::test]
async fn a_discover_result_with_ttl_zero_is_never_answered_from_the_cache() {
    let remote = Remote::start(Speaks::Modern { ttl_ms: 0 }).await;
    let data = tempfile::tempdir().unwrap();
    let (_dir, config) = config(&remote.url, "");
    first_start(&config, data.path(), "discover-1").await;
    // The result is kept (ttlMs 0 says how long it may be served, not
    // whether it is kept), and the next start asks the server.
    let mut b = Bridge::serve_remote_with_data(&config, data.path());
    let (version, result) = discover(&mut b).await;
    assert_eq!(version, "discover-2", "asked the server: {result}");
    b.close_and_read_rest().await;
}

#[tokio::test]
async fn a_discover_result_kept_for_one_identity_is_never_read_for_another() {
    let remote = Remote::start(Speaks::Modern { ttl_ms: 3_600_000 }).await;
    let data = tempfile::tempdir().unwrap();
    let as_a = config(&remote.url, "bearer = \"token-a\"");
    let as_b = config(&remote.url, "bearer = \"token-b\"");
    let first = first_start(&as_a.1, data.path(), "discover-1").await;
    assert_eq!(first["instructions"], "for user a");

    // Another identity: the server answers, not token-a's cache.
    let mut b = Bridge::serve_remote_with_data(&as_b.1, data.path());
    let (version, result) = discover(&mut b).await;
    assert_eq!(version, "discover-2", "{result}");
    assert_eq!(result["instructions"], "for user b");
    wait_until("token-b's discover result to be kept", || {
        cache_text(data.path()).contains("discover-2")
    })
    .await;
    b.close_and_read_rest().await;

    // The control: token-b again is answered from its own cache.
    let mut b = Bridge::serve_remote_with_data(&as_b.1, data.path());
    let (version, result) = discover(&mut b).await;
    assert_eq!(version, "discover-2", "{result}");
    assert_eq!(result["instructions"], "for user b");
    b.close_and_read_rest().await;
    assert!(
        !cache_text(data.path()).contains("token-"),
        "no secret in the cache file"
    );
}

#[tokio::test]
async fn a_2026_client_of_a_2025_server_is_answered_from_the_cached_discover_while_the_server_is_held() {
    let remote = Remote::start(Speaks::Legacy).await;
    let data = tempfile::tempdir().unwrap();
    let (_dir, config) = config(&remote.url, "");
    // The bridge makes the client's discover result from the session it
    // opens with `initialize`; that answer is what is kept.
    let first = first_start(&config, data.path(), "start-1").await;
    assert_eq!(first["ttlMs"], 0, "{first}");

    remote.hold(true);
    let mut b = Bridge::serve_remote_with_data(&config, data.path());
    let (version, result) = discover(&mut b).await;
    assert_eq!(
        version, "start-1",
        "answered from the cache, kept for the server's list_cache age: {result}"
    );
    assert_eq!(result, first);
    wait_until("the session opened behind the cached answer", || {
        remote.handshakes() == 2
    })
    .await;
    remote.hold(false);
    let tools = b.request_ok("tools/list", meta()).await;
    assert_eq!(tools["tools"][0]["name"], "echo", "{tools}");
    wait_until("the new session's discover result to be kept", || {
        cache_text(data.path()).contains("start-2")
    })
    .await;
    b.close_and_read_rest().await;
}

/// The official Python SDK's client (`mcp==2.3.0`, tests/clients/
/// eras_client.py in its auto mode, which probes with `server/discover`)
/// starting `mcp-bridge serve remote` with `data` as its data dir; its
/// JSON summary.
async fn python_start(config: &Path, data: &Path) -> Value {
    let spec = json!({
        "command": support::bridge_bin(),
        "args": ["--config", config, "serve", "remote"],
        "env": {"MCP_BRIDGE_DATA_DIR": data},
        "era": "auto",
        "calls": [],
    });
    let mut cmd = tokio::process::Command::new(support::python());
    cmd.arg(support::repo_root().join("tests/clients/eras_client.py"))
        .arg(spec.to_string());
    support::run_for_json(cmd, std::time::Duration::from_secs(120), "eras_client.py").await
}

#[tokio::test]
async fn the_python_sdk_client_starting_again_gets_the_discover_result_of_its_last_start() {
    let remote = Remote::start(Speaks::Modern { ttl_ms: 3_600_000 }).await;
    let data = tempfile::tempdir().unwrap();
    let (_dir, config) = config(&remote.url, "");
    let first = python_start(&config, data.path()).await;
    assert_eq!(first["protocol_version"], MODERN, "{first}");
    assert_eq!(first["server_info"]["version"], "discover-1", "{first}");
    assert_eq!(first["tools"], json!(["echo"]), "{first}");
    wait_until("the discover result to be kept", || {
        cache_text(data.path()).contains("discover-1")
    })
    .await;

    // The server numbers each discover it answers: the client's second
    // start names the first, which only the cache still holds (the
    // discover asked behind it, if the client stayed long enough for it,
    // was answered `discover-2`).
    let second = python_start(&config, data.path()).await;
    assert_eq!(second["server_info"]["version"], "discover-1", "{second}");
    assert_eq!(second["tools"], json!(["echo"]), "{second}");
    assert!(remote.handshakes() <= 2, "at most the one discover behind the answer");
}

/// A 2025 client's start (`initialize`, `tools/list`); the list.
async fn legacy_start(b: &mut Bridge) -> Value {
    b.initialize(json!({})).await;
    b.request_ok("tools/list", json!({})).await
}

#[tokio::test]
async fn a_2025_client_of_a_2026_server_starting_again_gets_its_tools_from_the_cache_then_the_changed_list() {
    let remote = Remote::start(Speaks::Modern { ttl_ms: 3_600_000 }).await;
    let data = tempfile::tempdir().unwrap();
    let (_dir, config) = config(&remote.url, "");
    // The first start: every request translated; the server's answer to
    // the translated `tools/list` is kept.
    let mut b = Bridge::serve_remote_with_data(&config, data.path());
    let first = legacy_start(&mut b).await;
    assert_eq!(first["tools"][0]["name"], "echo", "{first}");
    wait_until("the tools to be kept", || {
        cache_text(data.path()).contains("tools/list")
    })
    .await;
    b.close_and_read_rest().await;

    // The server now holds every list, and its tool has another name.
    remote.hold_lists(true);
    *remote.shared.tool.lock().unwrap() = "echo2".to_string();
    let asked = remote.lists_asked();
    let mut b = Bridge::serve_remote_with_data(&config, data.path());
    let second = legacy_start(&mut b).await;
    assert_eq!(
        without_ttl(&second),
        without_ttl(&first),
        "answered from the cache, as the live answer was"
    );
    wait_until("the list to be fetched behind the cached answer", || {
        remote.lists_asked() > asked
    })
    .await;
    remote.hold_lists(false);
    let changed = b.next_other_timeout(std::time::Duration::from_secs(30)).await;
    assert_eq!(changed["method"], "notifications/tools/list_changed", "{changed}");
    let fresh = b.request_ok("tools/list", json!({})).await;
    assert_eq!(fresh["tools"][0]["name"], "echo2", "{fresh}");
    b.close_and_read_rest().await;
}

#[tokio::test]
async fn a_2026_client_of_a_2025_server_gets_its_tools_from_the_cache_while_the_session_opens() {
    let remote = Remote::start(Speaks::Legacy).await;
    let data = tempfile::tempdir().unwrap();
    let (_dir, config) = config(&remote.url, "");
    first_start(&config, data.path(), "start-1").await;
    wait_until("the tools to be kept", || {
        cache_text(data.path()).contains("tools/list")
    })
    .await;

    // The server holds `initialize` (the session the bridge opens for the
    // client), and its tool has another name.
    remote.hold(true);
    *remote.shared.tool.lock().unwrap() = "echo2".to_string();
    let mut b = Bridge::serve_remote_with_data(&config, data.path());
    let (version, _) = discover(&mut b).await;
    assert_eq!(version, "start-1");
    let tools = b.request_ok("tools/list", meta()).await;
    assert_eq!(
        tools["tools"][0]["name"], "echo",
        "from the cache, the session not open yet: {tools}"
    );
    let asked = remote.lists_asked();
    wait_until("the session to be opened behind the answers", || {
        remote.handshakes() == 2
    })
    .await;

    // Once the session is open, the list is fetched in it, and kept.
    remote.hold(false);
    wait_until("the list to be fetched behind the cached answer", || {
        remote.lists_asked() > asked
    })
    .await;
    wait_until("the new list to be kept", || cache_text(data.path()).contains("echo2")).await;
    // A 2026-07-28 client is not sent a bare list_changed (that revision
    // sends notifications only on a `subscriptions/listen` stream): it
    // keeps the list for the ttlMs it was served with.
    let rest = b.close_and_read_rest().await;
    assert!(
        rest.iter().all(|m| m["method"] != "notifications/tools/list_changed"),
        "{rest:?}"
    );
}
