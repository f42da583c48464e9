//! A small hand-written MCP Streamable HTTP endpoint for the emulators:
//! `initialize` (answers with an `Mcp-Session-Id`), `ping`, `tools/list`,
//! `tools/call`, 202 for notifications and responses, 405 for GET (no
//! server stream), DELETE, and 404 (or Integration.app's 400) for an
//! unknown session. Answers are JSON, or SSE when a tool call also emits
//! notifications. The emulator supplies the tools through [`Tools`].

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The protocol revisions the emulators accept; the last one is offered
/// when the client asks for another.
const PROTOCOLS: &[&str] = &["2025-03-26", "2025-06-18", "2025-11-25"];

/// One MCP session.
pub struct Session {
    pub id: String,
    /// Headers and query of the request that created the session.
    pub init_headers: HeaderMap,
    pub init_query: HashMap<String, String>,
    /// Whatever the emulator keeps per session.
    pub state: Mutex<Value>,
}

/// A JSON-RPC error a tool call ends in.
pub struct RpcError {
    pub code: i64,
    pub message: String,
}

/// A tool call's result, and notifications sent before it.
pub struct Answer {
    pub result: Value,
    pub notifications: Vec<Value>,
}

impl Answer {
    pub fn text(text: impl Into<String>, is_error: bool) -> Answer {
        let mut result = json!({"content": [{"type": "text", "text": text.into()}]});
        if is_error {
            result["isError"] = json!(true);
        }
        Answer {
            result,
            notifications: vec![],
        }
    }
}

/// What an emulator plugs into the MCP endpoint.
pub trait Tools: Send + Sync + 'static {
    fn server_name(&self) -> &'static str;
    /// A session was created (by `initialize` or a legacy SSE GET).
    fn opened(&self, _session: &Arc<Session>) {}
    fn list(&self, session: &Session, headers: &HeaderMap) -> Vec<Value>;
    fn call(&self, session: &Session, headers: &HeaderMap, name: &str, args: &Value) -> Result<Answer, RpcError>;
}

/// The MCP endpoint: sessions plus the emulator's tools.
pub struct Mcp<T: Tools> {
    pub tools: T,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    /// Answer an unknown session ID with 400 "No valid session ID" (as
    /// Integration.app does) instead of the spec's 404.
    pub unknown_session_is_400: bool,
}

fn no_session(status: StatusCode) -> Response {
    let (code, message) = if status == StatusCode::NOT_FOUND {
        (-32001, "Session not found")
    } else {
        (-32000, "Bad Request: No valid session ID provided")
    };
    let body = json!({"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": null});
    (status, axum::Json(body)).into_response()
}

/// Messages as an SSE body.
pub fn sse_body(messages: &[Value]) -> Response {
    let text: String = messages
        .iter()
        .map(|m| format!("event: message\ndata: {m}\n\n"))
        .collect();
    ([(header::CONTENT_TYPE, "text/event-stream")], text).into_response()
}

