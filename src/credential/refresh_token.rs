//! An OAuth access token with a rotating refresh token (Zapier's white-label
//! MCP tokens). The token is sent as Bearer; after a 401 the refresh token
//! is exchanged (`grant_type=refresh_token`, form-encoded, with the client's
//! id and secret) and the new pair is written to the token store at once,
//! atomically, because the old refresh token stops working.
//!
//! The config holds the first pair. Once rotated, the stored pair wins for
//! as long as the config's refresh token is unchanged; putting new tokens in
//! the config starts over from them.

use super::token_source::{TokenBody, TokenClient, bearer_of};
use super::{Auth, Credential, CredentialError, Retry};
use crate::store::{Record, now};
use futures::future::BoxFuture;
use serde_json::{Value, json};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

#[derive(Debug, Clone)]
struct Pair {
    access: String,
    refresh: String,
}

pub struct RefreshingToken {
    client: TokenClient,
    /// Identifies the config's refresh token, so a stored pair descended from
    /// another one is ignored.
    seed: String,
    current: Mutex<Pair>,
    refreshing: tokio::sync::Mutex<()>,
    /// What to do when the refresh token is refused.
    relogin: String,
}

/// A stable, non-reversible tag for the config's refresh token.
fn fingerprint(secret: &str) -> String {
    let mut h = std::hash::DefaultHasher::new();
    secret.hash(&mut h);
    format!("{:016x}", h.finish())
}

pub struct RefreshingTokenConfig {
    pub client: TokenClient,
    pub access_token: String,
    pub refresh_token: String,
    /// What the person does when the refresh token is refused (how new
    /// tokens are had depends on the provider).
    pub relogin: String,
}

impl RefreshingToken {
    pub fn new(c: RefreshingTokenConfig) -> Self {
        let seed = fingerprint(&c.refresh_token);
        let me = Self {
            client: c.client,
            seed,
            current: Mutex::new(Pair {
                access: c.access_token,
                refresh: c.refresh_token,
            }),
            refreshing: tokio::sync::Mutex::new(()),
            relogin: c.relogin,
        };
        if let Some(pair) = me.stored() {
            tracing::debug!(server = %me.client.server, "using the rotated tokens from the token store");
            *me.current.lock().unwrap_or_else(|e| e.into_inner()) = pair;
        }
        me
    }

    /// The pair in the store, if it descends from the config's tokens.
    fn stored(&self) -> Option<Pair> {
        let rec = self.client.store.load(&self.client.server).ok().flatten()?;
        if rec.extra.get("seed").and_then(Value::as_str) != Some(self.seed.as_str()) {
            return None;
        }
        let pair = Pair {
            access: rec.access_token?,
            refresh: rec.refresh_token?,
        };
        self.client.endpoint.add_secret(&pair.access);
        self.client.endpoint.add_secret(&pair.refresh);
        Some(pair)
    }

