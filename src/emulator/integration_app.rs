//! Emulator of the Integration.app (Membrane) MCP server: `/mcp` Streamable
//! HTTP and legacy `/sse` + `/messages`, the token from `?token=` (which
//! wins) or `Authorization: Bearer`, 401 `{"error":"Unauthorized: …"}` with
//! no `WWW-Authenticate`, 400 `-32000 "Bad Request: No valid session ID
//! provided"` for an unknown session, static and dynamic modes (`?mode=`),
//! the `?apps=` filter, and `x-chat-id` chat sessions listed at
//! `GET /mcp/sessions`. Like the real server it opens no GET stream on
//! `/mcp`, so its own `tools/list_changed` never reaches the client.

mod sse;

use super::common::{Answer, Log, Mcp, Recorded, RpcError, Running, Session, Tools, bearer, json_error};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Integrations and their actions; tools are named `<integration>_<action>`.
pub const CATALOG: &[(&str, &[&str])] = &[
    ("gmail", &["send-email", "read-email"]),
    ("google-calendar", &["create-event"]),
    ("slack", &["send-message"]),
];
pub const ENABLE_TOOLS: &str = "enable-tools";

struct Ia {
    token: String,
    mcp: Mcp<IaTools>,
    streams: sse::Streams,
}

pub struct IntegrationAppEmulator {
    server: Running,
    log: Log,
    ia: Arc<Ia>,
}

impl IntegrationAppEmulator {
    /// Serve with `token` as the one access token Membrane accepts.
    pub async fn start(token: &str) -> std::io::Result<Self> {
        let ia = Arc::new(Ia {
            token: token.to_string(),
            mcp: Mcp::new(IaTools::default(), true),
            streams: sse::Streams::default(),
        });
        let router = Router::new()
            .route("/mcp", any(mcp))
            .route("/mcp/sessions", get(chat_sessions))
            .route("/sse", get(sse::open))
            .route("/messages", post(sse::post))
            .with_state(ia.clone());
        let (server, log) = Running::start_logged(router).await?;
        Ok(Self { server, log, ia })
    }

    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.server.base())
    }
    pub fn sse_url(&self) -> String {
        format!("{}/sse", self.server.base())
    }
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.snapshot()
    }
    /// Forget every session, as a restarted server does.
    pub fn forget_sessions(&self) {
        self.ia.mcp.forget_sessions();
    }
    pub fn session_ids(&self) -> Vec<String> {
        self.ia.mcp.session_ids()
    }
    /// Chat ID → session ID, as `GET /mcp/sessions` lists them.
    pub fn chat_sessions(&self) -> HashMap<String, String> {
        self.ia
            .mcp
            .tools
            .chats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn parse_query(q: Option<String>) -> HashMap<String, String> {
    url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// The token check: `?token=` wins over `Authorization: Bearer`. Returns
/// the 401 to send when the token is missing or wrong.
fn refuse(ia: &Ia, headers: &HeaderMap, query: &HashMap<String, String>) -> Option<Response> {
    let presented = query.get("token").map(String::as_str).or_else(|| bearer(headers));
    match presented {
        None => Some(json_error(
            StatusCode::UNAUTHORIZED,
            json!({"error": "Unauthorized: No token provided"}),
        )),
        Some(t) if t != ia.token => Some(json_error(
            StatusCode::UNAUTHORIZED,
            json!({"error": "Unauthorized: Invalid token"}),
        )),
        Some(_) => None,
    }
}

async fn mcp(
    State(ia): State<Arc<Ia>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let query = parse_query(q);
    if let Some(r) = refuse(&ia, &headers, &query) {
        return r;
    }
    ia.mcp.http(&method, &headers, &query, &body)
}

async fn chat_sessions(State(ia): State<Arc<Ia>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    if let Some(r) = refuse(&ia, &headers, &parse_query(q)) {
        return r;
    }
    axum::Json(json!(
        ia.mcp.tools.chats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    ))
    .into_response()
}

#[derive(Default)]
struct IaTools {
    chats: Mutex<HashMap<String, String>>,
}

/// The tool names the session's `?apps=` allows.
fn available(s: &Session) -> Vec<String> {
    let apps: Option<Vec<&str>> = s.init_query.get("apps").map(|a| a.split(',').map(str::trim).collect());
    CATALOG
        .iter()
        .filter(|(key, _)| apps.as_ref().is_none_or(|a| a.contains(key)))
        .flat_map(|(key, actions)| actions.iter().map(move |a| format!("{key}_{a}")))
        .collect()
}

fn dynamic(s: &Session) -> bool {
    s.init_query.get("mode").map(String::as_str) == Some("dynamic")
}

fn enabled(s: &Session) -> Vec<String> {
    let state = s.state.lock().unwrap_or_else(|e| e.into_inner());
    serde_json::from_value(state["enabled"].clone()).unwrap_or_default()
}

/// The tools the session can see and call now.
fn visible(s: &Session) -> Vec<String> {
    if dynamic(s) { enabled(s) } else { available(s) }
}

fn tool(name: &str) -> Value {
    json!({"name": name, "description": format!("Run the {name} action"),
           "inputSchema": {"type": "object", "properties": {"input": {"type": "object"}}}})
}

impl Tools for IaTools {
    fn server_name(&self) -> &'static str {
        "integration-app-emulator"
    }

    fn opened(&self, s: &Arc<Session>) {
        if let Some(chat) = s.init_headers.get("x-chat-id").and_then(|v| v.to_str().ok()) {
            self.chats
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(chat.to_string(), s.id.clone());
        }
    }

    fn list(&self, s: &Session, _h: &HeaderMap) -> Vec<Value> {
        let mut tools = vec![];
        if dynamic(s) {
            tools.push(json!({"name": ENABLE_TOOLS, "description": "Enable tools for this session",
                "inputSchema": {"type": "object", "properties": {"tools": {"type": "array", "items": {"type": "string"}}},
                                "required": ["tools"]}}));
        }
        tools.extend(visible(s).iter().map(|n| tool(n)));
        tools
    }

    fn call(&self, s: &Session, _h: &HeaderMap, name: &str, args: &Value) -> Result<Answer, RpcError> {
        if name == ENABLE_TOOLS && dynamic(s) {
            let asked: Vec<String> = serde_json::from_value(args["tools"].clone()).unwrap_or_default();
            let offer = available(s);
            let (known, unknown): (Vec<String>, Vec<String>) = asked.into_iter().partition(|t| offer.contains(t));
            let mut now = enabled(s);
            now.extend(known.iter().filter(|k| !now.contains(k)).cloned().collect::<Vec<_>>());
            s.state.lock().unwrap_or_else(|e| e.into_inner())["enabled"] = json!(now);
            if !unknown.is_empty() {
                return Ok(Answer::text(format!("Unknown tools: {}", unknown.join(", ")), true));
            }
            return Ok(Answer::text(format!("Enabled tools: {}", known.join(", ")), false));
        }
        if !visible(s).iter().any(|t| t == name) {
            return Err(RpcError {
                code: -32602,
                message: format!("Tool {name} not found"),
            });
        }
        if args.get("fail").and_then(Value::as_bool) == Some(true) {
            return Ok(Answer::text(
                format!("{name} failed: the connection returned an error"),
                true,
            ));
        }
        Ok(Answer::text(format!("{name} done"), false))
    }
}
