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
//! 401. rmcp makes the token requests (`exchange_client_credentials`, and
//! `enterprise::EmaExchangeRequest`, which also checks the ID-JAG's
//! bindings) over the bridge's own HTTP client (`oauth_http`). The access
//! token is kept in the token store with the issuer it came from, reused
//! until a margin before it expires, and fetched again after a 401 (under
//! the store's lock, so bridges started together make one request).

use super::discovery::{self, Discovered};
use super::oauth_http::OAuthHttp;
use super::record::{self, Client, OAuthRecord};
use super::{OAuth, token};
use crate::config::{ConfigValue, Resolver};
use crate::credential::{Auth, Credential, CredentialError, Retry};
use crate::store::{Record, now};
use futures::future::BoxFuture;
use oauth2::TokenResponse;
use rmcp::transport::auth::enterprise::{
    EmaAuthorizationServer, EmaClientAuthentication, EmaError, EmaExchangeRequest,
};
use rmcp::transport::auth::{AuthorizationManager, ClientCredentialsConfig, JwtSigningAlgorithm};
use std::sync::{Arc, Mutex};

/// Fetch a new token this many seconds before the current one expires.
const MARGIN: u64 = 60;
/// The lifetime assumed when the server names none.
const DEFAULT_LIFETIME: u64 = 3600;

/// How the client proves itself in the client-credentials grant.
pub enum ClientAuth {
    Secret(String),
    /// A PEM private key (PKCS#8 EC, or RSA) and its algorithm.
    PrivateKey(Vec<u8>, JwtSigningAlgorithm),
}

/// The organisation's identity provider and the person's ID token there.
pub struct Enterprise {
    pub idp_issuer: String,
    /// Looked up in the provider's metadata when not configured.
    pub idp_token_endpoint: Option<String>,
    pub idp_client_id: String,
    pub idp_client_secret: Option<String>,
    /// The `id_token` value as configured, read again for each exchange
    /// (an ID token lives about an hour; a command gives a fresh one).
    pub id_token: ConfigValue,
}

pub enum Grant {
    ClientCredentials { client_id: String, auth: ClientAuth },
    Enterprise(Box<Enterprise>),
}

impl Grant {
    fn client_id<'a>(&'a self, oauth: &'a OAuth) -> &'a str {
        match self {
            Grant::ClientCredentials { client_id, .. } => client_id,
            Grant::Enterprise(_) => oauth.settings.client_id.as_deref().unwrap_or(""),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Grant::ClientCredentials { .. } => "client_credentials",
            Grant::Enterprise(_) => "enterprise",
        }
    }
}

/// The credential of an `auth = "client_credentials"` or `"enterprise"` server.
pub struct Unattended {
    oauth: Arc<OAuth>,
    grant: Grant,
    /// The token in use and its absolute expiry.
    current: Mutex<Option<(String, u64)>>,
    /// One fetch at a time in this process.
    fetching: tokio::sync::Mutex<()>,
}

