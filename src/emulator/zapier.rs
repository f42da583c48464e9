//! Emulator of Zapier MCP, after Zapier's public docs (docs.zapier.com: the
//! MCP "authentication" page, the troubleshooting page "tools return 404",
//! and the white-label guide "AI agent connections & automations"):
//! - the connect endpoint (`/api/v1/connect`, Streamable HTTP only: no SSE
//!   endpoint, and GET answers 405), taking a connection token or a
//!   white-label access token as Bearer or `?token=`;
//! - an expired connection token (or secret server URL) answered with 404,
//!   as the troubleshooting page says; a wrong or expired white-label
//!   access token with 401, as the white-label guide says ("when MCP
//!   requests return HTTP 401, refresh");
//! - the legacy secret URL (`/api/mcp/s/<secret>/mcp`);
//! - the white-label token endpoint (`POST /oauth/token`, form-encoded
//!   `grant_type=refresh_token` with the client's id and secret), which
//!   rotates the refresh token on every use.
//!
//! The bodies of the 401 and 404 answers are not documented; the ones here
//! are the emulator's. Tools: the `enable_zapier_action` meta-tool, whose
//! call adds a tool and emits `notifications/tools/list_changed` before its
//! result (Zapier's docs say the tool list changes during a session).

use super::common::{Answer, Log, Mcp, Recorded, RpcError, Running, Session, Tools, bearer, json_error};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub const TOKEN_PATH: &str = "/oauth/token";
pub const CONNECT_PATH: &str = "/api/v1/connect";

#[derive(Debug, Clone, Default)]
pub struct ZapierOptions {
    /// Accepted as Bearer or `?token=` on the connect endpoint.
    pub connection_token: Option<String>,
    /// The secret in `/api/mcp/s/<secret>/mcp`.
    pub secret: Option<String>,
    pub client_id: String,
    pub client_secret: String,
    /// The white-label access token accepted at first (none: only a
    /// refreshed one is).
    pub access_token: Option<String>,
    /// The refresh token accepted at first.
    pub refresh_token: String,
    /// Listen on 127.0.0.1 at this port (0 picks a free one).
    pub port: u16,
}

struct Tokens {
    access: Option<String>,
    refresh: String,
    /// The connection token (or secret URL) has expired: it gets 404.
    connection_expired: bool,
}

struct Zap {
    opts: ZapierOptions,
    tokens: Mutex<Tokens>,
    counter: AtomicU64,
    mcp: Mcp<ZapTools>,
}

pub struct ZapierEmulator {
    server: Running,
    log: Log,
    zap: Arc<Zap>,
}

impl ZapierEmulator {
    pub async fn start(opts: ZapierOptions) -> std::io::Result<Self> {
        let zap = Arc::new(Zap {
            tokens: Mutex::new(Tokens {
                access: opts.access_token.clone(),
                refresh: opts.refresh_token.clone(),
                connection_expired: false,
            }),
            opts,
            counter: AtomicU64::new(0),
            mcp: Mcp::new(ZapTools, false),
        });
        let router = Router::new()
            .route(TOKEN_PATH, post(token))
            .route(CONNECT_PATH, any(connect))
            .route("/api/mcp/s/{secret}/mcp", any(secret_url))
            .with_state(zap.clone());
        let port = zap.opts.port;
        let (server, log) = Running::start_logged_at(router, port).await?;
        Ok(Self { server, log, zap })
    }

    pub fn connect_url(&self) -> String {
        format!("{}{CONNECT_PATH}", self.server.base())
    }
    pub fn token_url(&self) -> String {
        format!("{}{TOKEN_PATH}", self.server.base())
    }
    /// The legacy secret URL (with the configured secret).
    pub fn secret_url(&self) -> String {
        format!(
            "{}/api/mcp/s/{}/mcp",
            self.server.base(),
            self.zap.opts.secret.as_deref().unwrap_or("")
        )
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.log.snapshot()
    }
    pub fn token_requests(&self) -> Vec<Recorded> {
        self.log.by_path(TOKEN_PATH, true)
    }
    pub fn mcp_requests(&self) -> Vec<Recorded> {
        self.log.by_path(TOKEN_PATH, false)
    }

