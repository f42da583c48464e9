//! Getting and keeping tokens: finishing a sign-in when the browser comes
//! back (code exchange with the PKCE verifier and the same `resource`), and
//! refreshing under the token store's lock, so concurrent bridges make one
//! refresh and keep the rotated refresh token. A registration the server no
//! longer knows (`invalid_client`) is dropped here, so the next sign-in
//! registers again.

use super::OAuth;
use super::callback;
use super::record::{self, Client};
use super::token::{self, Tokens};
use crate::store::{Record, now};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How a sign-in is going.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    Waiting,
    Done,
    Failed(String),
}

/// What finishing a sign-in needs.
pub struct Exchange {
    pub url: String,
    pub state: String,
    pub verifier: String,
    pub redirect_uri: String,
    pub client: Client,
    pub token_endpoint: String,
    /// The issuer the browser must come back from (RFC 9207).
    pub expected: super::issuer::Expected,
    pub resource: String,
    pub scopes: Vec<String>,
}

/// Why no fresh token could be had.
#[derive(Debug)]
pub enum RefreshError {
    /// There is nothing to refresh with, or the server refused it: sign in again.
    SignedOut,
    /// It might work later (network, server error).
    Failed(String),
}

impl OAuth {
    /// `client` with the configured secret of a pre-registered client.
    pub fn effective(&self, mut client: Client) -> Client {
        if !client.dynamic {
            client.client_secret = self.settings.client_secret.clone();
        }
        client
    }

    /// Wait for the browser, exchange the code and store the tokens.
    pub async fn complete(
        self: Arc<Self>,
        listener: tokio::net::TcpListener,
        ex: Exchange,
        tx: watch::Sender<Progress>,
        timeout: Duration,
    ) {
        let result = self.finish(listener, &ex, timeout).await;
        let pid = std::process::id();
        // Whatever happened, this process's pending sign-in is over.
        let _ = self
            .store
            .update(self.name(), |r| {
                let mut o = record::oauth(r);
                if o.pending.as_ref().is_some_and(|p| p.pid == pid && p.url == ex.url) {
                    o.pending = None;
                    record::set_oauth(r, &o);
                }
            })
            .await;
        match result {
            Ok(()) => {
                tracing::info!(server = self.name(), "signed in");
                self.announce_sign_in();
                let _ = tx.send(Progress::Done);
            }
            Err(e) => {
                tracing::warn!(server = self.name(), "sign-in failed: {e}");
                let _ = tx.send(Progress::Failed(e));
            }
        }
    }