/// A token the authorization server issued.
struct Issued {
    access_token: String,
    expires_in: Option<u64>,
    scope: Option<String>,
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
        let s = &self.oauth.settings;
        CredentialError(s.redactor.apply(&format!(
            "server `{}`: cannot get an access token ({} grant): {what}: {e}",
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
            None => discovery::probe(o.http(), &o.settings)
                .await
                .map_err(|e| self.fail("discovery", e))?,
        };
        let d = discovery::discover(o.http(), &o.settings, challenge.as_deref())
            .await
            .map_err(|e| self.fail("discovery", e))?;
        let scopes = self.scopes(challenge.as_deref(), &d);
        let issued = match &self.grant {
            Grant::ClientCredentials { client_id, auth } => {
                self.client_credentials(&d, client_id, auth, &scopes).await?
            }
            Grant::Enterprise(e) => self.enterprise(&d, e, &scopes).await?,
        };
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

    fn http(&self) -> OAuthHttp {
        OAuthHttp::new(self.oauth.http().clone())
    }

    async fn client_credentials(
        &self,
        d: &Discovered,
        client_id: &str,
        auth: &ClientAuth,
        scopes: &[String],
    ) -> Result<Issued, CredentialError> {
        let cfg = match auth {
            ClientAuth::Secret(secret) => ClientCredentialsConfig::ClientSecret {
                client_id: client_id.to_string(),
                client_secret: secret.clone(),
                scopes: scopes.to_vec(),
                resource: Some(d.resource.clone()),
            },
            ClientAuth::PrivateKey(pem, alg) => ClientCredentialsConfig::PrivateKeyJwt {
                client_id: client_id.to_string(),
                signing_key: pem.clone(),
                signing_algorithm: *alg,
                token_endpoint_audience: None,
                scopes: scopes.to_vec(),
                resource: Some(d.resource.clone()),
            },
        };
        let mut mgr = AuthorizationManager::new_with_oauth_http_client(d.resource.as_str(), Arc::new(self.http()))
            .await
            .map_err(|e| self.fail("setup", e))?;
        mgr.set_metadata(d.metadata.clone());
        mgr.validate_client_credentials_metadata(&cfg)
            .map_err(|e| self.fail("the authorization server's metadata", e))?;
        mgr.configure_client_credentials(&cfg)
            .map_err(|e| self.fail("setup", e))?;
        // rmcp's exchange future is not `Send` (its private_key_jwt path
        // holds a form serializer across an await), so it is driven on a
        // blocking thread of this runtime.
        let handle = tokio::runtime::Handle::current();
        let t = tokio::task::spawn_blocking(move || handle.block_on(mgr.exchange_client_credentials(&cfg)))
            .await
            .map_err(|e| self.fail("the exchange stopped", e))?
            .map_err(|e| {
                self.fail(
                    "the token endpoint refused (check `client_id` and `client_secret` or `private_key`)",
                    e,
                )
            })?;
        Ok(Issued {
            access_token: t.access_token().secret().clone(),
            expires_in: t.expires_in().map(|d| d.as_secs()),
            scope: t
                .scopes()
                .map(|s| s.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" ")),
        })
    }

    async fn enterprise(&self, d: &Discovered, e: &Enterprise, scopes: &[String]) -> Result<Issued, CredentialError> {
        let s = &self.oauth.settings;
        let idp_token_endpoint = match &e.idp_token_endpoint {
            Some(t) => t.clone(),
            None => {
                discovery::server_metadata(self.oauth.http(), &e.idp_issuer)
                    .await
                    .map_err(|why| self.fail("the identity provider's metadata", why))?
                    .ok_or_else(|| {
                        self.fail(
                            "the identity provider",
                            format!(
                                "`{}` publishes no metadata; set `idp_token_endpoint` in [servers.{}]",
                                e.idp_issuer, s.server
                            ),
                        )
                    })?
                    .token_endpoint
            }
        };
        let idp_auth = match &e.idp_client_secret {
            Some(secret) => EmaClientAuthentication::ClientSecretBasic(oauth2::ClientSecret::new(secret.clone())),
            None => EmaClientAuthentication::None,
        };
        let idp = EmaAuthorizationServer::new(e.idp_issuer.clone(), idp_token_endpoint, e.idp_client_id.clone())
            .with_client_authentication(idp_auth);
        let issuer = d.metadata.issuer.clone().ok_or_else(|| {
            self.fail(
                "the authorization server",
                "it publishes no metadata with an issuer, which the ID-JAG must name",
            )
        })?;
        let client_id = s.client_id.clone().unwrap_or_default();
        let as_auth = match (
            token::auth_method(&d.metadata, s.client_secret.is_some()).as_str(),
            &s.client_secret,
        ) {
            ("client_secret_post", Some(secret)) => {
                EmaClientAuthentication::ClientSecretPost(oauth2::ClientSecret::new(secret.clone()))
            }
            (_, Some(secret)) => EmaClientAuthentication::ClientSecretBasic(oauth2::ClientSecret::new(secret.clone())),
            (_, None) => EmaClientAuthentication::None,
        };
        let resource_as = EmaAuthorizationServer::new(issuer, d.metadata.token_endpoint.clone(), client_id)
            .with_client_authentication(as_auth);
        let id_token = self.id_token(e).await?;
        let http = self.http();
        let t = EmaExchangeRequest::new_with_id_token(idp, resource_as, &d.resource, &id_token)
            .with_scopes(scopes.iter().cloned())
            .exchange(&http, &http)
            .await
            .map_err(|err| self.enterprise_error(err))?;
        let mut granted: Vec<String> = t.scopes.into_iter().collect();
        granted.sort();
        Ok(Issued {
            access_token: t.access_token.secret().clone(),
            expires_in: t.expires_in.map(|d| d.as_secs()),
            scope: (!granted.is_empty()).then(|| granted.join(" ")),
        })
    }

    /// The person's ID token, read from its configured value now.
    async fn id_token(&self, e: &Enterprise) -> Result<String, CredentialError> {
        let (server, value) = (self.oauth.settings.server.clone(), e.id_token.clone());
        let token = tokio::task::spawn_blocking(move || Resolver::new().resolve(&server, "id_token", &value))
            .await
            .map_err(|err| self.fail("`id_token`", err))?
            .map_err(|err| self.fail("`id_token`", err.problem))?;
        self.oauth.settings.redactor.add(token.clone());
        Ok(token)
    }

    fn enterprise_error(&self, e: EmaError) -> CredentialError {
        let hint = match &e {
            EmaError::InvalidGrant(rmcp::transport::auth::enterprise::EmaExchangeStage::IdentityProvider) => {
                "the identity provider refused the ID token (expired?); check `id_token`"
            }
            EmaError::InvalidGrant(_) => "the authorization server refused the ID-JAG",
            EmaError::OAuthRejected {
                code: "invalid_client", ..
            } => "a client was refused; check `client_id`/`client_secret` and `idp_client_id`/`idp_client_secret`",
            _ => "the exchange failed",
        };
        self.fail(hint, e)
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
            let stale = used
                .headers
                .iter()
                .find(|(k, _)| k == http::header::AUTHORIZATION)
                .and_then(|(_, v)| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("")
                .to_string();
            self.obtain(Some(&stale)).await?;
            Ok(Retry::Replay)
        })
    }

    fn unauthorized_hint(&self) -> String {
        let s = &self.oauth.settings;
        format!(
            "server `{}` refused a freshly issued access token; check `client_id` and `scopes` in [servers.{}]",
            s.server, s.server
        )
    }
}
