//! Shared plumbing for credentials whose access token comes from an OAuth
//! token endpoint: posting the token request (JSON or form), reading the
//! answer, wording failures without secrets, and turning a token into
//! `Authorization: Bearer` auth.

use super::{Auth, CredentialError};
use crate::redact::{Redactor, display_url};
use serde::Deserialize;
use std::time::Duration;
use url::Url;

/// The longest the bridge waits for a token endpoint.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest excerpt of a refusal body put in a message.
const EXCERPT: usize = 200;

/// A token endpoint's answer (RFC 6749 §5.1).
#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub scope: Option<String>,
}

/// Why a token request failed. `Display` never includes a secret.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TokenFailure {
    #[error("cannot reach the token endpoint {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the token endpoint {url} answered HTTP {status}{}", excerpt(.body))]
    Refused { url: String, status: u16, body: String },
    #[error("the token endpoint {url} sent an answer without an access token ({reason})")]
    Malformed { url: String, reason: String },
}

fn excerpt(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

/// The body of a token request.
pub enum TokenBody {
    /// `application/json` (Pipedream's client-credentials grant).
    Json(serde_json::Value),
    /// `application/x-www-form-urlencoded` (standard OAuth).
    Form(Vec<(&'static str, String)>),
}

/// A client of a token endpoint: the server it gets tokens for, the
/// provider (named in messages, e.g. "Pipedream"), its credentials, and the
/// store its tokens are kept in, shared with other bridges.
pub struct TokenClient {
    pub server: String,
    pub provider: &'static str,
    pub endpoint: TokenEndpoint,
    pub client_id: String,
    pub client_secret: String,
    pub store: crate::store::Store,
}

/// One token endpoint, with the HTTP client and redactor used to call it.
#[derive(Clone)]
pub struct TokenEndpoint {
    pub url: Url,
    http: reqwest::Client,
    redactor: Redactor,
}

impl TokenEndpoint {
    pub fn new(url: Url, redactor: Redactor) -> Result<Self, CredentialError> {
        // The process's client for token endpoints (no redirect followed); a
        // token request's timeout is its own.
        let http = crate::net::token_client()
            .map_err(|e| CredentialError(format!("cannot build the HTTP client for token requests: {e}")))?;
        Ok(Self { url, http, redactor })
    }

    /// Register a secret learnt elsewhere (e.g. read from the token store).
    pub fn add_secret(&self, secret: &str) {
        self.redactor.add(secret.to_string());
    }

    /// POST `body` and read the token answer. Every access and refresh token
    /// received is registered with the redactor before it is returned.
    pub async fn request(&self, body: TokenBody) -> Result<TokenResponse, TokenFailure> {
        let shown = self.redactor.apply(&display_url(&self.url));
        let req = self
            .http
            .post(self.url.clone())
            .timeout(TOKEN_TIMEOUT)
            .header(http::header::ACCEPT, "application/json");
        let req = match body {
            TokenBody::Json(v) => req.json(&v),
            TokenBody::Form(pairs) => req.form(&pairs),
        };
        let resp = req.send().await.map_err(|e| TokenFailure::Unreachable {
            url: shown.clone(),
            reason: self.redactor.apply(&crate::redact::http_error_text(e)),
        })?;
        let status = resp.status();
        // An error answer is shown by its excerpt, so one too long to read
        // is shown by its status alone.
        let text = match crate::net::small_body(resp).await {
            Ok(body) => String::from_utf8_lossy(&body).into_owned(),
            Err(reason) if status.is_success() => return Err(TokenFailure::Malformed { url: shown, reason }),
            Err(_) => String::new(),
        };
        if !status.is_success() {
            let mut body: String = self.redactor.apply(text.trim()).chars().take(EXCERPT).collect();
            if text.trim().chars().count() > EXCERPT {
                body.push('…');
            }
            return Err(TokenFailure::Refused {
                url: shown,
                status: status.as_u16(),
                body,
            });
        }
        let parsed: TokenResponse = serde_json::from_str(&text).map_err(|e| TokenFailure::Malformed {
            url: shown.clone(),
            reason: e.to_string(),
        })?;
        if parsed.access_token.is_empty() {
            return Err(TokenFailure::Malformed {
                url: shown,
                reason: "`access_token` is empty".into(),
            });
        }
        self.redactor.add(parsed.access_token.clone());
        if let Some(r) = &parsed.refresh_token {
            self.redactor.add(r.clone());
        }
        Ok(parsed)
    }
}

/// The bearer token `auth` carried, if any.
pub fn bearer_of(auth: &Auth) -> Option<&str> {
    auth.headers
        .iter()
        .find(|(k, _)| k == http::header::AUTHORIZATION)
        .and_then(|(_, v)| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_round_trip() {
        let auth = Auth::bearer("t0k").unwrap();
        assert_eq!(bearer_of(&auth), Some("t0k"));
        assert!(auth.headers[0].1.is_sensitive());
        assert_eq!(bearer_of(&Auth::default()), None);
    }
}
