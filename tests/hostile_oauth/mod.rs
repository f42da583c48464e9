//! A small MCP server that wants OAuth, for the tests of what the bridge
//! refuses from one: its metadata follows RFC 9728 and RFC 8414 (exact
//! issuer, a `resource`), and a test changes what it wants to (an
//! endpoint's scheme or host, a registration that redirects elsewhere).
#![allow(dead_code)]

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::{Value, json};
use std::sync::Arc;

/// A change to the authorization server metadata, given the server's base.
pub type Edit = Box<dyn Fn(&str, &mut Value) + Send + Sync>;

/// What the server answers; `base` is its own `http://127.0.0.1:PORT`.
pub struct Script {
    /// Changes the authorization server metadata.
    pub metadata: Edit,
    /// `/register` answers 307 to this URL instead of registering.
    pub register_redirect: Option<String>,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            metadata: Box::new(|_, _| {}),
            register_redirect: None,
        }
    }
}

struct St {
    base: String,
    script: Script,
}

/// Start it; returns its MCP URL.
pub async fn start(script: Script) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let st = Arc::new(St {
        base: base.clone(),
        script,
    });
    let app = axum::Router::new()
        .route("/mcp", any(challenge))
        .route("/.well-known/oauth-protected-resource/mcp", get(resource))
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/register", post(register))
        .with_state(st);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("{base}/mcp")
}

/// A metadata change: set `key` to `value`.
pub fn set(key: &'static str, value: &'static str) -> Script {
    Script {
        metadata: Box::new(move |_, m| m[key] = json!(value)),
        register_redirect: None,
    }
}

async fn challenge(State(s): State<Arc<St>>) -> Response {
    let v = format!(
        "Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"",
        s.base
    );
    (StatusCode::UNAUTHORIZED, [("www-authenticate", v)]).into_response()
}

async fn resource(State(s): State<Arc<St>>) -> Response {
    axum::Json(json!({"resource": format!("{}/mcp", s.base), "authorization_servers": [s.base]})).into_response()
}

async fn metadata(State(s): State<Arc<St>>) -> Response {
    let mut m = json!({
        "issuer": s.base,
        "authorization_endpoint": format!("{}/authorize", s.base),
        "token_endpoint": format!("{}/token", s.base),
        "registration_endpoint": format!("{}/register", s.base),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic"],
    });
    (s.script.metadata)(&s.base, &mut m);
    axum::Json(m).into_response()
}

async fn register(State(s): State<Arc<St>>, axum::Json(asked): axum::Json<Value>) -> Response {
    if let Some(to) = &s.script.register_redirect {
        return (StatusCode::TEMPORARY_REDIRECT, [("location", to.clone())]).into_response();
    }
    let body = json!({"client_id": "stand-in-client", "token_endpoint_auth_method": "none",
                      "redirect_uris": asked["redirect_uris"]});
    (StatusCode::CREATED, axum::Json(body)).into_response()
}
