//! Emulator of the Integration.app (Membrane) MCP server, following its
//! open-source code (integration-app/mcp-server; membranehq/mcp-server for
//! the OAuth metadata): `/mcp` Streamable HTTP and the legacy `/sse` +
//! `/sse/messages` transport, both behind the same auth middleware (the
//! token from `?token=`, which wins, or `Authorization: Bearer`; it must
//! decode as a JWT with an `id`; `auth.rs`), static and dynamic modes
//! (`?mode=`), the `?apps=` filter, and `x-chat-id` chat sessions listed per
//! user at `GET /mcp/sessions`. Which tokens Membrane itself accepts is the
//! emulator's choice (`IaOptions::tokens`, or those its OAuth authorization
//! server issued); a session opened with any other token fails as the
//! server's `createMcpServer` does when Membrane refuses it: HTTP 500.
//!
//! Not emulated: the GET stream on `/mcp` (the real server serves one for a
//! known session, src/server/routes/streamable-http.ts, and its
//! `tools/list_changed` goes there); here GET answers 405, so a client sees
//! the list change only through its own announcement.

mod auth;
mod sse;

pub use crate::emulator::common::jwt;
pub use auth::{Query, access_token};

use super::common::{Answer, Log, Mcp, Recorded, RpcError, Running, Session, Tools};
use super::oauth::{Discovery, OAuthEmulator, OAuthOptions};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Integrations and their actions; tools are named `<integration>_<action>`
/// (src/server/utils/create-mcp-server.ts, `addServerTool`).
pub const CATALOG: &[(&str, &[&str])] = &[
    ("gmail", &["send-email", "read-email"]),
    ("google-calendar", &["create-event"]),
    ("slack", &["send-message"]),
];
pub const ENABLE_TOOLS: &str = "enable-tools";

#[derive(Debug, Clone, Default)]
pub struct IaOptions {
    /// Listen on 127.0.0.1 at this port (0 picks a free one).
    pub port: u16,
    /// Access tokens Membrane accepts (see [`access_token`]).
    pub tokens: Vec<String>,
    /// Publish Membrane's OAuth metadata, with an authorization server of
    /// its own standing in for the Membrane API, whose tokens are accepted.
    pub oauth: bool,
}

struct Ia {
    /// `http://127.0.0.1:PORT`.
    base: String,
    tokens: Vec<String>,
    /// The Membrane API's authorization server (with `oauth`).
    upstream: Option<OAuthEmulator>,
    mcp: Mcp<IaTools>,
    streams: sse::Streams,
}

impl Ia {
    /// Whether Membrane accepts `token` (what `createMcpServer` finds out
    /// when it lists the connections with it).
    fn accepted(&self, token: &str) -> bool {
        self.tokens.iter().any(|t| t == token) || self.upstream.as_ref().is_some_and(|u| u.accepts(token).is_some())
    }
}

pub struct IntegrationAppEmulator {
    server: Running,
    log: Log,
    ia: Arc<Ia>,
}

/// The answer of the Streamable HTTP route when opening a session fails
/// (the route's `catch`): HTTP 500, JSON-RPC -32603.
fn internal_error() -> Response {
    let body = json!({"jsonrpc": "2.0", "error": {"code": -32603, "message": "Internal server error"}, "id": null});
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
}

