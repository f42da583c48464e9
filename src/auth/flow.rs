//! Starting a sign-in: discovery, scopes, client identity, the loopback
//! listener and the authorize URL, recorded as the store's pending sign-in
//! under the store's lock, so bridges started side by side make one
//! registration and send the person to one browser tab.
//!
//! rmcp's `AuthorizationManager` registers the client (RFC 7591) and builds
//! the authorize URL (PKCE S256, `state`, RFC 8707 `resource`, scopes); a
//! small `StateStore` hands us the PKCE verifier and state it generated, and
//! what it recorded about the issuer the response must come from (RFC 9207).
//! The `resource` in the URL is set to the protected-resource metadata's,
//! exactly as written (rmcp's own would be the URL re-serialised, with a
//! trailing slash added to a bare origin).

use super::OAuth;
use super::discovery::{self, Discovered};
use super::grant::{Exchange, Progress};
use super::oauth_http::OAuthHttp;
use super::record::{self, Client, Pending};
use super::{callback, issuer};
use crate::store::{Record, now};
use rmcp::transport::auth::{AuthError, AuthorizationManager, StateStore, StoredAuthorizationState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// This process's sign-in in progress.
pub struct Attempt {
    pub url: String,
    pub scopes: Vec<String>,
    pub expires: Instant,
    pub done: watch::Receiver<Progress>,
}

/// What the caller wants from `begin`.
pub struct Want {
    pub open_browser: bool,
    /// Scopes to ask for (a step-up); `None` selects them from discovery.
    pub scopes: Option<Vec<String>>,
    /// Start a new sign-in even if one is already waiting.
    pub fresh: bool,
    pub timeout: Duration,
}

/// A sign-in to send the person to.
pub struct Begun {
    pub url: String,
    /// Whether this call opened the browser.
    pub opened: bool,
    /// Progress of this process's sign-in (`None`: another process owns it).
    pub done: Option<watch::Receiver<Progress>>,
}

/// What rmcp generated and recorded for an authorize URL.
struct Captured {
    state: String,
    verifier: String,
    expected: issuer::Expected,
}

/// Receives the PKCE verifier, state and expected issuer rmcp records for the URL.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Option<Captured>>>);

#[async_trait::async_trait]
impl StateStore for Capture {
    async fn save(&self, csrf_token: &str, state: StoredAuthorizationState) -> Result<(), AuthError> {
        let expected = issuer::Expected {
            issuer: state.expected_issuer.clone(),
            required: state.require_issuer,
        };
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(Captured {
            state: csrf_token.to_string(),
            verifier: state.pkce_verifier,
            expected,
        });
        Ok(())
    }
    async fn load(&self, _csrf_token: &str) -> Result<Option<StoredAuthorizationState>, AuthError> {
        Ok(None)
    }
    async fn delete(&self, _csrf_token: &str) -> Result<(), AuthError> {
        Ok(())
    }
}

fn port_of(uri: &str) -> Option<u16> {
    url::Url::parse(uri).ok()?.port()
}

/// `url` with its `resource` parameter set to `resource`, exactly.
fn with_resource(url: &str, resource: &str) -> Result<String, String> {
    let mut u = url::Url::parse(url).map_err(|e| format!("rmcp built a bad authorize URL: {e}"))?;
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| k != "resource")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    u.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair("resource", resource);
    Ok(u.to_string())
}

impl OAuth {
    fn io(&self, e: std::io::Error) -> String {
        format!("token store ({}): {e}", self.store.dir().display())
    }