impl<T: Tools> Mcp<T> {
    pub fn new(tools: T, unknown_session_is_400: bool) -> Self {
        Self {
            tools,
            sessions: Mutex::new(HashMap::new()),
            unknown_session_is_400,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Session>>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn open(&self, headers: &HeaderMap, query: &HashMap<String, String>) -> Arc<Session> {
        let s = Arc::new(Session {
            id: uuid::Uuid::new_v4().to_string(),
            init_headers: headers.clone(),
            init_query: query.clone(),
            state: Mutex::new(json!({})),
        });
        self.lock().insert(s.id.clone(), s.clone());
        self.tools.opened(&s);
        s
    }

    pub fn session(&self, id: &str) -> Option<Arc<Session>> {
        self.lock().get(id).cloned()
    }

    /// Forget every session, as a restarted server would.
    pub fn forget_sessions(&self) {
        self.lock().clear();
    }

    pub fn session_ids(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// The messages answering one client message (none for notifications).
    pub fn process(&self, session: &Session, headers: &HeaderMap, msg: &Value) -> Vec<Value> {
        let Some(id) = msg.get("id").filter(|i| !i.is_null()).cloned() else {
            return vec![];
        };
        let Some(method) = msg.get("method").and_then(Value::as_str) else {
            return vec![];
        };
        let reply = |r: Result<Value, RpcError>| match r {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err(e) => json!({"jsonrpc": "2.0", "id": id, "error": {"code": e.code, "message": e.message}}),
        };
        match method {
            "initialize" => {
                let asked = msg.pointer("/params/protocolVersion").and_then(Value::as_str);
                let version = asked
                    .filter(|v| PROTOCOLS.contains(v))
                    .unwrap_or(PROTOCOLS[PROTOCOLS.len() - 1]);
                vec![reply(Ok(json!({
                    "protocolVersion": version,
                    "capabilities": {"tools": {"listChanged": true}},
                    "serverInfo": {"name": self.tools.server_name(), "version": "0.0.0-emulator"},
                })))]
            }
            "ping" => vec![reply(Ok(json!({})))],
            "tools/list" => vec![reply(Ok(json!({"tools": self.tools.list(session, headers)})))],
            "tools/call" => {
                let name = msg.pointer("/params/name").and_then(Value::as_str).unwrap_or("");
                let args = msg.pointer("/params/arguments").cloned().unwrap_or(json!({}));
                match self.tools.call(session, headers, name, &args) {
                    Ok(a) => {
                        let mut out = a.notifications;
                        out.push(reply(Ok(a.result)));
                        out
                    }
                    Err(e) => vec![reply(Err(e))],
                }
            }
            other => vec![reply(Err(RpcError {
                code: -32601,
                message: format!("Method not found: {other}"),
            }))],
        }
    }

    /// Serve one HTTP request to the Streamable HTTP endpoint.
    pub fn http(
        &self,
        method: &Method,
        headers: &HeaderMap,
        query: &HashMap<String, String>,
        body: &Bytes,
    ) -> Response {
        let sid = headers.get("mcp-session-id").and_then(|v| v.to_str().ok());
        let unknown = || {
            no_session(if self.unknown_session_is_400 || sid.is_none() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::NOT_FOUND
            })
        };
        match *method {
            Method::GET => return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "POST, DELETE")]).into_response(),
            Method::DELETE => {
                return match sid.and_then(|s| self.lock().remove(s)) {
                    Some(_) => StatusCode::OK.into_response(),
                    None => unknown(),
                };
            }
            Method::POST => {}
            _ => return StatusCode::METHOD_NOT_ALLOWED.into_response(),
        }
        let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !(accept.contains("application/json") && accept.contains("text/event-stream")) {
            return (
                StatusCode::NOT_ACCEPTABLE,
                "Accept must list application/json and text/event-stream",
            )
                .into_response();
        }
        let Ok(msg) = serde_json::from_slice::<Value>(body) else {
            let err = json!({"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null});
            return (StatusCode::BAD_REQUEST, axum::Json(err)).into_response();
        };
        if msg.get("method").and_then(Value::as_str) == Some("initialize") {
            let session = self.open(headers, query);
            let out = self.process(&session, headers, &msg);
            let mut resp = axum::Json(out.into_iter().next().unwrap_or(Value::Null)).into_response();
            if let Ok(v) = session.id.parse() {
                resp.headers_mut().insert("mcp-session-id", v);
            }
            return resp;
        }
        let Some(session) = sid.and_then(|s| self.session(s)) else {
            return unknown();
        };
        let out = self.process(&session, headers, &msg);
        match out.len() {
            0 => StatusCode::ACCEPTED.into_response(),
            1 => axum::Json(out.into_iter().next().unwrap_or(Value::Null)).into_response(),
            _ => sse_body(&out),
        }
    }
}
