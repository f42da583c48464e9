//! Emulator of Pipedream Connect, after Pipedream's docs (pipedream.com/docs:
//! "Connect → MCP → developers" for the token request, the base URL and the
//! parameters; "tool modes" for the shapes of tools): the client-credentials
//! token endpoint (`POST /v1/oauth/token`, JSON body, configurable
//! `expires_in` and delay) and the remote MCP server at the root and at
//! `/v3`, which checks the bearer token (issued, unexpired, not revoked;
//! else 401) and the required Connect parameters (as `x-pd-*` headers or
//! query parameters; else a 400 naming the missing header; that body is the
//! emulator's) before serving app tools.
//!
//! The two endpoints differ as the tool-modes page says (its 2026-04-15
//! note): the root shapes tools by `x-pd-tool-mode` (sub-agent by default:
//! upper-case names taking one `instruction`), while `/v3`, the current
//! server, always returns the full tool schema (what the root calls
//! tools-only) and reads no tool mode. With `root_retired`, the root answers
//! 404, as an endpoint Pipedream no longer serves might (what a retired
//! endpoint really answers is not documented). With `require_accounts`,
//! users must connect an account first through a connect link on the
//! emulator (`accounts.rs`).

mod accounts;
mod tools;

use tools::PdTools;

use super::common::{Log, Mcp, Recorded, Running, bearer, json_error};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const TOKEN_PATH: &str = "/v1/oauth/token";

/// Required Connect parameters: header, query parameter.
const REQUIRED: &[(&str, &str)] = &[
    ("x-pd-project-id", "projectId"),
    ("x-pd-environment", "environment"),
    ("x-pd-external-user-id", "externalUserId"),
];

#[derive(Debug, Clone)]
pub struct PipedreamOptions {
    pub client_id: String,
    pub client_secret: String,
    /// `expires_in` of issued tokens, in seconds.
    pub expires_in: u64,
    /// How long the token endpoint takes to answer.
    pub token_delay: Duration,
    /// Users start with no connected account (the connect-link flow).
    pub require_accounts: bool,
    /// The root endpoint is retired: only `/v3` answers.
    pub root_retired: bool,
    /// Listen on 127.0.0.1 at this port (0 picks a free one).
    pub port: u16,
}

impl Default for PipedreamOptions {
    fn default() -> Self {
        Self {
            client_id: "pd-client-id".into(),
            client_secret: "pd-client-secret".into(),
            expires_in: 3600,
            token_delay: Duration::ZERO,
            require_accounts: false,
            root_retired: false,
            port: 0,
        }
    }
}

struct Issued {
    token: String,
    /// None: a lifetime no clock can hold (`expires_in` of u64::MAX), never.
    expires: Option<Instant>,
    revoked: bool,
}

struct Pd {
    opts: PipedreamOptions,
    issued: Mutex<Vec<Issued>>,
    counter: AtomicU64,
    mcp: Mcp<PdTools>,
    accounts: Arc<accounts::Accounts>,
}

/// A running Pipedream emulator.
pub struct PipedreamEmulator {
    server: Running,
    log: Log,
    pd: Arc<Pd>,
}

impl PipedreamEmulator {
    pub async fn start(opts: PipedreamOptions) -> std::io::Result<Self> {
        let accounts = Arc::new(accounts::Accounts::new(opts.require_accounts));
        let pd = Arc::new(Pd {
            opts,
            issued: Mutex::new(vec![]),
            counter: AtomicU64::new(0),
            mcp: Mcp::new(PdTools(accounts.clone()), false),
            accounts: accounts.clone(),
        });
        let links = Router::new()
            .route(accounts::CONNECT_PATH, axum::routing::get(accounts::connect))
            .with_state(accounts.clone());
        let router = Router::new()
            .route(TOKEN_PATH, post(token))
            .fallback(mcp)
            .with_state(pd.clone())
            .merge(links);
        let port = pd.opts.port;
        let (server, log) = Running::start_logged_at(router, port).await?;
        let _ = accounts.base.set(server.base());
        Ok(Self { server, log, pd })
    }