    /// Make the current access token invalid: its next use gets 401.
    pub fn expire_access_token(&self) {
        self.lock().access = None;
    }
    /// The refresh token the endpoint accepts now.
    pub fn refresh_token(&self) -> String {
        self.lock().refresh.clone()
    }
    /// The access token the MCP endpoint accepts now.
    pub fn access_token(&self) -> Option<String> {
        self.lock().access.clone()
    }
    /// Let the connection token and the secret URL expire, as Zapier's do
    /// after a long time unused: every request with them gets 404.
    pub fn expire_connection_token(&self) {
        self.lock().connection_expired = true;
    }
    /// Revoke the refresh token: refreshing fails with `invalid_grant`.
    pub fn revoke_refresh_token(&self) {
        self.lock().refresh = format!("revoked-{}", uuid::Uuid::new_v4());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tokens> {
        self.zap.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn token(State(zap): State<Arc<Zap>>, headers: HeaderMap, body: Bytes) -> Response {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if !is_form || field("grant_type") != "refresh_token" {
        return json_error(StatusCode::BAD_REQUEST, json!({"error": "unsupported_grant_type"}));
    }
    if field("client_id") != zap.opts.client_id || field("client_secret") != zap.opts.client_secret {
        return json_error(StatusCode::UNAUTHORIZED, json!({"error": "invalid_client"}));
    }
    let mut tokens = zap.tokens.lock().unwrap_or_else(|e| e.into_inner());
    if field("refresh_token") != tokens.refresh {
        return json_error(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_grant", "error_description": "refresh token is invalid or was already used"}),
        );
    }
    let n = zap.counter.fetch_add(1, Ordering::SeqCst) + 1;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let access = format!("zap_at_{n}_{tag}");
    let refresh = format!("zap_rt_{n}_{tag}");
    tokens.access = Some(access.clone());
    tokens.refresh = refresh.clone();
    axum::Json(json!({
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": "mcp:run",
    }))
    .into_response()
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        axum::Json(json!({"error": "invalid_token"})),
    )
        .into_response()
}

/// An expired connection token: 404 (the troubleshooting page's symptom).
fn expired() -> Response {
    json_error(StatusCode::NOT_FOUND, json!({"error": "Not Found"}))
}

fn parse_query(q: Option<String>) -> HashMap<String, String> {
    url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

async fn connect(
    State(zap): State<Arc<Zap>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let query = parse_query(q);
    let presented = bearer(&headers)
        .map(str::to_string)
        .or_else(|| query.get("token").cloned());
    let tokens = zap.tokens.lock().unwrap_or_else(|e| e.into_inner());
    let connection = presented.is_some() && zap.opts.connection_token == presented;
    if connection && tokens.connection_expired {
        return expired();
    }
    let ok = connection || (presented.is_some() && tokens.access == presented);
    drop(tokens);
    if !ok {
        return unauthorized();
    }
    zap.mcp.http(&method, &headers, &query, &body)
}

async fn secret_url(
    State(zap): State<Arc<Zap>>,
    Path(secret): Path<String>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    if zap.opts.secret.as_deref() != Some(secret.as_str()) {
        return json_error(StatusCode::UNAUTHORIZED, json!({"error": "invalid server URL"}));
    }
    if zap.tokens.lock().unwrap_or_else(|e| e.into_inner()).connection_expired {
        return expired();
    }
    zap.mcp.http(&method, &headers, &parse_query(q), &body)
}

/// `enable_zapier_action` plus the actions enabled in this session.
struct ZapTools;

const ENABLE: &str = "enable_zapier_action";

fn enabled(s: &Session) -> Vec<String> {
    let state = s.state.lock().unwrap_or_else(|e| e.into_inner());
    serde_json::from_value(state["enabled"].clone()).unwrap_or_default()
}

impl Tools for ZapTools {
    fn server_name(&self) -> &'static str {
        "zapier-emulator"
    }

    fn list(&self, s: &Session, _h: &HeaderMap) -> Vec<Value> {
        let mut tools = vec![json!({
            "name": ENABLE,
            "description": "Enable a Zapier action as a tool",
            "inputSchema": {"type": "object", "properties": {"action": {"type": "string"}}, "required": ["action"]},
        })];
        tools.extend(enabled(s).into_iter().map(|a| {
            json!({"name": a, "description": format!("Zapier action {a}"),
                   "inputSchema": {"type": "object", "properties": {"instructions": {"type": "string"}}}})
        }));
        tools
    }

    fn call(&self, s: &Session, _h: &HeaderMap, name: &str, args: &Value) -> Result<Answer, RpcError> {
        if name == ENABLE {
            let Some(action) = args.get("action").and_then(Value::as_str).filter(|a| !a.is_empty()) else {
                return Ok(Answer::text("`action` is required", true));
            };
            let mut now = enabled(s);
            if !now.iter().any(|a| a == action) {
                now.push(action.to_string());
            }
            s.state.lock().unwrap_or_else(|e| e.into_inner())["enabled"] = json!(now);
            let mut answer = Answer::text(format!("enabled {action}"), false);
            answer.notifications = vec![json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})];
            return Ok(answer);
        }
        if enabled(s).iter().any(|a| a == name) {
            return Ok(Answer::text(format!("ran {name} with {args}"), false));
        }
        Err(RpcError {
            code: -32602,
            message: format!("Tool {name} not found"),
        })
    }
}
