//! Sign-in with no person at a browser: the grants of the MCP authorization
//! extensions.
//!
//! - `auth = "client_credentials"` (`io.modelcontextprotocol/oauth-client-credentials`,
//!   for a server reached on behalf of a machine): the client authenticates
//!   with its `client_secret` (HTTP Basic where the server takes only that,
//!   else in the body) or with a `private_key_jwt` assertion signed with
//!   `private_key` (RFC 7523).
//! - `auth = "enterprise"` (`io.modelcontextprotocol/enterprise-managed-authorization`,
//!   for a person whose organisation signs them in): the person's `id_token`
//!   from the organisation's identity provider is exchanged there for an
//!   ID-JAG (RFC 8693), which the MCP server's authorization server redeems
//!   for an access token (RFC 7523 `jwt-bearer`).
//!
//! The authorization server is found by the same discovery as a sign-in
//! (`discovery`, with its issuer and `resource` rules), from the server's
//! 401; the token requests are `exchange`'s (rmcp makes them). The access
//! token is kept in the token store with the issuer it came from, reused
//! until a margin before it expires, and fetched again after a 401 (under
//! the store's lock, so bridges started together make one request).

use super::OAuth;
use super::discovery::{self, Discovered};
use super::exchange::Grant;
use super::record::{self, Client, OAuthRecord};
use crate::credential::token_source::bearer_of;
use crate::credential::{Auth, Credential, CredentialError, Retry};
use crate::store::{Record, now};
use futures::future::BoxFuture;
use std::sync::{Arc, Mutex};

/// Fetch a new token this many seconds before the current one expires.
const MARGIN: u64 = 60;
/// The lifetime assumed when the server names none.
const DEFAULT_LIFETIME: u64 = 3600;

/// The credential of an `auth = "client_credentials"` or `"enterprise"` server.
pub struct Unattended {
    oauth: Arc<OAuth>,
    grant: Grant,
    /// The token in use and its absolute expiry.
    current: Mutex<Option<(String, u64)>>,
    /// One fetch at a time in this process.
    fetching: tokio::sync::Mutex<()>,
}

