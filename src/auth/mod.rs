//! Sign-in to servers that use MCP authorization: `auth = "oauth"` (the
//! person signs in in the browser; revision 2026-07-28, with the 2025-11-25
//! and 2025-03-26 fallbacks), and the extension grants with no browser,
//! `auth = "client_credentials"` and `auth = "enterprise"` ([`unattended`]).
//!
//! How the pieces fit:
//! - [`discovery`] finds the protected-resource and authorization-server
//!   metadata (challenge, well-known paths, RFC 8414 and OIDC, the origin's
//!   own metadata as Pipe2.ai publishes it, then the legacy endpoints);
//!   [`issuer`] holds the rules of which server a document or a browser
//!   coming back belongs to (RFC 8414 §3.3, RFC 9207).
//! - [`flow`] starts a sign-in: scopes, the client identity
//!   ([`registration`]: pre-registered, client ID metadata document, or
//!   dynamic registration, reused and redone after `invalid_client`), the
//!   loopback [`callback`] and the authorize URL (rmcp builds it: PKCE S256,
//!   state, `resource`, scopes). It records the attempt in the token store,
//!   so bridges started side by side share one browser tab.
//! - [`grant`] exchanges the code and refreshes under the store's lock;
//!   [`token`] talks to the token and revocation endpoints; [`oauth_credential`]
//!   puts the token on requests and steps up on `insufficient_scope`.
//! - [`gate`] keeps `serve` answering while signed out ([`offline`] holds
//!   its answers).
//! - [`terminal`] signs in and out for a person at a terminal (`login`,
//!   `logout`) and says a token's state in words (`status`, `doctor`).
//!
//! `provider::prepare` resolves a server's auth keys into [`Settings`] (and,
//! for an extension grant, its [`Grant`]) and attaches the credential (for
//! `"oauth"` with the gate); it is the only way in.
//!
//! rmcp's `auth` feature supplies the metadata types, the challenge parser,
//! dynamic registration, the authorize URL (and what it records about the
//! expected issuer) and the extension grants' token requests, all over the
//! bridge's HTTP client ([`oauth_http`]); discovery and the token endpoint of
//! the authorization-code flow are ours because rmcp's versions differ from
//! what the spec and the conformance suite ask (see `discovery` and `token`
//! for why).

mod callback;
mod discovery;
mod exchange;
mod flow;
pub mod gate;
mod grant;
mod issuer;
mod oauth_credential;
mod oauth_http;
pub mod offline;
mod record;
mod registration;
pub mod terminal;
mod token;
mod unattended;

pub use exchange::{ClientAuth, Enterprise, Grant, SIGNING_ALGORITHMS};
pub use gate::Gate;
pub use oauth_credential::OAuthCredential;
/// The store keys of the answers kept for a signed-out start.
pub use record::{INITIALIZE as CACHED_INITIALIZE, TOOLS as CACHED_TOOLS};
pub use unattended::Unattended;

use crate::redact::Redactor;
use crate::store::{Record, Store};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

/// Environment variable: seconds a sign-in waits for the browser.
pub const LOGIN_TIMEOUT_ENV: &str = "MCP_BRIDGE_LOGIN_TIMEOUT";

/// What the OAuth code needs from one `[servers.<name>]` entry.
#[derive(Clone)]
pub struct Settings {
    pub server: String,
    /// The MCP endpoint, with configured query parameters.
    pub url: Url,
    /// Configured headers, sent on the discovery probe too.
    pub headers: http::HeaderMap,
    pub scopes: Vec<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// The URL of a client ID metadata document identifying the bridge.
    pub client_metadata_url: Option<String>,
    pub callback_port: Option<u16>,
    /// Overrides the RFC 8707 resource indicator.
    pub resource: Option<String>,
    /// `authorization_server`: the issuer discovery must find, the one
    /// the configured client (and its secret or key) belongs to.
    pub authorization_server: Option<String>,
    /// `allow_http = true`: the authorization server's endpoints may be
    /// plain http to another machine.
    pub allow_http: bool,
    pub redactor: Redactor,
}

impl Settings {
    /// The MCP URL without user info, query or fragment: the default
    /// resource (sent to the authorization server) and what stored tokens
    /// are bound to.
    pub fn canonical_url(&self) -> String {
        let mut u = self.url.clone();
        let _ = u.set_username("");
        let _ = u.set_password(None);
        u.set_query(None);
        u.set_fragment(None);
        u.to_string()
    }
}

