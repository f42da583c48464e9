//! [`ModernRemote`]: a scripted MCP server of the 2026-07-28 revision on
//! loopback, for tests of how the bridge takes a modern remote that
//! misbehaves. It speaks the revision's HTTP rules (no session, no
//! `initialize`; `MCP-Protocol-Version` and `Mcp-Method` checked on each
//! POST, refused with `-32022` / `-32020`), and its tools each play one
//! script:
//!
//! - `plain`, `plain_mentions`: a complete result without `resultType`
//!   (the second names `input_required` in its text);
//! - `odd_kind`: `input_required` asking for an input kind no revision has;
//! - `ask_forever`: `input_required` (a form elicitation) on every call;
//! - `ask_once`: `input_required` until a retry carries the answer, which
//!   it answers after [`RETRY_TAKES`];
//! - `slow`: an SSE answer that sends progress every 200 ms (when the call
//!   has a progress token) until the test calls [`ModernRemote::release_slow`].
//!
//! [`Versions`] picks what `server/discover` says: the revision, or only a
//! future one (as a result, or as a `-32022`). Every POST is recorded
//! ([`ModernRemote::seen`]). Include it with
//! `#[path = "support/modern_remote.rs"] mod modern_remote;`.
#![allow(dead_code)]

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The revision the scripted remote speaks when it speaks a known one.
pub const REVISION: &str = "2026-07-28";
/// A revision no bridge speaks yet.
pub const FUTURE: &str = "2027-03-01";
/// How long `ask_once` works on a retry that carries its answer.
pub const RETRY_TAKES: Duration = Duration::from_millis(300);
/// How long its discover result may be kept, unless a test says otherwise.
pub const DISCOVER_TTL_MS: u64 = 600_000;
/// The name the remote gives in its discover result.
pub const SERVER_NAME: &str = "scripted-modern";

/// What the remote's `server/discover` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versions {
    /// A discover result naming 2026-07-28.
    Common,
    /// The same, answered under an id that is not the request's.
    CommonUnderAnotherId,
    /// A discover result naming only a future revision.
    FutureResult,
    /// A `-32022` naming only a future revision.
    FutureError,
}

/// One POST the remote received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Option<String>,
    /// `params.name` of a `tools/call`.
    pub tool: Option<String>,
    pub protocol_version: Option<String>,
    pub session_id: Option<String>,
    pub mcp_method: Option<String>,
    pub body: Value,
}

struct Shared {
    versions: Versions,
    /// The `ttlMs` of its discover result.
    discover_ttl_ms: std::sync::atomic::AtomicU64,
    seen: Mutex<Vec<Seen>>,
    slow: watch::Sender<bool>,
}

/// The running remote; it stops when dropped.
pub struct ModernRemote {
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ModernRemote {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ModernRemote {
    pub async fn start(versions: Versions) -> ModernRemote {
        let shared = Arc::new(Shared {
            versions,
            discover_ttl_ms: DISCOVER_TTL_MS.into(),
            seen: Mutex::new(Vec::new()),
            slow: watch::channel(false).0,
        });
        let app = axum::Router::new()
            .route(
                "/mcp",
                axum::routing::post(post)
                    .get(|| async { StatusCode::METHOD_NOT_ALLOWED })
                    .delete(|| async { StatusCode::METHOD_NOT_ALLOWED }),
            )
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ModernRemote { url, shared, task }
    }

    /// Every POST so far, oldest first.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// How many POSTs carried JSON-RPC `method`.
    pub fn count(&self, method: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.method.as_deref() == Some(method))
            .count()
    }

    /// How many times tool `name` was called.
    pub fn calls_of(&self, name: &str) -> usize {
        self.seen().iter().filter(|s| s.tool.as_deref() == Some(name)).count()
    }

    /// From now on, the discover result says it may be kept `ms` (0: never).
    pub fn set_discover_ttl_ms(&self, ms: u64) {
        self.shared
            .discover_ttl_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// Let every `slow` call (in flight or to come) answer.
    pub fn release_slow(&self) {
        self.shared.slow.send_replace(true);
    }
}

/// What `slow` answers once released.
pub fn slow_result() -> Value {
    json!({"resultType": "complete", "content": [{"type": "text", "text": "slow done"}],
        "x-slow": {"kept": [1, 2, 3]}})
}

/// What `plain` answers: complete, without `resultType`.
pub fn plain_result() -> Value {
    json!({"content": [{"type": "text", "text": "done, said without resultType"}],
        "structuredContent": {"n": 1}, "x-extra": {"kept": true}})
}

/// What `plain_mentions` answers: complete, without `resultType`, naming
/// `input_required` in its text.
pub fn plain_mentions_result() -> Value {
    json!({"content": [{"type": "text", "text": "a field named input_required is not here"}]})
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn answer(id: &Value, result: Value) -> Response {
    axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response()
}

fn refuse(id: &Value, code: i64, message: &str, data: Value) -> Response {
    let body = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message, "data": data}});
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

fn supported(versions: Versions) -> &'static str {
    match versions {
        Versions::Common | Versions::CommonUnderAnotherId => REVISION,
        Versions::FutureResult | Versions::FutureError => FUTURE,
    }
}

