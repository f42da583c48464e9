//! What the provider emulators share: the request log (every request with
//! its method, path, query, headers, body and the status it got), a running
//! loopback server handle, small HTTP helpers, and (in [`mcp`]) a
//! hand-written MCP Streamable HTTP endpoint whose tools each emulator
//! supplies, and [`jwt`], the unsigned JWTs the emulators hand out.

mod mcp;

pub use mcp::{Answer, Mcp, RpcError, Session, Tools, sse_body};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// One request an emulator received, recorded once it was answered.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub status: u16,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }
    /// Query parameters, decoded.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        let q = self.query.as_deref().unwrap_or("");
        url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()
    }
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs().into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
    /// The JSON-RPC method of a POSTed message.
    pub fn rpc_method(&self) -> Option<String> {
        self.json()?.get("method")?.as_str().map(str::to_string)
    }
}

/// The shared, append-only request log.
#[derive(Debug, Clone, Default)]
pub struct Log(Arc<Mutex<Vec<Recorded>>>);

impl Log {
    pub fn snapshot(&self) -> Vec<Recorded> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The requests to `path` (`to_it`), or to every other path.
    pub fn by_path(&self, path: &str, to_it: bool) -> Vec<Recorded> {
        self.snapshot()
            .into_iter()
            .filter(|r| (r.path == path) == to_it)
            .collect()
    }
}

/// Middleware: record every request with the status it got.
pub async fn record(State(log): State<Log>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 4 << 20).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let mut entry = Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
        status: 0,
    };
    let resp = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    entry.status = resp.status().as_u16();
    log.0.lock().unwrap_or_else(|e| e.into_inner()).push(entry);
    resp
}

/// A server on 127.0.0.1; stops when dropped.
pub struct Running {
    pub addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

impl Running {
    pub async fn start(router: axum::Router) -> std::io::Result<Running> {
        Running::start_at(router, 0).await
    }

    /// Serve on 127.0.0.1:`port` (0 picks a free one).
    pub async fn start_at(router: axum::Router, port: u16) -> std::io::Result<Running> {
        Running::serve(Running::bind(port).await?, router)
    }

    /// A listener on 127.0.0.1:`port` (0 picks a free one), for a server
    /// that must know its own address before it is built.
    pub async fn bind(port: u16) -> std::io::Result<tokio::net::TcpListener> {
        tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await
    }

    /// Serve `router` on `listener`.
    pub fn serve(listener: tokio::net::TcpListener, router: axum::Router) -> std::io::Result<Running> {
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(
                listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                }),
                router,
            )
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
        });
        Ok(Running { addr, _stop: stop })
    }

    /// Start `router` with every request it gets recorded in the log returned.
    pub async fn start_logged(router: axum::Router) -> std::io::Result<(Running, Log)> {
        Running::start_logged_at(router, 0).await
    }

    /// `start_logged` on 127.0.0.1:`port` (0 picks a free one).
    pub async fn start_logged_at(router: axum::Router, port: u16) -> std::io::Result<(Running, Log)> {
        Running::serve_logged(Running::bind(port).await?, router)
    }

    /// `serve` with every request recorded in the log returned.
    pub fn serve_logged(listener: tokio::net::TcpListener, router: axum::Router) -> std::io::Result<(Running, Log)> {
        let log = Log::default();
        let router = router.layer(axum::middleware::from_fn_with_state(log.clone(), record));
        Ok((Running::serve(listener, router)?, log))
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// The bearer token in `headers`, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// A JSON error body with `status`.
pub fn json_error(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// A JWT with `payload`, unsigned (the server never checks the signature).
pub fn jwt(payload: &Value) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        part(&json!({"alg": "HS256", "typ": "JWT"})),
        part(payload),
        URL_SAFE_NO_PAD.encode("emulator-signature")
    )
}
