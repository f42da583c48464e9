//! A credential with the provider's advice for HTTP statuses that mean
//! something particular at that provider (an expired token answered with
//! 404, a retired endpoint), so the error names the right fix.

use super::{Auth, Credential, CredentialError, Retry};
use futures::future::BoxFuture;
use std::sync::Arc;

pub struct Hinted {
    inner: Arc<dyn Credential>,
    /// Status → what fixes it.
    hints: Vec<(u16, String)>,
}

impl Hinted {
    pub fn new(inner: Arc<dyn Credential>, hints: Vec<(u16, String)>) -> Hinted {
        Hinted { inner, hints }
    }
}

impl Credential for Hinted {
    fn auth(&self) -> BoxFuture<'_, Result<Auth, CredentialError>> {
        self.inner.auth()
    }
    fn unauthorized<'a>(
        &'a self,
        used: &'a Auth,
        challenge: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Retry, CredentialError>> {
        self.inner.unauthorized(used, challenge)
    }
    fn unauthorized_hint(&self) -> String {
        self.inner.unauthorized_hint()
    }
    fn status_hint(&self, status: u16) -> Option<String> {
        self.hints
            .iter()
            .find(|(s, _)| *s == status)
            .map(|(_, h)| h.clone())
            .or_else(|| self.inner.status_hint(status))
    }
}