    /// Start a sign-in, or join the one already waiting (in this process or
    /// another), and return its URL.
    pub async fn begin(self: &Arc<Self>, want: Want) -> Result<Begun, String> {
        let mut slot = self.attempt.lock().await;
        if let Some(a) = slot.as_ref() {
            let alive = a.expires > Instant::now() && *a.done.borrow() == Progress::Waiting;
            let enough = want
                .scopes
                .as_ref()
                .is_none_or(|w| w.iter().all(|s| a.scopes.contains(s)));
            if alive && enough && !want.fresh {
                return Ok(Begun {
                    url: a.url.clone(),
                    opened: false,
                    done: Some(a.done.clone()),
                });
            }
        }
        let name = self.name().to_string();
        let lock = self.store.lock(&name).await.map_err(|e| self.io(e))?;
        let mut rec = self.store.load(&name).map_err(|e| self.io(e))?.unwrap_or_default();
        if !want.fresh
            && want.scopes.is_none()
            && let Some(p) = record::live_pending(&rec)
        {
            tracing::info!(pid = p.pid, "joining the sign-in another mcp-bridge started");
            return Ok(Begun {
                url: p.url,
                opened: false,
                done: None,
            });
        }
        let challenge = match self.last_challenge() {
            Some(c) => Some(c),
            None => discovery::probe(self.http()?, &self.settings).await?,
        };
        let d = discovery::discover(self.http()?, &self.settings, challenge.as_deref()).await?;
        discovery::require_s256(&d)?;
        self.check_endpoints(&d)?;
        let challenge_scope = challenge
            .as_deref()
            .and_then(|c| discovery::parse_challenge(&self.settings, c).scope);
        let scopes = want
            .scopes
            .clone()
            .unwrap_or_else(|| discovery::select_scopes(challenge_scope.as_deref(), &d, &self.settings.scopes));
        let key = record::server_key(d.metadata.issuer.as_deref(), &d.metadata.token_endpoint);
        let listener = self.listen(&rec, &key).await?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let redirect_uri = format!("http://127.0.0.1:{port}/callback");
        // Registration through the sign-in's own client, which follows no redirect.
        let registration = d.metadata.registration_endpoint.as_deref().unwrap_or_default();
        let http = Arc::new(OAuthHttp::tapping(self.http()?.clone(), registration));
        let mut mgr = AuthorizationManager::new_with_oauth_http_client(d.resource.as_str(), http.clone())
            .await
            .map_err(|e| self.auth_error(e))?;
        mgr.set_metadata(d.metadata.clone());
        let capture = Capture::default();
        mgr.set_state_store(capture.clone());
        let client = self.client(&mut mgr, &http, &rec, &d, &redirect_uri, &scopes).await?;
        let refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let url = mgr.get_authorization_url(&refs).await.map_err(|e| self.auth_error(e))?;
        let resource = d.resource.clone();
        let url = with_resource(&url, &resource)?;
        let Captured {
            state,
            verifier,
            expected,
        } = capture
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or("rmcp produced no authorization state")?;
        let timeout = want.timeout;
        self.record_start(
            &mut rec,
            &d,
            &client,
            &resource,
            Pending {
                url: url.clone(),
                port,
                pid: std::process::id(),
                expires_at: now() + timeout.as_secs(),
            },
        );
        self.store.save(&name, &rec).map_err(|e| self.io(e))?;
        drop(lock);

        let (tx, rx) = watch::channel(Progress::Waiting);
        let exchange = Exchange {
            url: url.clone(),
            state,
            verifier,
            redirect_uri,
            client: self.effective(client),
            token_endpoint: d.metadata.token_endpoint.clone(),
            expected,
            resource,
            scopes: scopes.clone(),
        };
        let me = self.clone();
        tokio::spawn(async move { me.complete(listener, exchange, tx, timeout).await });
        let opened = want.open_browser
            && crate::browser::open(&url)
                .map_err(|e| tracing::warn!("{e}; open the sign-in link yourself"))
                .is_ok();
        *slot = Some(Attempt {
            url: url.clone(),
            scopes,
            expires: Instant::now() + timeout,
            done: rx.clone(),
        });
        Ok(Begun {
            url,
            opened,
            done: Some(rx),
        })
    }

    /// The sign-in page, which the browser is sent to, must pass its gate
    /// whatever `allow_http` says; the endpoints that take secrets, https
    /// (`OAuth::check_transport`).
    fn check_endpoints(&self, d: &Discovered) -> Result<(), String> {
        crate::browser::check(&d.metadata.authorization_endpoint).map_err(|e| {
            format!(
                "the authorization server's `authorization_endpoint` cannot be the sign-in page ({e}); check `url` of [servers.{}]",
                self.name()
            )
        })?;
        self.check_transport(d)
    }

    pub(super) fn auth_error(&self, e: AuthError) -> String {
        self.settings.redactor.apply(&e.to_string())
    }

    /// The callback listener: `callback_port`, else the port the client
    /// registered with authorization server `key` names (so it stays valid),
    /// else a free one.
    async fn listen(&self, rec: &Record, key: &str) -> Result<tokio::net::TcpListener, String> {
        if let Some(p) = self.settings.callback_port {
            return callback::bind(Some(p)).await.map_err(|e| {
                format!(
                    "cannot listen on 127.0.0.1:{p} for the sign-in (`callback_port` of [servers.{}]): {e}",
                    self.name()
                )
            });
        }
        let registered = record::registration(&record::oauth(rec), key)
            .and_then(|c| c.redirect_uri)
            .and_then(|u| port_of(&u));
        if let Some(p) = registered
            && let Ok(l) = callback::bind(Some(p)).await
        {
            return Ok(l);
        }
        callback::bind(None)
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1 for the sign-in: {e}"))
    }

    /// Write what the sign-in needs later (endpoints, client, pending) into
    /// `rec`. Tokens from another server, or another authorization server,
    /// are dropped: they must never be refreshed at this one.
    fn record_start(&self, rec: &mut Record, d: &Discovered, client: &Client, resource: &str, pending: Pending) {
        let url = self.settings.canonical_url();
        let mut o = record::oauth(rec);
        if o.server_url.as_deref() != Some(url.as_str()) || o.issuer != d.metadata.issuer {
            record::clear_tokens(rec);
        }
        if client.dynamic {
            o.registrations.insert(client.key(), client.clone());
        }
        o.server_url = Some(url);
        o.resource = Some(resource.to_string());
        o.issuer = d.metadata.issuer.clone();
        o.token_endpoint = Some(d.metadata.token_endpoint.clone());
        o.revocation_endpoint = d
            .metadata
            .additional_fields
            .get("revocation_endpoint")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        o.client = Some(client.clone());
        o.pending = Some(pending);
        record::set_oauth(rec, &o);
    }
}