async fn post(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    let method = msg.get("method").and_then(Value::as_str).map(str::to_string);
    shared.seen.lock().unwrap().push(Seen {
        method: method.clone(),
        tool: msg.pointer("/params/name").and_then(Value::as_str).map(str::to_string),
        protocol_version: header(&headers, "mcp-protocol-version"),
        session_id: header(&headers, "mcp-session-id"),
        mcp_method: header(&headers, "mcp-method"),
        body: msg.clone(),
    });
    let (Some(id), Some(method)) = (msg.get("id").cloned(), method) else {
        return StatusCode::ACCEPTED.into_response();
    };
    let speaks = supported(shared.versions);
    let asked = header(&headers, "mcp-protocol-version");
    if method == "server/discover" && shared.versions == Versions::FutureResult {
        let result = json!({"resultType": "complete", "supportedVersions": [FUTURE],
            "capabilities": {"tools": {}}});
        return answer(&id, result);
    }
    if asked.as_deref() != Some(speaks) {
        let data = json!({"supported": [speaks], "requested": asked});
        return refuse(&id, -32022, "Unsupported protocol version", data);
    }
    if header(&headers, "mcp-method").as_deref() != Some(method.as_str()) {
        return refuse(&id, -32020, "Mcp-Method does not match the body", json!({}));
    }
    match method.as_str() {
        "server/discover" => answer(
            &if shared.versions == Versions::CommonUnderAnotherId {
                json!("not-yours")
            } else {
                id.clone()
            },
            json!({"resultType": "complete", "supportedVersions": [REVISION],
                "capabilities": {"tools": {}},
                "_meta": {"io.modelcontextprotocol/serverInfo": {"name": SERVER_NAME, "version": "1.0"}},
                "ttlMs": shared.discover_ttl_ms.load(std::sync::atomic::Ordering::Relaxed),
                "cacheScope": "public"}),
        ),
        "tools/list" => {
            let tools: Vec<Value> = ["plain", "plain_mentions", "odd_kind", "ask_forever", "ask_once", "slow"]
                .iter()
                .map(|name| json!({"name": name, "inputSchema": {"type": "object"}}))
                .collect();
            answer(
                &id,
                json!({"resultType": "complete", "tools": tools, "ttlMs": 0, "cacheScope": "public"}),
            )
        }
        "tools/call" => call(&shared, &id, &msg).await,
        _ => refuse(&id, -32601, "Method not found", json!({})),
    }
}

fn form(message: String) -> Value {
    json!({"method": "elicitation/create", "params": {"mode": "form", "message": message,
        "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}}}})
}

async fn call(shared: &Shared, id: &Value, msg: &Value) -> Response {
    let tool = msg.pointer("/params/name").and_then(Value::as_str).unwrap_or("");
    let given = msg.pointer("/params/inputResponses");
    match tool {
        "plain" => answer(id, plain_result()),
        "plain_mentions" => answer(id, plain_mentions_result()),
        "odd_kind" => answer(
            id,
            json!({"resultType": "input_required", "requestState": "odd-1",
                "inputRequests": {"audit": {"method": "tasks/get", "params": {"taskId": "t-1"}}}}),
        ),
        "ask_forever" => {
            let round = msg
                .pointer("/params/requestState")
                .and_then(Value::as_str)
                .and_then(|s| s.strip_prefix("round-"))
                .and_then(|n| n.parse::<u32>().ok())
                .map_or(1, |n| n + 1);
            answer(
                id,
                json!({"resultType": "input_required", "requestState": format!("round-{round}"),
                    "inputRequests": {"name": form(format!("Round {round}: your name?"))}}),
            )
        }
        "ask_once" => match given
            .and_then(|g| g.pointer("/name/content/name"))
            .and_then(Value::as_str)
        {
            Some(name) => {
                tokio::time::sleep(RETRY_TAKES).await;
                answer(
                    id,
                    json!({"resultType": "complete", "content": [{"type": "text", "text": format!("hello {name}")}]}),
                )
            }
            None => answer(
                id,
                json!({"resultType": "input_required", "requestState": "once",
                    "inputRequests": {"name": form("Your name?".into())}}),
            ),
        },
        "slow" => slow(shared, id, msg),
        _ => answer(
            id,
            json!({"content": [{"type": "text", "text": format!("no tool {tool}")}], "isError": true}),
        ),
    }
}

fn event(msg: &Value) -> Bytes {
    Bytes::from(format!("event: message\ndata: {msg}\n\n"))
}

/// Progress every 200 ms (with a token) until released, then the result.
fn slow(shared: &Shared, id: &Value, msg: &Value) -> Response {
    let token = msg.pointer("/params/_meta/progressToken").cloned();
    let id = id.clone();
    let gate = shared.slow.subscribe();
    let stream = futures::stream::unfold((gate, 0u64, false), move |(mut gate, n, done)| {
        let (id, token) = (id.clone(), token.clone());
        async move {
            if done {
                return None;
            }
            loop {
                if *gate.borrow_and_update() {
                    let last = event(&json!({"jsonrpc": "2.0", "id": id, "result": slow_result()}));
                    return Some((Ok::<_, Infallible>(last), (gate, n, true)));
                }
                if let Ok(Err(_)) = tokio::time::timeout(Duration::from_millis(200), gate.changed()).await {
                    tokio::time::sleep(Duration::from_millis(200)).await; // the remote is stopping
                }
                if *gate.borrow() {
                    continue;
                }
                if let Some(token) = &token {
                    let note = json!({"jsonrpc": "2.0", "method": "notifications/progress",
                        "params": {"progressToken": token, "progress": n + 1, "message": "still working"}});
                    return Some((Ok(event(&note)), (gate, n + 1, false)));
                }
            }
        }
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(stream))
        .expect("an SSE response")
}