    async fn finish(&self, listener: tokio::net::TcpListener, ex: &Exchange, timeout: Duration) -> Result<(), String> {
        let cb = callback::wait(listener, &ex.state, &ex.expected, self.name(), timeout).await?;
        if let Some(why) = cb.refused {
            return Err(why);
        }
        if let Some(error) = &cb.error {
            if matches!(error.as_str(), "invalid_client" | "unauthorized_client") {
                self.forget_client(&ex.client).await;
            }
            let more = cb.error_description.as_deref().unwrap_or("");
            return Err(self
                .settings
                .redactor
                .apply(&format!("the authorization server refused: {error} {more}")));
        }
        let code = cb.code.unwrap_or_default();
        let form = vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code),
            ("redirect_uri", ex.redirect_uri.clone()),
            ("code_verifier", ex.verifier.clone()),
            ("resource", ex.resource.clone()),
        ];
        let tokens = match token::request(
            self.http()?,
            &ex.token_endpoint,
            &ex.client,
            form,
            &self.settings.redactor,
        )
        .await
        {
            Ok(t) => t,
            Err(e) if e.is("invalid_client") => {
                self.forget_client(&ex.client).await;
                return Err(format!(
                    "{e}; the registration was dropped, so the next sign-in registers again"
                ));
            }
            Err(e) => return Err(e.to_string()),
        };
        let url = self.settings.canonical_url();
        self.store
            .update(self.name(), |r| {
                let mut o = record::oauth(r);
                o.server_url = Some(url);
                record::set_oauth(r, &o);
                store_tokens(r, &tokens, &ex.scopes, None);
            })
            .await
            .map_err(|e| format!("cannot save the tokens: {e}"))?;
        Ok(())
    }

    /// Drop `client`, a registration the authorization server no longer
    /// knows, from the store (with its tokens, if they were issued to it).
    pub async fn forget_client(&self, client: &Client) {
        let _ = self
            .store
            .update(self.name(), |r| record::forget_registration(r, &client.client_id))
            .await;
    }

    /// A fresh access token, refreshing under the store's lock unless
    /// another process already did. `seen` is the token the caller found stale.
    pub async fn refresh(&self, seen: Option<&str>) -> Result<String, RefreshError> {
        let name = self.name();
        let _lock = self
            .store
            .lock(name)
            .await
            .map_err(|e| RefreshError::Failed(e.to_string()))?;
        let mut rec = self
            .store
            .load(name)
            .map_err(|e| RefreshError::Failed(e.to_string()))?
            .unwrap_or_default();
        if !record::tokens_match(&rec, &self.settings.canonical_url()) {
            return Err(RefreshError::SignedOut);
        }
        if let Some(fresh) = rec.fresh_token(record::refresh_margin(&rec))
            && Some(fresh) != seen
        {
            return Ok(fresh.to_string());
        }
        let o = record::oauth(&rec);
        let (Some(refresh), Some(endpoint), Some(client)) = (rec.refresh_token.clone(), o.token_endpoint, o.client)
        else {
            return Err(RefreshError::SignedOut);
        };
        let client = self.effective(client);
        let mut form = vec![
            ("grant_type", "refresh_token".to_string()),
            ("refresh_token", refresh.clone()),
        ];
        if let Some(r) = o.resource {
            form.push(("resource", r));
        }
        let result = token::request(
            self.http().map_err(RefreshError::Failed)?,
            &endpoint,
            &client,
            form,
            &self.settings.redactor,
        )
        .await;
        let save = |rec: &Record| {
            self.store
                .save(name, rec)
                .map_err(|e| RefreshError::Failed(format!("cannot save the tokens: {e}")))
        };
        match result {
            Ok(t) => {
                let granted = record::granted(&rec);
                store_tokens(&mut rec, &t, &granted, Some(refresh));
                save(&rec)?;
                tracing::info!(server = name, "refreshed the access token");
                Ok(t.access_token)
            }
            Err(e) if e.is("invalid_client") || e.is("unauthorized_client") => {
                tracing::warn!(server = name, "{e}; dropping the registration, sign in again");
                record::clear_client(&mut rec);
                save(&rec)?;
                Err(RefreshError::SignedOut)
            }
            Err(e) if e.is("invalid_grant") => {
                tracing::warn!(server = name, "the refresh token was refused ({e}); sign in again");
                record::clear_tokens(&mut rec);
                save(&rec)?;
                Err(RefreshError::SignedOut)
            }
            Err(e) => Err(RefreshError::Failed(e.to_string())),
        }
    }
}

/// Put a token response into `rec`; an absent refresh token keeps `keep`,
/// an absent scope means what was asked for (RFC 6749 §5.1).
pub fn store_tokens(rec: &mut Record, t: &Tokens, asked: &[String], keep: Option<String>) {
    rec.access_token = Some(t.access_token.clone());
    rec.refresh_token = t.refresh_token.clone().or(keep);
    rec.expires_at = t.expires_in.map(|s| now().saturating_add(s));
    rec.scope = t.scope.clone().or_else(|| (!asked.is_empty()).then(|| asked.join(" ")));
    let mut o = record::oauth(rec);
    o.lifetime = t.expires_in;
    record::set_oauth(rec, &o);
}