/// One server's OAuth state in this process, shared by its credential, its
/// gate and the CLI commands.
pub struct OAuth {
    pub settings: Settings,
    pub store: Store,
    /// The client for the authorization server, made at first use (`http`).
    http: std::sync::OnceLock<Result<reqwest::Client, String>>,
    /// The last `WWW-Authenticate` the server sent (seeds discovery).
    challenge: Mutex<Option<String>>,
    /// This process's sign-in in progress.
    attempt: tokio::sync::Mutex<Option<flow::Attempt>>,
    /// Bumped whenever this process stores new tokens.
    signed_in: tokio::sync::watch::Sender<u64>,
    step_ups: std::sync::atomic::AtomicU32,
    /// The record as last read, keyed by the file's identity and mtime.
    snapshot: Mutex<Option<(FileKey, Arc<Record>)>>,
    /// What this process last put in the store under each cache key.
    cached: Mutex<std::collections::HashMap<&'static str, serde_json::Value>>,
}

type FileKey = (Option<std::time::SystemTime>, u64, u64);

fn file_key(m: &std::fs::Metadata) -> FileKey {
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(m);
    #[cfg(not(unix))]
    let ino = 0;
    (m.modified().ok(), m.len(), ino)
}

impl OAuth {
    pub fn new(settings: Settings, store: Store) -> Arc<OAuth> {
        if let Some(s) = &settings.client_secret {
            settings.redactor.add(s.clone());
        }
        Arc::new(OAuth {
            settings,
            store,
            http: std::sync::OnceLock::new(),
            challenge: Mutex::new(None),
            attempt: tokio::sync::Mutex::new(None),
            signed_in: tokio::sync::watch::channel(0).0,
            step_ups: std::sync::atomic::AtomicU32::new(0),
            snapshot: Mutex::new(None),
            cached: Mutex::default(),
        })
    }