impl Unattended {
    pub fn new(oauth: Arc<OAuth>, grant: Grant) -> Self {
        Self {
            oauth,
            grant,
            current: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    fn fresh(&self) -> Option<String> {
        let cur = self.current.lock().unwrap_or_else(|e| e.into_inner());
        cur.as_ref()
            .filter(|(_, exp)| *exp > now() + MARGIN)
            .map(|(t, _)| t.clone())
    }

    fn adopt(&self, token: &str, expires_at: u64) {
        self.oauth.settings.redactor.add(token.to_string());
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some((token.to_string(), expires_at));
    }

    /// Whether a stored record holds a token issued to this client for this server.
    fn ours(&self, rec: &Record) -> bool {
        let o = record::oauth(rec);
        o.server_url.as_deref() == Some(self.oauth.settings.canonical_url().as_str())
            && o.client
                .is_some_and(|c| c.client_id == self.grant.client_id(&self.oauth))
    }

    fn fail(&self, what: &str, e: impl std::fmt::Display) -> CredentialError {
        self.failed(format!("{what}: {e}"))
    }

    /// The error for the person: which server and grant, and `why`, with
    /// every secret redacted.
    fn failed(&self, why: String) -> CredentialError {
        let s = &self.oauth.settings;
        CredentialError(s.redactor.apply(&format!(
            "server `{}`: cannot get an access token ({} grant): {why}",
            s.server,
            self.grant.name()
        )))
    }

    /// A token other than `stale`: from memory, from the store (another
    /// process may have fetched it), or from the authorization server.
    async fn obtain(&self, stale: Option<&str>) -> Result<String, CredentialError> {
        let _one = self.fetching.lock().await;
        if let Some(t) = self.fresh().filter(|t| Some(t.as_str()) != stale) {
            return Ok(t);
        }
        let o = &self.oauth;
        let lock = o.store.lock(o.name()).await.map_err(|e| self.fail("token store", e))?;
        let rec = o.store.load(o.name()).ok().flatten().unwrap_or_default();
        if self.ours(&rec)
            && let Some(t) = rec.fresh_token(MARGIN).filter(|t| Some(*t) != stale)
        {
            self.adopt(t, rec.expires_at.unwrap_or(u64::MAX));
            return Ok(t.to_string());
        }
        let challenge = match o.last_challenge() {
            Some(c) => Some(c),
            None => discovery::probe(o.http().map_err(|e| self.failed(e))?, &o.settings)
                .await
                .map_err(|e| self.fail("discovery", e))?,
        };
        let d = discovery::discover(o.http().map_err(|e| self.failed(e))?, &o.settings, challenge.as_deref())
            .await
            .map_err(|e| self.fail("discovery", e))?;
        o.check_transport(&d).map_err(|e| self.failed(e))?;
        let scopes = self.scopes(challenge.as_deref(), &d);
        let issued = self.grant.exchange(o, &d, &scopes).await.map_err(|e| self.failed(e))?;
        let expires_at = now().saturating_add(issued.expires_in.unwrap_or(DEFAULT_LIFETIME));
        let mut rec = Record {
            access_token: Some(issued.access_token.clone()),
            expires_at: Some(expires_at),
            scope: issued.scope.or_else(|| (!scopes.is_empty()).then(|| scopes.join(" "))),
            ..rec
        };
        rec.refresh_token = None;
        let client = Client {
            client_id: self.grant.client_id(o).to_string(),
            client_secret: None,
            auth_method: self.grant.name().to_string(),
            redirect_uri: None,
            dynamic: false,
            token_endpoint: d.metadata.token_endpoint.clone(),
            issuer: d.metadata.issuer.clone(),
            configuration_uri: None,
            configuration_token: None,
            secret_expires_at: None,
        };
        record::set_oauth(
            &mut rec,
            &OAuthRecord {
                server_url: Some(o.settings.canonical_url()),
                resource: Some(d.resource.clone()),
                issuer: d.metadata.issuer.clone(),
                token_endpoint: Some(d.metadata.token_endpoint.clone()),
                lifetime: issued.expires_in,
                client: Some(client),
                ..Default::default()
            },
        );
        if let Err(e) = o.store.save(o.name(), &rec) {
            tracing::warn!(
                server = o.name(),
                "cannot save the access token in the token store ({e})"
            );
        }
        drop(lock);
        tracing::info!(server = o.name(), grant = self.grant.name(), "got an access token");
        self.adopt(&issued.access_token, expires_at);
        Ok(issued.access_token)
    }

    /// The configured scopes, else the 401's, else the resource's.
    fn scopes(&self, challenge: Option<&str>, d: &Discovered) -> Vec<String> {
        let s = &self.oauth.settings;
        if !s.scopes.is_empty() {
            return s.scopes.clone();
        }
        let from_challenge: Vec<String> = challenge
            .and_then(|c| discovery::parse_challenge(s, c).scope)
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if !from_challenge.is_empty() {
            return from_challenge;
        }
        d.resource_scopes.clone()
    }
}

impl Credential for Unattended {
    fn auth(&self) -> BoxFuture<'_, Result<Auth, CredentialError>> {
        Box::pin(async move {
            let token = match self.fresh() {
                Some(t) => t,
                None => self.obtain(None).await?,
            };
            Auth::bearer(&token)
        })
    }

    fn unauthorized<'a>(
        &'a self,
        used: &'a Auth,
        challenge: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Retry, CredentialError>> {
        Box::pin(async move {
            if let Some(c) = challenge {
                self.oauth.remember_challenge(c);
            }
            self.obtain(Some(bearer_of(used).unwrap_or(""))).await?;
            Ok(Retry::Replay)
        })
    }

    /// A client-credentials grant's tokens are the client's own; an
    /// enterprise grant's are a person's: whom the token the next request
    /// carries was issued for (its subject), none when it is opaque or
    /// there is no fresh one.
    fn identity(&self) -> Option<String> {
        match &self.grant {
            Grant::ClientCredentials { client_id, .. } => Some(format!("client {client_id}")),
            Grant::Enterprise(_) => {
                let token = self.fresh().or_else(|| {
                    let o = &self.oauth;
                    let rec = o.store.load(o.name()).ok().flatten()?;
                    self.ours(&rec)
                        .then(|| rec.fresh_token(MARGIN).map(str::to_string))
                        .flatten()
                })?;
                super::oauth_credential::token_subject(&token)
            }
        }
    }

    fn unauthorized_hint(&self) -> String {
        let s = &self.oauth.settings;
        format!(
            "server `{}` refused a freshly issued access token; check `client_id` and `scopes` in [servers.{}]",
            s.server, s.server
        )
    }
}
