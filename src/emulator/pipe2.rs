//! Emulator of Pipe2.ai's MCP server, after Pipe2.ai's "MCP Authentication"
//! docs page (the seed `pipe2ai-mcp-auth.txt`): Streamable HTTP at `/mcp`
//! taking either a personal access token (a signed JWT, expiry checked on
//! every request, revocable) or an OAuth 2.1 access token as Bearer; a
//! request without one gets 401, and OAuth discovery starts at
//! `/.well-known/oauth-authorization-server` on the MCP origin.
//!
//! Not in Pipe2.ai's public material, so the emulator's own choices:
//! - where the issuer lives: here on another loopback port (the MCP origin's
//!   document names it, and it publishes its own metadata), the arrangement
//!   issue 22 reports; the metadata fields beyond the endpoints;
//! - the shape of the 401 (the docs say it "returns a 401 with the OAuth
//!   discovery URL": here a JSON body naming it, and a bare
//!   `WWW-Authenticate: Bearer`);
//! - revocation takes effect at once (the docs: within 30 seconds);
//! - the tools (`echo` and `whoami`).

use super::common::{Answer, Log, Mcp, Recorded, RpcError, Running, Session, Tools};
use super::integration_app::jwt;
use super::oauth::{Discovery, OAuthEmulator, OAuthOptions};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// 2100-01-01: the expiry of the emulator's long-lived tokens.
const FAR_FUTURE: u64 = 4_102_444_800;

/// A personal access token named `name`, as the emulator issues them: a JWT
/// (the docs: "Signed JWT") valid until 2100, the same for the same name.
pub fn personal_access_token(name: &str) -> String {
    jwt(&json!({"sub": name, "typ": "pat", "exp": FAR_FUTURE}))
}

/// A personal access token that expired a year after it was made (the
/// docs: "1 year from creation, checked on every request").
pub fn expired_personal_access_token(name: &str) -> String {
    jwt(&json!({"sub": name, "typ": "pat", "exp": 1_700_000_000u64}))
}

#[derive(Debug, Clone, Default)]
pub struct Pipe2Options {
    /// Listen on 127.0.0.1 at this port (0 picks a free one); the issuer
    /// then listens on the next one.
    pub port: u16,
    /// The personal access tokens the dashboard has issued.
    pub pats: Vec<String>,
}

struct P2 {
    base: String,
    pats: Mutex<Vec<String>>,
    issuer: OAuthEmulator,
    mcp: Mcp<P2Tools>,
}

pub struct Pipe2Emulator {
    server: Running,
    log: Log,
    p2: Arc<P2>,
}

/// The `exp` of a JWT, unverified.
fn expiry(token: &str) -> Option<u64> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Value>(&bytes).ok()?.get("exp")?.as_u64()
}

impl Pipe2Emulator {
    pub async fn start(opts: Pipe2Options) -> std::io::Result<Self> {
        let listener = Running::bind(opts.port).await?;
        let base = format!("http://{}", listener.local_addr()?);
        let issuer = OAuthEmulator::start(OAuthOptions {
            // Its own RFC 8414 metadata at its root, naming itself.
            discovery: Discovery::OriginOnly,
            resource: Some(format!("{base}/mcp")),
            port: if opts.port == 0 { 0 } else { opts.port.saturating_add(1) },
            ..Default::default()
        })
        .await?;
        let p2 = Arc::new(P2 {
            base,
            pats: Mutex::new(opts.pats),
            issuer,
            mcp: Mcp::new(P2Tools, false),
        });
        let router = Router::new()
            .route("/mcp", any(mcp))
            .route("/.well-known/oauth-authorization-server", get(metadata))
            .with_state(p2.clone());
        let (server, log) = Running::serve_logged(listener, router)?;
        Ok(Self { server, log, p2 })
    }

    /// The MCP endpoint, `http://127.0.0.1:PORT/mcp`.
    pub fn url(&self) -> String {
        format!("{}/mcp", self.server.base())
    }
    /// The authorization server, on another port.
    pub fn issuer(&self) -> &OAuthEmulator {
        &self.p2.issuer
    }
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.snapshot()
    }
    /// Revoke a personal access token from the dashboard.
    pub fn revoke_pat(&self, pat: &str) {
        self.p2
            .pats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p| p != pat);
    }
}

/// The discovery document on the MCP origin: the issuer's metadata, naming
/// the issuer on its own host.
async fn metadata(State(p2): State<Arc<P2>>) -> Response {
    axum::Json(p2.issuer.metadata()).into_response()
}

fn unauthorized(p2: &P2, what: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        axum::Json(json!({
            "error": "unauthorized",
            "message": what,
            "oauth_discovery": format!("{}/.well-known/oauth-authorization-server", p2.base),
        })),
    )
        .into_response()
}

async fn mcp(
    State(p2): State<Arc<P2>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let Some(token) = super::common::bearer(&headers) else {
        return unauthorized(&p2, "no token");
    };
    let pat = p2
        .pats
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .any(|p| p == token);
    if pat && expiry(token).is_none_or(|exp| exp <= crate::store::now()) {
        return unauthorized(&p2, "token expired");
    }
    if !pat && p2.issuer.accepts(token).is_none() {
        return unauthorized(&p2, "invalid or revoked token");
    }
    let query: HashMap<String, String> = url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    p2.mcp.http(&method, &headers, &query, &body)
}

/// `echo` and `whoami`.
struct P2Tools;

impl Tools for P2Tools {
    fn server_name(&self) -> &'static str {
        "pipe2-emulator"
    }

    fn list(&self, _s: &Session, _h: &HeaderMap) -> Vec<Value> {
        vec![
            json!({"name": "echo", "description": "Echo `text` back.",
                   "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}}),
            json!({"name": "whoami", "description": "How the request was authorised.",
                   "inputSchema": {"type": "object", "properties": {}}}),
        ]
    }

    fn call(&self, _s: &Session, h: &HeaderMap, name: &str, args: &Value) -> Result<Answer, RpcError> {
        match name {
            "echo" => Ok(Answer::text(args["text"].as_str().unwrap_or_default(), false)),
            "whoami" => {
                let pat = super::common::bearer(h).is_some_and(|t| expiry(t) == Some(FAR_FUTURE));
                Ok(Answer::text(if pat { "personal access token" } else { "OAuth" }, false))
            }
            _ => Err(RpcError {
                code: -32602,
                message: format!("Tool {name} not found"),
            }),
        }
    }
}
