//! Credentials: what the bridge adds to each request so the remote accepts
//! it, and what it does when the remote says 401.
//!
//! A `Credential` is asked for fresh `Auth` before every request (it may
//! fetch or refresh a token first) and told about each 401 so it can refresh
//! once; the remote session then replays the request.

pub mod client_credentials;
pub mod hinted;
pub mod refresh_token;
pub mod token_source;

use futures::future::BoxFuture;
use http::{HeaderName, HeaderValue};

/// Headers and query parameters that authorise one request.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub query: Vec<(String, String)>,
}

impl Auth {
    /// `Authorization: Bearer <token>`, marked sensitive so it never shows
    /// in debug output.
    pub fn bearer(token: &str) -> Result<Auth, CredentialError> {
        let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| CredentialError("the token holds characters not allowed in a header".into()))?;
        value.set_sensitive(true);
        Ok(Auth {
            headers: vec![(http::header::AUTHORIZATION, value)],
            query: vec![],
        })
    }
}

/// A credential failure, already worded for the person: what went wrong and
/// which key or command fixes it. Never contains a secret.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct CredentialError(pub String);

/// What the credential wants after a 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// It has something new (e.g. a refreshed token): replay the request.
    Replay,
    /// Nothing more to try: report the 401.
    GiveUp,
}

pub trait Credential: Send + Sync {
    /// Auth for the next request.
    fn auth(&self) -> BoxFuture<'_, Result<Auth, CredentialError>>;
    /// The remote answered 401 to a request sent with `used`. `challenge` is
    /// the `WWW-Authenticate` header, if any.
    fn unauthorized<'a>(
        &'a self,
        used: &'a Auth,
        challenge: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Retry, CredentialError>>;
    /// Advice for a final 401: which key or command fixes it.
    fn unauthorized_hint(&self) -> String {
        "check the server's credentials in the config".to_string()
    }
    /// What fixes a final HTTP `status` other than 401 from the server,
    /// when the provider knows what that status means there (Zapier answers
    /// an expired connection token with 404). `None`: the general advice.
    fn status_hint(&self, _status: u16) -> Option<String> {
        None
    }
    /// Who the requests are made as, for what the bridge keeps between runs
    /// for one person (its list cache, the remembered `server/discover`):
    /// `Some` of a text that stays the same for one person and differs
    /// between people; `None` when the credential cannot tell, and nothing
    /// is kept. A credential says who it is on purpose: by default it
    /// cannot tell.
    fn identity(&self) -> Option<String> {
        None
    }
}

/// Fixed headers and query parameters: a static bearer token, an API key
/// header, or nothing at all.
#[derive(Debug, Clone, Default)]
pub struct Static {
    pub auth: Auth,
    pub hint: Option<String>,
}

impl Static {
    pub fn none() -> Self {
        Self::default()
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(token: &str, hint: impl Into<String>) -> Result<Self, CredentialError> {
        Ok(Self {
            auth: Auth::bearer(token)?,
            hint: Some(hint.into()),
        })
    }
}

impl Credential for Static {
    fn auth(&self) -> BoxFuture<'_, Result<Auth, CredentialError>> {
        Box::pin(async move { Ok(self.auth.clone()) })
    }
    fn unauthorized<'a>(
        &'a self,
        _used: &'a Auth,
        _challenge: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Retry, CredentialError>> {
        Box::pin(async { Ok(Retry::GiveUp) })
    }
    /// The token or key itself names whom the requests are for.
    fn identity(&self) -> Option<String> {
        let mut who = String::new();
        for (name, value) in &self.auth.headers {
            who.push_str(&format!("{name}: {}\n", String::from_utf8_lossy(value.as_bytes())));
        }
        for (name, value) in &self.auth.query {
            who.push_str(&format!("?{name}={value}\n"));
        }
        Some(who)
    }
    fn unauthorized_hint(&self) -> String {
        self.hint.clone().unwrap_or_else(|| {
            "the remote wants credentials: set `bearer` or `headers` for this server in the config".into()
        })
    }
}