    /// `base_url` and `api_base` for the config: `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        self.server.base()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.log.snapshot()
    }

    /// Requests to the token endpoint.
    pub fn token_requests(&self) -> Vec<Recorded> {
        self.log.by_path(TOKEN_PATH, true)
    }

    /// Requests to the MCP server.
    pub fn mcp_requests(&self) -> Vec<Recorded> {
        self.log.by_path(TOKEN_PATH, false)
    }

    /// Whether `user` has connected `app`.
    pub fn is_connected(&self, user: &str, app: &str) -> bool {
        self.pd.accounts.is_connected(user, app)
    }

    /// The next `n` tool calls say `accountRequired` even with an account.
    pub fn spurious_account_required(&self, n: u64) {
        self.pd.accounts.set_spurious(n);
    }

    /// Revoke every token issued so far: their next use gets 401.
    pub fn revoke_tokens(&self) {
        for t in self.pd.issued.lock().unwrap_or_else(|e| e.into_inner()).iter_mut() {
            t.revoked = true;
        }
    }

    /// Tokens issued so far, oldest first.
    pub fn issued_tokens(&self) -> Vec<String> {
        let issued = self.pd.issued.lock().unwrap_or_else(|e| e.into_inner());
        issued.iter().map(|t| t.token.clone()).collect()
    }
}

async fn token(State(pd): State<Arc<Pd>>, headers: HeaderMap, body: Bytes) -> Response {
    tokio::time::sleep(pd.opts.token_delay).await;
    let is_json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let Some(req) = serde_json::from_slice::<Value>(&body).ok().filter(|_| is_json) else {
        return json_error(StatusCode::BAD_REQUEST, json!({"error": "invalid_request"}));
    };
    if req["grant_type"] != "client_credentials" {
        return json_error(StatusCode::BAD_REQUEST, json!({"error": "unsupported_grant_type"}));
    }
    if req["client_id"] != pd.opts.client_id.as_str() || req["client_secret"] != pd.opts.client_secret.as_str() {
        return json_error(StatusCode::UNAUTHORIZED, json!({"error": "invalid_client"}));
    }
    let n = pd.counter.fetch_add(1, Ordering::SeqCst) + 1;
    let token = format!("pd_at_{n}_{}", uuid::Uuid::new_v4().simple());
    pd.issued.lock().unwrap_or_else(|e| e.into_inner()).push(Issued {
        token: token.clone(),
        expires: Instant::now().checked_add(Duration::from_secs(pd.opts.expires_in)),
        revoked: false,
    });
    let created_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    axum::Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": pd.opts.expires_in,
        "created_at": created_at,
    }))
    .into_response()
}

/// A Connect parameter from its header or query parameter.
fn param(headers: &HeaderMap, query: &HashMap<String, String>, header: &str, q: &str) -> Option<String> {
    headers
        .get(header)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| query.get(q).cloned())
        .filter(|v| !v.is_empty())
}

async fn mcp(
    State(pd): State<Arc<Pd>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let v3 = match uri.path().trim_end_matches('/') {
        "/v3" => true,
        "" if !pd.opts.root_retired => false,
        "" => return json_error(StatusCode::NOT_FOUND, json!({"error": "Not Found"})),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let query: HashMap<String, String> = url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let valid = bearer(&headers).is_some_and(|t| {
        let issued = pd.issued.lock().unwrap_or_else(|e| e.into_inner());
        issued
            .iter()
            .any(|i| i.token == t && !i.revoked && i.expires.is_none_or(|e| e > Instant::now()))
    });
    if !valid {
        return json_error(StatusCode::UNAUTHORIZED, json!({"error": "Unauthorized"}));
    }
    for (h, q) in REQUIRED {
        if param(&headers, &query, h, q).is_none() {
            return json_error(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("Missing required header: {h}")}),
            );
        }
    }
    let env = param(&headers, &query, "x-pd-environment", "environment").unwrap_or_default();
    if !matches!(env.as_str(), "development" | "production") {
        return json_error(
            StatusCode::BAD_REQUEST,
            json!({"error": "x-pd-environment must be development or production"}),
        );
    }
    let discovery = param(&headers, &query, "x-pd-app-discovery", "appDiscovery").as_deref() == Some("true");
    if !discovery && param(&headers, &query, "x-pd-app-slug", "app").is_none() {
        return json_error(
            StatusCode::BAD_REQUEST,
            json!({"error": "Missing required header: x-pd-app-slug"}),
        );
    }
    let mut headers = headers;
    if v3 {
        headers.insert(tools::V3, axum::http::HeaderValue::from_static("1"));
    } else {
        headers.remove(tools::V3);
    }
    pd.mcp.http(&method, &headers, &query, &body)
}