    fn pair(&self) -> Pair {
        self.current.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn login_advice(&self) -> String {
        self.relogin.clone()
    }

    /// Replace the access token `stale`: adopt one another task or process
    /// already got, else exchange the refresh token and store the new pair.
    async fn refresh(&self, stale: &str) -> Result<(), CredentialError> {
        let _one_task = self.refreshing.lock().await;
        if self.pair().access != stale {
            return Ok(());
        }
        let lock = self.client.store.lock(&self.client.server).await.map_err(|e| {
            CredentialError(format!(
                "server `{}`: cannot lock the token store to refresh the {} token ({e})",
                self.client.server, self.client.provider
            ))
        })?;
        if let Some(pair) = self.stored().filter(|p| p.access != stale) {
            tracing::debug!(server = %self.client.server, "another bridge already refreshed the token");
            *self.current.lock().unwrap_or_else(|e| e.into_inner()) = pair;
            return Ok(());
        }
        let old = self.pair();
        tracing::info!(server = %self.client.server, "{} refused the access token; refreshing it", self.client.provider);
        let form = vec![
            ("grant_type", "refresh_token".to_string()),
            ("refresh_token", old.refresh.clone()),
            ("client_id", self.client.client_id.clone()),
            ("client_secret", self.client.client_secret.clone()),
        ];
        let got = self.client.endpoint.request(TokenBody::Form(form)).await.map_err(|e| {
            CredentialError(format!(
                "server `{}`: the {} access token expired and refreshing it failed ({e}); {}",
                self.client.server,
                self.client.provider,
                self.login_advice()
            ))
        })?;
        let pair = Pair {
            access: got.access_token.clone(),
            // A server that does not rotate keeps the old refresh token valid.
            refresh: got.refresh_token.clone().unwrap_or(old.refresh),
        };
        let mut rec = Record {
            access_token: Some(pair.access.clone()),
            refresh_token: Some(pair.refresh.clone()),
            expires_at: got.expires_in.map(|s| now().saturating_add(s)),
            scope: got.scope.clone(),
            ..Default::default()
        };
        rec.extra.insert("seed".into(), json!(self.seed));
        // The old refresh token is dead now: the new pair must reach the disk
        // before anything else happens.
        self.client.store.save(&self.client.server, &rec).map_err(|e| {
            CredentialError(format!(
                "server `{}`: the {} token was refreshed but cannot be saved in the token store ({e}); \
                 fix the store directory's permissions, then {}",
                self.client.server,
                self.client.provider,
                self.login_advice()
            ))
        })?;
        drop(lock);
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = pair;
        Ok(())
    }
}

impl Credential for RefreshingToken {
    fn auth(&self) -> BoxFuture<'_, Result<Auth, CredentialError>> {
        Box::pin(async move { Auth::bearer(&self.pair().access) })
    }

    fn unauthorized<'a>(
        &'a self,
        used: &'a Auth,
        _challenge: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Retry, CredentialError>> {
        Box::pin(async move {
            self.refresh(bearer_of(used).unwrap_or("")).await?;
            Ok(Retry::Replay)
        })
    }

    /// The config's refresh token (by its fingerprint) and client: every
    /// rotated pair descends from it, for the same person.
    fn identity(&self) -> Option<String> {
        Some(format!("refresh {} {}", self.client.client_id, self.seed))
    }

    fn unauthorized_hint(&self) -> String {
        format!(
            "{} refused even a freshly refreshed access token; {}",
            self.client.provider,
            self.login_advice()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{RefreshingToken, RefreshingTokenConfig, fingerprint};
    use crate::credential::Credential;
    use crate::credential::token_source::{TokenClient, TokenEndpoint};
    use crate::redact::Redactor;

    fn credential(store: &std::path::Path, client_id: &str, refresh: &str) -> RefreshingToken {
        let url = url::Url::parse("https://tokens.example/oauth/token").unwrap();
        RefreshingToken::new(RefreshingTokenConfig {
            client: TokenClient {
                server: "zapier".into(),
                provider: "Zapier",
                endpoint: TokenEndpoint::new(url, Redactor::new()).unwrap(),
                client_id: client_id.into(),
                client_secret: "client-secret".into(),
                store: crate::store::Store::at(store),
            },
            access_token: "access-1".into(),
            refresh_token: refresh.into(),
            relogin: String::new(),
        })
    }

    /// What the bridge keeps for one person (the list cache) is told apart
    /// by the tokens the config gives, never by the tokens themselves.
    #[test]
    fn each_configured_refresh_token_is_an_identity_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let who = |client: &str, refresh: &str| credential(dir.path(), client, refresh).identity();
        let a = who("client-1", "rt_person_a").expect("an identity");
        assert_eq!(who("client-1", "rt_person_a").as_ref(), Some(&a));
        assert_ne!(who("client-1", "rt_person_b").as_ref(), Some(&a));
        assert_ne!(who("client-2", "rt_person_a").as_ref(), Some(&a));
        assert!(!a.contains("rt_person_a") && !a.contains("access-1"), "{a}");
    }

    #[test]
    fn fingerprint_is_stable_and_hides_the_token() {
        assert_eq!(fingerprint("rt_abc"), fingerprint("rt_abc"));
        assert_ne!(fingerprint("rt_abc"), fingerprint("rt_abd"));
        assert!(!fingerprint("rt_abc").contains("rt_abc"));
    }
}
