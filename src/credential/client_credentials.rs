//! A client-credentials access token (Pipedream Connect): fetched from the
//! token endpoint, cached in the token store with its absolute expiry,
//! refreshed a margin before it expires and once after a 401.
//!
//! Every fetch happens under the store's advisory lock, after re-reading
//! the store, so bridge processes for the same server that start together
//! make one token request between them.

use super::token_source::{TokenBody, TokenClient, bearer_of};
use super::{Auth, Credential, CredentialError, Retry};
use crate::store::{Record, now};
use futures::future::BoxFuture;
use serde_json::{Value, json};
use std::sync::Mutex;

/// Refresh this many seconds before the token expires.
pub const REFRESH_MARGIN: u64 = 120;
/// The lifetime assumed when the endpoint names none.
const DEFAULT_LIFETIME: u64 = 3600;

#[derive(Debug, Clone)]
struct Current {
    token: String,
    expires_at: u64,
}

pub struct ClientCredentials {
    client: TokenClient,
    current: Mutex<Option<Current>>,
    refreshing: tokio::sync::Mutex<()>,
}

impl ClientCredentials {
    pub fn new(client: TokenClient) -> Self {
        Self {
            client,
            current: Mutex::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// The cached token, if it is good for more than the margin.
    fn fresh(&self) -> Option<String> {
        let cur = self.current.lock().unwrap_or_else(|e| e.into_inner());
        cur.as_ref()
            .filter(|c| c.expires_at > now() + REFRESH_MARGIN)
            .map(|c| c.token.clone())
    }

    fn adopt(&self, token: &str, expires_at: u64) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(Current {
            token: token.to_string(),
            expires_at,
        });
    }

    /// Whether a stored record was issued to this client at this endpoint.
    fn ours(&self, rec: &Record) -> bool {
        rec.extra.get("client_id").and_then(Value::as_str) == Some(self.client.client_id.as_str())
            && rec.extra.get("token_url").and_then(Value::as_str) == Some(self.client.endpoint.url.as_str())
    }

    /// A token other than `stale` that is good for more than the margin:
    /// from memory, from the store (another process may have fetched it), or
    /// from the token endpoint.
    async fn obtain(&self, stale: Option<&str>) -> Result<String, CredentialError> {
        let _one_task = self.refreshing.lock().await;
        if let Some(t) = self.fresh().filter(|t| Some(t.as_str()) != stale) {
            return Ok(t);
        }
        let lock = match self.client.store.lock(&self.client.server).await {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::warn!(server = %self.client.server, "cannot lock the token store ({e}); fetching without it");
                None
            }
        };
        let stored = self.client.store.load(&self.client.server).unwrap_or_else(|e| {
            tracing::warn!(server = %self.client.server, "cannot read the token store ({e})");
            None
        });
        if let Some(rec) = stored.as_ref().filter(|r| self.ours(r))
            && let Some(t) = rec.fresh_token(REFRESH_MARGIN).filter(|t| Some(*t) != stale)
        {
            tracing::debug!(server = %self.client.server, "using the access token from the token store");
            self.client.endpoint.add_secret(t);
            self.adopt(t, rec.expires_at.unwrap_or(u64::MAX));
            return Ok(t.to_string());
        }
        tracing::debug!(server = %self.client.server, "requesting a {} access token", self.client.provider);
        let body = json!({
            "grant_type": "client_credentials",
            "client_id": self.client.client_id,
            "client_secret": self.client.client_secret,
        });
        let got = self.client.endpoint.request(TokenBody::Json(body)).await.map_err(|e| {
            CredentialError(format!(
                "server `{}`: cannot get a {} access token: {e}; check `client_id` and `client_secret` \
                 (and `api_base`) for this server in the config",
                self.client.server, self.client.provider
            ))
        })?;
        let expires_at = now().saturating_add(got.expires_in.unwrap_or(DEFAULT_LIFETIME));
        let mut rec = Record {
            access_token: Some(got.access_token.clone()),
            expires_at: Some(expires_at),
            scope: got.scope.clone(),
            ..Default::default()
        };
        rec.extra.insert("client_id".into(), json!(self.client.client_id));
        rec.extra
            .insert("token_url".into(), json!(self.client.endpoint.url.as_str()));
        if let Err(e) = self.client.store.save(&self.client.server, &rec) {
            tracing::warn!(server = %self.client.server, "cannot save the access token in the token store ({e})");
        }
        drop(lock);
        tracing::debug!(
            server = %self.client.server,
            expires_in = got.expires_in.unwrap_or(DEFAULT_LIFETIME),
            "got a {} access token",
            self.client.provider
        );
        self.adopt(&got.access_token, expires_at);
        Ok(got.access_token)
    }
}

impl Credential for ClientCredentials {
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
        _challenge: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Retry, CredentialError>> {
        Box::pin(async move {
            let stale = bearer_of(used).map(str::to_string);
            tracing::info!(server = %self.client.server, "{} refused the access token; fetching a new one", self.client.provider);
            self.obtain(Some(stale.as_deref().unwrap_or(""))).await?;
            Ok(Retry::Replay)
        })
    }

    /// The client the tokens are issued to, at its token endpoint; whom
    /// they act for (Pipedream's `external_user_id`) is a header, which the
    /// list cache's key holds already.
    fn identity(&self) -> Option<String> {
        Some(format!(
            "client {} at {}",
            self.client.client_id, self.client.endpoint.url
        ))
    }

    fn unauthorized_hint(&self) -> String {
        format!(
            "{} refused a freshly issued access token; check `project_id`, `environment` and the \
             client's access to that project",
            self.client.provider
        )
    }
}

#[cfg(test)]
mod tests {
    use super::ClientCredentials;
    use crate::credential::token_source::{TokenClient, TokenEndpoint};
    use crate::credential::{Auth, Credential, CredentialError, Retry};
    use crate::redact::Redactor;
    use futures::future::BoxFuture;

    fn credential(store: &std::path::Path, client_id: &str) -> ClientCredentials {
        let url = url::Url::parse("https://api.example/v1/oauth/token").unwrap();
        ClientCredentials::new(TokenClient {
            server: "pipedream".into(),
            provider: "Pipedream",
            endpoint: TokenEndpoint::new(url, Redactor::new()).unwrap(),
            client_id: client_id.into(),
            client_secret: "client-secret".into(),
            store: crate::store::Store::at(store),
        })
    }

    /// The tokens are the client's own: one client, one identity, and the
    /// secret is no part of it.
    #[test]
    fn the_client_is_the_identity_and_its_secret_is_not_in_it() {
        let dir = tempfile::tempdir().unwrap();
        let a = credential(dir.path(), "client-a").identity().expect("an identity");
        assert_eq!(credential(dir.path(), "client-a").identity().as_ref(), Some(&a));
        assert_ne!(credential(dir.path(), "client-b").identity().as_ref(), Some(&a));
        assert!(!a.contains("client-secret"), "{a}");
    }

    /// A credential that does not say who it is keeps nothing for anyone.
    #[test]
    fn a_credential_that_cannot_tell_who_it_is_has_no_identity() {
        struct Silent;
        impl Credential for Silent {
            fn auth(&self) -> BoxFuture<'_, Result<Auth, CredentialError>> {
                Box::pin(async { Ok(Auth::default()) })
            }
            fn unauthorized<'a>(
                &'a self,
                _used: &'a Auth,
                _challenge: Option<&'a str>,
            ) -> BoxFuture<'a, Result<Retry, CredentialError>> {
                Box::pin(async { Ok(Retry::GiveUp) })
            }
        }
        assert_eq!(Silent.identity(), None);
    }
}
