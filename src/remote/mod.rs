//! The remote side of the bridge: one MCP server reached over HTTP.
//!
//! `Remote` takes each message from the client and delivers it over the
//! configured transport: Streamable HTTP (`streamable`) or the legacy
//! HTTP+SSE transport (`legacy`), switching to legacy when `transport =
//! "auto"` and the remote refuses a Streamable HTTP initialize. Every message
//! the remote sends back goes through `inbound`. A request from the client
//! always ends in exactly one response: the remote's, or an error written by
//! the bridge naming the server and what went wrong (`request`: its
//! deadline, progress and cancellation).

mod deadline;
mod era;
pub mod filter;
mod http_util;
pub mod inbound;
mod input_rounds;
mod legacy;
mod loopback;
mod modern;
mod outgoing;
mod reply;
mod result_shapes;
/// The loopback way's HTTP/1.1 response reading, for the fuzz target.
#[doc(hidden)]
pub use loopback::h1::read_pieces as read_http1_pieces;
mod request;
mod streamable;

use crate::config::Transport;
use crate::credential::Credential;
use crate::hooks::Upstream;
use crate::jsonrpc;
use crate::message::Message;
use crate::net::{CONNECT_TIMEOUT, POOL_IDLE, shared_client as general_client};
use crate::redact::Redactor;
use era::{EraShared, EraState};
use inbound::Inbound;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

/// Everything needed to reach one configured server.
pub struct Endpoint {
    /// The server's name in the config, used in every error.
    pub server: String,
    /// The MCP URL, with the configured query parameters already applied.
    pub url: Url,
    /// Extra headers from the config and the provider.
    pub headers: http::HeaderMap,
    pub credential: Arc<dyn Credential>,
    pub transport: Transport,
    /// `protocol`: find the era (`auto`) or a pinned revision.
    pub protocol: crate::config::Protocol,
    /// Where the era found for this server is remembered between runs.
    pub store: Option<crate::store::Store>,
    /// The longest the bridge waits for one answer (or between two progress
    /// notifications of one request).
    pub timeout: Duration,
    /// `allow_tools` / `deny_tools`.
    pub tools: filter::ToolFilter,
    pub redactor: Redactor,
}

/// Why a message could not be delivered or answered.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    #[error("the server answered HTTP {status}{}", body_suffix(.body))]
    Status { status: u16, body: String },
    #[error("the server refused the credentials (HTTP 401); {hint}")]
    Unauthorized { hint: String },
    #[error("{0}")]
    Credential(String),
    #[error("the server broke the protocol: {0}")]
    Protocol(String),
    #[error("the session expired and could not be re-established: {0}")]
    SessionLost(String),
    #[error("no answer within {0:?} (raise `timeout` for this server in the config)")]
    Timeout(Duration),
}