    /// The HTTP client for the authorization server: no redirect followed,
    /// 30 s a request. Made at first use, as building one loads the
    /// platform's root certificates and a server whose stored token is still
    /// good never needs it. When it cannot be built (no TLS roots, say),
    /// every step that needs it fails with that reason: no other client
    /// stands in, since a default one would follow redirects.
    fn http(&self) -> Result<&reqwest::Client, String> {
        self.http
            .get_or_init(|| {
                crate::net::proxies(reqwest::Client::builder())
                    .tcp_nodelay(true)
                    .connect_timeout(Duration::from_secs(15))
                    .timeout(Duration::from_secs(30))
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|e| format!("cannot build the HTTP client for the authorization server: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The authorization server's endpoints take the client's secret, the
    /// person's code and tokens: https only (or http to this machine),
    /// unless `allow_http = true` (then with a warning). Checked before any
    /// of them is used, by sign-in and by the unattended grants alike.
    pub(crate) fn check_transport(&self, d: &discovery::Discovered) -> Result<(), String> {
        let m = &d.metadata;
        let revocation = m.additional_fields.get("revocation_endpoint").and_then(|v| v.as_str());
        let endpoints = [
            ("issuer", m.issuer.as_deref()),
            ("token_endpoint", Some(m.token_endpoint.as_str())),
            ("registration_endpoint", m.registration_endpoint.as_deref()),
            ("revocation_endpoint", revocation),
        ];
        for (name, endpoint) in endpoints {
            if let Some(endpoint) = endpoint {
                self.require_https(&format!("the authorization server's `{name}`"), endpoint)?;
            }
        }
        Ok(())
    }

    /// `endpoint` (named `what` in the error) may be sent secrets: https,
    /// http to this machine, or `allow_http = true` (with a warning). Text
    /// that is no URL is left to the request that would use it.
    pub(crate) fn require_https(&self, what: &str, endpoint: &str) -> Result<(), String> {
        let Ok(url) = url::Url::parse(endpoint) else {
            return Ok(());
        };
        if self.settings.allow_http && crate::net::plain_http_elsewhere(&url) {
            crate::net::warn_plain_http(self.name(), what, &url);
        }
        crate::net::require_https(&url, self.settings.allow_http).map_err(|e| {
            format!(
                "{what} {e}; it is refused (set `allow_http = true` in [servers.{}] only if that network is trusted)",
                self.name()
            )
        })
    }

    pub fn name(&self) -> &str {
        &self.settings.server
    }

    /// Remember a challenge from the server for the next sign-in.
    pub fn remember_challenge(&self, challenge: &str) {
        *self.challenge.lock().unwrap_or_else(|e| e.into_inner()) = Some(challenge.to_string());
    }

    fn last_challenge(&self) -> Option<String> {
        self.challenge.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The stored record, re-read only when the file changed (the gate and
    /// the credential look at it for every message).
    pub fn snapshot(&self) -> Arc<Record> {
        let key = std::fs::metadata(self.store.path_of(self.name()))
            .ok()
            .map(|m| file_key(&m));
        let mut cache = self.snapshot.lock().unwrap_or_else(|e| e.into_inner());
        if let (Some(k), Some((cached_key, rec))) = (&key, cache.as_ref())
            && k == cached_key
        {
            return rec.clone();
        }
        let rec = Arc::new(self.store.load(self.name()).ok().flatten().unwrap_or_default());
        *cache = key.map(|k| (k, rec.clone()));
        rec
    }

    /// Whether the store holds a usable token (fresh, or refreshable).
    pub fn is_signed_in(&self) -> bool {
        record::usable(&self.snapshot(), &self.settings.canonical_url())
    }

    /// Notified when this process stores new tokens.
    pub fn watch_sign_in(&self) -> tokio::sync::watch::Receiver<u64> {
        self.signed_in.subscribe()
    }

    /// Waits until the sign-in state is no longer `was`, or this process
    /// completed a new sign-in, and returns the new state: at once for a
    /// sign-in stored by this process (even one that followed a sign-out too
    /// brief to be seen, as when the server moved to another authorization
    /// server), within [`SIGN_IN_POLL`] for one made by another process (or
    /// a sign-out).
    pub async fn sign_in_change(&self, was: bool) -> bool {
        let mut stored = self.watch_sign_in();
        loop {
            let now = self.is_signed_in();
            if now != was {
                return now;
            }
            tokio::select! {
                changed = stored.changed() => {
                    if changed.is_ok() && self.is_signed_in() {
                        return true;
                    }
                }
                _ = tokio::time::sleep(SIGN_IN_POLL) => {}
            }
        }
    }

    /// Keeps a good answer of the server's (`record::INITIALIZE`,
    /// `record::TOOLS`) in the store, for when it is signed out later; the
    /// store is written only when the answer changed.
    pub fn cache(&self, key: &'static str, value: serde_json::Value) {
        if !value.is_object() {
            return; // an MCP result is an object: a remote's odd one is not kept
        }
        {
            let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
            if cached.get(key) == Some(&value) {
                return;
            }
            cached.insert(key, value.clone());
        }
        let store = self.store.clone();
        let name = self.name().to_string();
        tokio::spawn(async move {
            let _ = store
                .update(&name, |r| {
                    r.extra.insert(key.to_string(), value);
                })
                .await;
        });
    }

    fn announce_sign_in(&self) {
        self.signed_in.send_modify(|n| *n += 1);
    }

    /// Advice for when the remote refuses the token.
    pub fn sign_in_hint(&self) -> String {
        format!(
            "not signed in to `{0}` (or the sign-in expired): call one of its tools to get a sign-in link, \
             or run `mcp-bridge login {0}`",
            self.name()
        )
    }
}

/// How often the store is checked for a sign-in made by another process.
const SIGN_IN_POLL: Duration = Duration::from_millis(400);

/// How long a sign-in waits for the browser: `$MCP_BRIDGE_LOGIN_TIMEOUT`
/// seconds (1ms to 24h), else `default`.
pub fn login_timeout(default: Duration) -> Duration {
    let Ok(text) = std::env::var(LOGIN_TIMEOUT_ENV) else {
        return default;
    };
    let parsed = text
        .trim()
        .parse::<f64>()
        .ok()
        .and_then(crate::config::duration_from_secs);
    parsed.unwrap_or_else(|| {
        tracing::warn!(
            "ignoring ${LOGIN_TIMEOUT_ENV}: not a number of seconds from 0.001 to 86400; waiting {}s",
            default.as_secs()
        );
        default
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_url_carries_no_user_info() {
        let settings = Settings {
            server: "s".into(),
            url: Url::parse("https://alice:s3cret@mcp.example.com/mcp?key=1#top").unwrap(),
            headers: http::HeaderMap::new(),
            scopes: vec![],
            client_id: None,
            client_secret: None,
            client_metadata_url: None,
            callback_port: None,
            resource: None,
            authorization_server: None,
            allow_http: false,
            redactor: Redactor::new(),
        };
        assert_eq!(settings.canonical_url(), "https://mcp.example.com/mcp");
    }
}