/// The answer to a missing or unknown `mcp-session-id` where the route
/// checks it itself.
fn no_valid_session() -> Response {
    let body = json!({"jsonrpc": "2.0", "error": {"code": -32000, "message": "Bad Request: No valid session ID provided"}, "id": null});
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

impl IntegrationAppEmulator {
    /// Serve with `token` as the one access token Membrane accepts.
    pub async fn start(token: &str) -> std::io::Result<Self> {
        Self::start_with(IaOptions {
            tokens: vec![token.to_string()],
            ..Default::default()
        })
        .await
    }

    pub async fn start_with(opts: IaOptions) -> std::io::Result<Self> {
        let listener = Running::bind(opts.port).await?;
        let base = format!("http://{}", listener.local_addr()?);
        let upstream = if opts.oauth {
            // Membrane's API: its own RFC 8414 metadata at its root (the
            // server names it as issuer and authorization server; that the
            // API publishes metadata of its own is not in the public code),
            // its endpoints under `/oauth` (routes/oauth.ts's UPSTREAM_*).
            Some(
                OAuthEmulator::start(OAuthOptions {
                    discovery: Discovery::OriginOnly,
                    resource: Some(format!("{base}/mcp")),
                    endpoint_prefix: "/oauth".into(),
                    jwt_access_tokens: true,
                    token_auth_methods: vec!["none".into()],
                    ..Default::default()
                })
                .await?,
            )
        } else {
            None
        };
        let ia = Arc::new(Ia {
            base,
            tokens: opts.tokens,
            upstream,
            mcp: Mcp::new(IaTools::default(), true),
            streams: sse::Streams::default(),
        });
        let router = Router::new()
            .route("/mcp", any(mcp))
            .route("/mcp/sessions", get(chat_sessions))
            .route("/sse", get(sse::open))
            .route("/sse/", get(sse::open))
            .route("/sse/messages", post(sse::post))
            .route(
                "/.well-known/oauth-authorization-server",
                get(auth::authorization_server_metadata),
            )
            .route(
                "/.well-known/oauth-protected-resource",
                get(auth::protected_resource_metadata),
            )
            .route("/oauth/authorize", get(auth::authorize_proxy))
            .with_state(ia.clone());
        let (server, log) = Running::serve_logged(listener, router)?;
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
    /// The Membrane API's authorization server (with `oauth`).
    pub fn authorization_server(&self) -> Option<&OAuthEmulator> {
        self.ia.upstream.as_ref()
    }
    /// Forget every session, as a restarted server does.
    pub fn forget_sessions(&self) {
        self.ia.mcp.forget_sessions();
    }
    pub fn session_ids(&self) -> Vec<String> {
        self.ia.mcp.session_ids()
    }
    /// Chat ID → session ID of `user`, as `GET /mcp/sessions` lists them.
    pub fn chat_sessions(&self, user: &str) -> HashMap<String, String> {
        self.ia.mcp.tools.chats(user)
    }
}

async fn mcp(
    State(ia): State<Arc<Ia>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let query = Query::parse(q.as_deref());
    let caller = match auth::authenticate(&headers, &query) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let sid = headers.get("mcp-session-id").and_then(|v| v.to_str().ok());
    let known = sid.is_some_and(|s| ia.mcp.session(s).is_some());
    match method {
        // A POST with no session ID opens a session, and with it the
        // server's Membrane client: a token Membrane refuses fails there.
        Method::POST if sid.is_none() && !ia.accepted(&caller.token) => return internal_error(),
        // DELETE: a missing or unknown session is the route's own 400; a
        // known one is closed and, per `removeFromUserSessions`, the
        // caller's entry under the request's `x-chat-id` (or, without one,
        // under the session ID) is dropped from the chat list.
        Method::DELETE if !known => return no_valid_session(),
        Method::DELETE => {
            let chat = headers.get("x-chat-id").and_then(|v| v.to_str().ok());
            ia.mcp.tools.forget_chat(&caller.user, chat.or(sid).unwrap_or_default());
        }
        _ => {}
    }
    let mut headers = headers;
    // `onsessioninitialized` records the chat for the user of the
    // initializing request's token.
    if let Ok(v) = caller.user.parse() {
        headers.insert("x-emulator-user", v);
    }
    ia.mcp.http(&method, &headers, &query.first_values(), &body)
}

/// `GET /mcp/sessions`: the caller's chats and their session IDs. A user
/// with none gets `res.json(undefined)`: 200 with an empty body.
async fn chat_sessions(State(ia): State<Arc<Ia>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let caller = match auth::authenticate(&headers, &Query::parse(q.as_deref())) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let chats = ia.mcp.tools.chats.lock().unwrap_or_else(|e| e.into_inner());
    match chats.get(&caller.user) {
        Some(map) => axum::Json(json!(map)).into_response(),
        None => ([(header::CONTENT_TYPE, "application/json")], "").into_response(),
    }
}

/// The tools, and the chat list kept per user
/// (src/server/utils/user-sessions.ts).
#[derive(Default)]
struct IaTools {
    chats: Mutex<HashMap<String, HashMap<String, String>>>,
}

impl IaTools {
    fn chats(&self, user: &str) -> HashMap<String, String> {
        let chats = self.chats.lock().unwrap_or_else(|e| e.into_inner());
        chats.get(user).cloned().unwrap_or_default()
    }

    fn forget_chat(&self, user: &str, key: &str) {
        let mut chats = self.chats.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(map) = chats.get_mut(user) {
            map.remove(key);
        }
    }
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
        let header = |n: &str| s.init_headers.get(n).and_then(|v| v.to_str().ok());
        if let (Some(chat), Some(user)) = (header("x-chat-id"), header("x-emulator-user")) {
            self.chats
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(user.to_string())
                .or_default()
                .insert(chat.to_string(), s.id.clone());
        }
    }

    fn list(&self, s: &Session, _h: &HeaderMap) -> Vec<Value> {
        let mut tools = vec![];
        if dynamic(s) {
            tools.push(json!({"name": ENABLE_TOOLS, "description": "Enable a list of tools for the session",
                "inputSchema": {"type": "object", "properties": {"tools": {"type": "array", "items": {"type": "string"}}}}}));
        }
        tools.extend(visible(s).iter().map(|n| tool(n)));
        tools
    }

    fn call(&self, s: &Session, _h: &HeaderMap, name: &str, args: &Value) -> Result<Answer, RpcError> {
        if name == ENABLE_TOOLS && dynamic(s) {
            // create-mcp-server.ts: every tool enabled before is disabled,
            // then the named ones are enabled; a name that is no action is
            // skipped without a word, and the answer is always "Tools
            // enabled", never an error.
            let asked: Vec<String> = serde_json::from_value(args["tools"].clone()).unwrap_or_default();
            let offer = available(s);
            let (known, unknown): (Vec<String>, Vec<String>) = asked.into_iter().partition(|t| offer.contains(t));
            s.state.lock().unwrap_or_else(|e| e.into_inner())["enabled"] = json!(known);
            let mut text = "Tools enabled".to_string();
            if !unknown.is_empty() {
                // The emulator's own addition, for people trying it: the
                // real server says only "Tools enabled".
                text.push_str(&format!(
                    " (emulator note: unknown tools ignored: {}; valid names: {})",
                    unknown.join(", "),
                    offer.join(", ")
                ));
            }
            return Ok(Answer::text(text, false));
        }
        if !visible(s).iter().any(|t| t == name) {
            return Err(RpcError {
                code: -32602,
                message: format!("Tool {name} not found"),
            });
        }
        if args.get("fail").and_then(Value::as_bool) == Some(true) {
            // A thrown action error becomes an isError result (the SDK's
            // McpServer catches it).
            return Ok(Answer::text(
                format!("{name} failed: the connection returned an error"),
                true,
            ));
        }
        Ok(Answer::text(format!("{name} done"), false))
    }
}