fn body_suffix(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

impl RemoteError {
    /// What the person can do about it, for server `server`, when the
    /// message does not say so already.
    fn fix(&self, server: &str) -> Option<String> {
        let check = format!("`mcp-bridge doctor {server}` checks the way there step by step");
        match self {
            RemoteError::Unreachable(text) => Some(match tls_fix(text, server) {
                Some(tls) => format!("{tls}; {check}"),
                None => format!("check `url` in [servers.{server}] and that the server is running; {check}"),
            }),
            RemoteError::Status { status: 404 | 405, .. } => Some(format!(
                "check that `url` in [servers.{server}] is the server's MCP endpoint; {check}"
            )),
            RemoteError::Protocol(_) | RemoteError::SessionLost(_) => Some(check),
            _ => None,
        }
    }

    /// The HTTP status the server answered, when that is the failure.
    fn status(&self) -> Option<u16> {
        match self {
            RemoteError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    fn code(&self) -> i64 {
        match self {
            RemoteError::Timeout(_) => jsonrpc::TIMEOUT_ERROR,
            _ => jsonrpc::REMOTE_ERROR,
        }
    }
}

/// What to do when a connection failed on the server's TLS certificate
/// (`text` is the error with its causes), for server `server`; `None` when
/// it did not. rustls names the reason (`invalid peer certificate: …`, in
/// words or as the variant's name).
fn tls_fix(text: &str, server: &str) -> Option<String> {
    if !text.contains("certificate") {
        return None;
    }
    let url = format!("`url` in [servers.{server}]");
    Some(
        if text.contains("not valid for name") || text.contains("NotValidForName") {
            format!(
                "the server's TLS certificate is not for the host name in {url}: use the name the certificate is for"
            )
        } else if ["certificate expired", "not valid yet", "Expired", "NotValidYet"]
            .iter()
            .any(|t| text.contains(t))
        {
            "the server's TLS certificate is out of date (or this machine's clock is wrong)".to_string()
        } else {
            format!(
                "the server's TLS certificate is not trusted on this machine. If {url} is right and the server, or a proxy on your network, uses a private certificate authority, {TRUST_HINT}"
            )
        },
    )
}

/// How to make this machine trust a private certificate authority, as the
/// bridge's TLS (rustls with the platform's verifier) reads trust.
#[cfg(target_os = "linux")]
const TRUST_HINT: &str = "add it to the trust store, or put it in a PEM file together with the public authorities (a copy of /etc/ssl/certs/ca-certificates.crt with it appended) and set SSL_CERT_FILE to that file in the environment mcp-bridge is started with (the `env` of its entry in the client's config)";
#[cfg(target_os = "macos")]
const TRUST_HINT: &str =
    "add it to the System keychain and trust it for SSL (Keychain Access); SSL_CERT_FILE is not read on macOS";
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
const TRUST_HINT: &str =
    "add it to the machine's trusted root certificate store; SSL_CERT_FILE is not read on this system";

/// How requests reach a remote.
enum Way {
    /// The lean way to a remote on this machine (`loopback`); it makes
    /// reqwest's client itself if a request ever needs it.
    Loopback(loopback::Loopback),
    /// reqwest's general client, for a remote elsewhere.
    General(reqwest::Client),
}

/// State shared by both transports.
pub(crate) struct Ctx {
    pub endpoint: Endpoint,
    /// How requests reach the remote.
    way: Way,
    pub inbound: Arc<Inbound>,
    /// The client's own `initialize` request, replayed when a session is lost.
    init: Mutex<Option<Value>>,
    /// Whether the client has sent `notifications/initialized`.
    initialized: Mutex<bool>,
}

impl Ctx {
    pub fn init_request(&self) -> Option<Value> {
        self.init.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    pub fn client_initialized(&self) -> bool {
        *self.initialized.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub fn redact(&self, s: &str) -> String {
        self.endpoint.redactor.apply(s)
    }
}

pub struct Remote {
    ctx: Arc<Ctx>,
    streamable: Arc<streamable::Streamable>,
    /// The sessionless transport of the modern era.
    modern: Arc<modern::Modern>,
    /// Which era the remote and the client speak.
    era: EraState,
    era_shared: Arc<EraShared>,
    legacy: Mutex<Option<Arc<legacy::Legacy>>>,
    /// Whether `request` returns a copy of each response (for hooks).
    keep_responses: AtomicBool,
    /// The deadlines of the client's requests in flight.
    deadlines: deadline::Deadlines,
}

impl Remote {
    /// Ask `request` to return each response, not only to write it to the
    /// client (hooks that look at results need this; it costs a copy).
    pub fn keep_responses(&self, keep: bool) {
        self.keep_responses.store(keep, Ordering::Relaxed);
    }

    pub fn new(endpoint: Endpoint, inbound: Arc<Inbound>) -> Result<Remote, RemoteError> {
        let way = match loopback::Loopback::to(&endpoint.url, CONNECT_TIMEOUT, POOL_IDLE) {
            Some(lo) => Way::Loopback(lo),
            None => Way::General(general_client().map_err(RemoteError::Unreachable)?),
        };
        let era_shared = Arc::new(EraShared::new(&endpoint.server, endpoint.timeout));
        let mut late: Vec<Arc<dyn crate::hooks::Transform>> = vec![
            Arc::new(input_rounds::InputRounds::new(era_shared.clone())),
            Arc::new(modern::ToolHeaders(era_shared.clone())),
            Arc::new(result_shapes::ResultShapes(era_shared.clone())),
        ];
        if !endpoint.tools.is_empty() {
            late.push(Arc::new(filter::ListFilter(endpoint.tools.clone())));
        }
        inbound.add_transforms(late);
        let ctx = Arc::new(Ctx {
            endpoint,
            way,
            inbound,
            init: Mutex::new(None),
            initialized: Mutex::new(false),
        });
        let streamable = streamable::Streamable::new(ctx.clone());
        let modern = modern::Modern::new(ctx.clone(), era_shared.clone());
        let remote = Remote {
            ctx: ctx.clone(),
            streamable,
            modern,
            era: EraState::default(),
            era_shared,
            legacy: Mutex::new(None),
            keep_responses: AtomicBool::new(false),
            deadlines: deadline::Deadlines::default(),
        };
        if ctx.endpoint.transport == Transport::Sse {
            *remote.legacy.lock().unwrap_or_else(|e| e.into_inner()) = Some(legacy::Legacy::new(ctx));
        }
        Ok(remote)
    }

    pub fn server(&self) -> &str {
        &self.ctx.endpoint.server
    }

    fn legacy(&self) -> Option<Arc<legacy::Legacy>> {
        self.legacy.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Relay a client notification or response. Failures are logged: there
    /// is no request to answer.
    pub async fn send(&self, msg: Message) {
        let method = msg.method();
        if method.is_none() {
            self.ctx.inbound.answered(msg.id());
        }
        // The client answering a request the bridge itself sent (e.g. a
        // connect-link elicitation) is not for the remote.
        if method.is_none() && crate::ids::is_own(msg.id()) {
            self.ctx.inbound.answered_own(msg.value());
            return;
        }
        if self.modern_version().is_some() {
            // The modern revision has no client notifications over HTTP (a
            // cancellation is the closing of the request's stream, done by
            // dropping it) and no server requests to answer.
            if method == Some("notifications/initialized") {
                self.listen_for_legacy_client();
            } else {
                tracing::debug!(
                    server = self.server(),
                    "not sent to a 2026-07-28 server: {}",
                    method.unwrap_or("a response")
                );
            }
            return;
        }
        let result = match self.legacy() {
            Some(legacy) => legacy.send(&msg).await,
            None => self.streamable.send(&msg).await,
        };
        if let Err(e) = result {
            let what = method.unwrap_or("response");
            tracing::warn!(
                "{}",
                self.ctx
                    .redact(&format!("server `{}`: could not deliver {what}: {e}", self.server()))
            );
        }
        if method == Some("notifications/initialized") {
            *self.ctx.initialized.lock().unwrap_or_else(|e| e.into_inner()) = true;
            if self.legacy().is_none() {
                self.streamable.listen();
            }
        }
    }

    /// The client cancelled request `id`: stop waiting for it, quietly (no
    /// answer goes to the client, per the spec). The caller forwards the
    /// client's `notifications/cancelled` itself with `send`, unchanged.
    pub fn cancelled(&self, id: &Value) {
        self.ctx.inbound.cancelled(id);
    }

    /// The client is gone (stdin closed): answer the server's requests it
    /// left unanswered with an error, so the remote's tools stop waiting and
    /// in-flight calls can finish.
    pub async fn client_gone(&self) {
        self.ctx.inbound.client_gone();
        for id in self.ctx.inbound.take_unanswered() {
            let err = jsonrpc::error(
                id,
                jsonrpc::INTERNAL_ERROR,
                "the client disconnected before answering",
                None,
            );
            self.send(err.into()).await;
        }
    }

    /// End the remote session (DELETE) and stop background streams.
    pub async fn close(&self) {
        self.stop_listening();
        if let Some(legacy) = self.legacy() {
            legacy.close();
        }
        self.streamable.close().await;
    }
}

impl Upstream for Remote {
    fn request<'a>(&'a self, msg: &'a Message) -> futures::future::BoxFuture<'a, Option<Value>> {
        Box::pin(Remote::request(self, msg))
    }

    fn request_own(&self, msg: Value) -> futures::future::BoxFuture<'_, Result<Value, String>> {
        Box::pin(async move {
            let msg = Message::from_value(msg);
            // The client's handshake replayed: a modern remote has none.
            if msg.method() == Some("initialize")
                && let Some(answer) = self.replayed_initialize(&msg).await.map_err(|e| e.to_string())?
            {
                return Ok(answer);
            }
            self.request_internal(msg.into_value()).await.map_err(|e| e.to_string())
        })
    }

    fn send(&self, msg: Message) -> futures::future::BoxFuture<'_, ()> {
        Box::pin(Remote::send(self, msg))
    }
}
