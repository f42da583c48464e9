//! The `Credential` of an `auth = "oauth"` server: the stored access token
//! as `Authorization: Bearer`, refreshed shortly before it expires and after
//! a 401, and stepped up after a 403 `insufficient_scope` (a new sign-in for
//! the union of the granted and the demanded scopes, then a replay).
//!
//! A 401 whose protected-resource metadata no longer names the
//! authorization server the tokens came from means the server moved: the
//! tokens are dropped without a refresh (that server's refresh token must
//! not be sent anywhere else), and the sign-in gate signs in again, with
//! discovery and registration at the new server, on the next tool call.

use super::flow::Want;
use super::grant::{Progress, RefreshError};
use super::{OAuth, discovery, login_timeout, record};
use crate::credential::{Auth, Credential, CredentialError, Retry};
use crate::store::now;
use futures::future::BoxFuture;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Step-ups one process tries before it stops asking (a server that keeps
/// demanding a scope it never grants must not loop).
const MAX_STEP_UPS: u32 = 2;

pub struct OAuthCredential {
    oauth: Arc<OAuth>,
}

impl OAuthCredential {
    pub fn new(oauth: Arc<OAuth>) -> Self {
        Self { oauth }
    }

    fn bearer(&self, token: &str) -> Result<Auth, CredentialError> {
        self.oauth.settings.redactor.add(token.to_string());
        Auth::bearer(token)
    }

    async fn current(&self) -> Result<Auth, CredentialError> {
        let o = &self.oauth;
        let rec = o.snapshot();
        if !record::tokens_match(&rec, &o.settings.canonical_url()) {
            return Ok(Auth::default());
        }
        if let Some(t) = rec.fresh_token(record::refresh_margin(&rec)) {
            return self.bearer(t);
        }
        if rec.refresh_token.is_none() {
            return Ok(Auth::default());
        }
        match o.refresh(rec.access_token.as_deref()).await {
            Ok(t) => self.bearer(&t),
            Err(RefreshError::SignedOut) => Ok(Auth::default()),
            // The old token may still be accepted; if not, the 401 path retries.
            Err(RefreshError::Failed(e)) => {
                match rec.access_token.as_deref().filter(|_| rec.expires_at > Some(now())) {
                    Some(t) => self.bearer(t),
                    None => Err(CredentialError(format!("cannot refresh the access token: {e}"))),
                }
            }
        }
    }

    /// Whether the server's metadata (behind `challenge`) no longer names
    /// the authorization server the stored tokens came from.
    async fn moved(&self, challenge: &str) -> Option<String> {
        let o = &self.oauth;
        let issuer = record::oauth(&o.snapshot()).issuer?;
        let named = discovery::named_servers(o.http().ok()?, &o.settings, challenge).await?;
        (!named.is_empty() && !named.contains(&issuer)).then(|| named.join(", ").escape_debug().to_string())
    }

    /// Drop the tokens `used` (unless another process replaced them).
    async fn forget(&self, used: Option<&str>) {
        let o = &self.oauth;
        let _ = o
            .store
            .update(o.name(), |r| {
                if r.access_token.as_deref() == used {
                    record::clear_tokens(r);
                }
            })
            .await;
    }

    async fn after_401(&self, used: &Auth) -> Retry {
        let o = &self.oauth;
        let used = used_token(used);
        let rec = o.store.load(o.name()).ok().flatten().unwrap_or_default();
        if !record::tokens_match(&rec, &o.settings.canonical_url()) {
            return Retry::GiveUp;
        }
        // Another process may have refreshed or signed in meanwhile.
        if let Some(t) = rec.fresh_token(0)
            && Some(t) != used.as_deref()
        {
            return Retry::Replay;
        }
        if rec.refresh_token.is_some() {
            return match o.refresh(used.as_deref()).await {
                Ok(_) => Retry::Replay,
                Err(e) => {
                    tracing::warn!(server = o.name(), "refresh after 401 failed: {e:?}");
                    Retry::GiveUp
                }
            };
        }
        // A refused token with nothing to refresh it: forget it.
        self.forget(used.as_deref()).await;
        Retry::GiveUp
    }

    async fn step_up(&self, demanded: Option<&str>) -> Retry {
        let o = &self.oauth;
        let rec = o.store.load(o.name()).ok().flatten().unwrap_or_default();
        let mut scopes = record::granted(&rec);
        let demanded: Vec<String> = demanded.unwrap_or("").split_whitespace().map(str::to_string).collect();
        if demanded.is_empty() || demanded.iter().all(|s| scopes.contains(s)) {
            tracing::warn!(
                server = o.name(),
                "the server wants scopes the token already has; not asking again"
            );
            return Retry::GiveUp;
        }
        if o.step_ups.fetch_add(1, Ordering::SeqCst) >= MAX_STEP_UPS {
            tracing::warn!(server = o.name(), "step-up limit reached; not asking for more scopes");
            return Retry::GiveUp;
        }
        for s in demanded {
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
        tracing::info!(server = o.name(), scopes = %scopes.join(" "), "the server wants more scopes; signing in again");
        let timeout = login_timeout(Duration::from_secs(120));
        let begun = o
            .begin(Want {
                open_browser: true,
                scopes: Some(scopes),
                fresh: false,
                timeout,
            })
            .await;
        let mut done = match begun {
            Ok(b) => match b.done {
                Some(d) => d,
                None => return Retry::GiveUp,
            },
            Err(e) => {
                tracing::warn!(server = o.name(), "step-up sign-in could not start: {e}");
                return Retry::GiveUp;
            }
        };
        let ended = tokio::time::timeout(timeout, done.wait_for(|p| *p != Progress::Waiting)).await;
        match ended {
            Ok(Ok(p)) if *p == Progress::Done => Retry::Replay,
            _ => Retry::GiveUp,
        }
    }
}

fn used_token(auth: &Auth) -> Option<String> {
    auth.headers
        .iter()
        .find(|(k, _)| k == http::header::AUTHORIZATION)
        .and_then(|(_, v)| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string)
}

impl Credential for OAuthCredential {
    fn auth(&self) -> BoxFuture<'_, Result<Auth, CredentialError>> {
        Box::pin(self.current())
    }

    fn unauthorized<'a>(
        &'a self,
        used: &'a Auth,
        challenge: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Retry, CredentialError>> {
        Box::pin(async move {
            let Some(challenge) = challenge else {
                return Ok(self.after_401(used).await);
            };
            self.oauth.remember_challenge(challenge);
            let params = discovery::parse_challenge(&self.oauth.settings, challenge);
            if params.is_insufficient_scope() {
                return Ok(self.step_up(params.scope.as_deref()).await);
            }
            if let Some(now) = self.moved(challenge).await {
                tracing::warn!(
                    server = self.oauth.name(),
                    "the server now names another authorization server ({now}); \
                     its tokens are dropped and the next tool call signs in there"
                );
                self.forget(used_token(used).as_deref()).await;
                return Ok(Retry::GiveUp);
            }
            Ok(self.after_401(used).await)
        })
    }

    fn unauthorized_hint(&self) -> String {
        self.oauth.sign_in_hint()
    }

    /// The subject (and issuer) of the stored access token when it is a
    /// JWT; an opaque token names no one the bridge can see, so nothing is
    /// kept for it between runs.
    fn identity(&self) -> Option<String> {
        let o = &self.oauth;
        let rec = o.snapshot();
        if !record::tokens_match(&rec, &o.settings.canonical_url()) {
            return None;
        }
        token_subject(rec.access_token.as_deref()?)
    }
}

/// `iss` and `sub` of a JWT's claims, read without checking its signature
/// (the bridge only needs to tell one person's token from another's).
pub(super) fn token_subject(token: &str) -> Option<String> {
    use base64::Engine as _;
    let claims = token.split('.').nth(1)?;
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&claims).ok()?;
    let sub = claims.get("sub")?.as_str()?;
    let iss = claims.get("iss").and_then(serde_json::Value::as_str).unwrap_or("");
    Some(format!("{iss} {sub}"))
}

#[cfg(test)]
mod identity_tests {
    use super::token_subject;

    #[test]
    fn a_jwt_names_its_subject_and_an_opaque_token_no_one() {
        // {"alg":"none"} . {"iss":"https://as.example","sub":"user-42"} . (no signature)
        let jwt = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUiLCJzdWIiOiJ1c2VyLTQyIn0.";
        assert_eq!(token_subject(jwt).as_deref(), Some("https://as.example user-42"));
        assert_eq!(token_subject("opaque-token-1234"), None);
        assert_eq!(token_subject("a.bm90IGpzb24.c"), None);
    }
}
