//! Why a message could not be delivered or answered (`RemoteError`), and
//! what the person can do about it: the text of every error the bridge
//! answers a request with in a server's name.

use super::endpoint::Endpoint;
use crate::jsonrpc;
use crate::redact::display_url;
use serde_json::{Value, json};
use std::time::Duration;

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
    #[error("no protocol version in common: {0}")]
    NoCommonVersion(String),
    #[error("the session expired and could not be re-established: {0}")]
    SessionLost(String),
    #[error("no answer within {0:?} (raise `timeout` for this server in the config)")]
    Timeout(Duration),
    #[error(
        "mcp-bridge is stopping (told to by a signal, or the client closed its input) and stopped waiting for the answer"
    )]
    Stopping,
}

fn body_suffix(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

impl RemoteError {
    /// The error answer to request `id`, in the name of the server at `ep`:
    /// what went wrong and what fixes it, redacted (and logged).
    pub(super) fn answer(&self, id: &Value, ep: &Endpoint) -> Value {
        // The provider's own reading of the status comes first (e.g. Zapier:
        // 404 means the connection token expired).
        let fix = self
            .status()
            .and_then(|s| ep.credential.status_hint(s))
            .or_else(|| self.fix(&ep.server))
            .map(|f| format!(". To fix: {f}"))
            .unwrap_or_default();
        let message = ep.redactor.apply(&format!(
            "mcp-bridge: server `{}` ({}): {self}{fix}",
            ep.server,
            display_url(&ep.url)
        ));
        tracing::warn!(target: crate::logging::ANSWERED_ERROR, "{message}");
        let data = json!({ "server": ep.server, "url": display_url(&ep.url) });
        jsonrpc::error(id.clone(), self.code(), message, Some(data))
    }

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
            // A redirect is followed only within the origin (the request
            // carries the credentials): one elsewhere ends here.
            RemoteError::Status { status: 300..=399, .. } => Some(format!(
                "a redirect to another origin is not followed (the request carries the credentials): \
                 set `url` in [servers.{server}] to the address the server moved to; {check}"
            )),
            RemoteError::Protocol(_) | RemoteError::SessionLost(_) => Some(check),
            RemoteError::NoCommonVersion(_) => Some(
                "a newer mcp-bridge may speak the server's revision (`mcp-bridge --version` shows this one)".into(),
            ),
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
