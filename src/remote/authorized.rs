//! The credential step: building a request with the endpoint's headers and
//! the credential's auth, sending it (on the bridge's own connections,
//! `pool`, when no proxy applies, else with reqwest), and replaying it once after a 401 the
//! credential can fix (or a 403 asking for more scope).

use super::error::RemoteError;
use super::outgoing::Outgoing;
use super::pool;
use super::reply::Reply as Response;
use crate::credential::{Auth, Credential, Retry};
use crate::net::{CONNECT_TIMEOUT, POOL_IDLE, shared_client as general_client};
use crate::redact::Redactor;
use std::borrow::Cow;
use std::sync::Arc;
use url::Url;

/// How requests reach a remote.
enum Way {
    /// The bridge's own connections (`pool`), to a remote no proxy
    /// applies to; it makes reqwest's client itself if a request ever
    /// needs it (a redirect).
    Own(pool::Pool),
    /// reqwest's general client, for a remote behind a proxy.
    General(reqwest::Client),
}

/// One server's requests, authorised.
pub(crate) struct Authorized {
    /// Extra headers from the config and the provider.
    headers: http::HeaderMap,
    credential: Arc<dyn Credential>,
    way: Way,
    redactor: Redactor,
}

impl Authorized {
    /// The way to `url`, with `headers` and `credential` on every request.
    pub fn new(
        url: &Url,
        headers: http::HeaderMap,
        credential: Arc<dyn Credential>,
        redactor: Redactor,
    ) -> Result<Authorized, RemoteError> {
        let way = match pool::Pool::to(url, CONNECT_TIMEOUT, POOL_IDLE) {
            Some(own) => Way::Own(own),
            None => Way::General(general_client().map_err(RemoteError::Unreachable)?),
        };
        Ok(Authorized {
            headers,
            credential,
            way,
            redactor,
        })
    }

    /// Get ready for the first requests before they come: open connections
    /// to the remote (TCP and TLS; for HTTP/1.1 two: the handshake's first
    /// request, and the one that goes out beside the next), and let the
    /// credential fetch or refresh
    /// its token if the one it holds is stale. Nothing waits for it; a
    /// failure here is met again, and reported, by the request that needs
    /// it.
    pub fn warm(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if let Way::Own(own) = &self.way {
            own.warm();
        }
        let credential = self.credential.clone();
        runtime.spawn(async move {
            if let Err(e) = credential.auth().await {
                tracing::debug!("no credential ahead of the first request: {}", e.0);
            }
        });
    }

    /// A request to `url` with the configured headers and `auth` applied.
    pub fn build<'u>(&self, method: reqwest::Method, url: &'u Url, auth: &Auth) -> Outgoing<'u> {
        let url = if auth.query.is_empty() {
            Cow::Borrowed(url)
        } else {
            let mut url = url.clone();
            let mut q = url.query_pairs_mut();
            for (k, v) in &auth.query {
                q.append_pair(k, v);
            }
            drop(q);
            Cow::Owned(url)
        };
        let mut req = Outgoing::new(method, url, &self.headers);
        for (k, v) in &auth.headers {
            req = req.header(k.clone(), v.clone());
        }
        req
    }

    /// Send the request `make` builds, with fresh auth; after a 401, let the
    /// credential refresh and replay once.
    pub async fn send_authorized<'u>(&self, make: impl Fn(&Auth) -> Outgoing<'u>) -> Result<Response, RemoteError> {
        let cred = &self.credential;
        let mut replayed = false;
        loop {
            let auth = cred.auth().await.map_err(|e| RemoteError::Credential(e.0))?;
            let resp = self.send(|| make(&auth)).await?;
            let status = resp.status();
            if status != reqwest::StatusCode::UNAUTHORIZED && status != reqwest::StatusCode::FORBIDDEN {
                return Ok(resp);
            }
            let challenge = resp
                .headers()
                .get(http::header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            // A 403 goes to the credential only as a step-up (`insufficient_scope`);
            // otherwise, or if it cannot step up, the 403 is reported as it is.
            let step_up = status == reqwest::StatusCode::FORBIDDEN;
            if step_up && !challenge.as_deref().is_some_and(|c| c.contains("insufficient_scope")) {
                return Ok(resp);
            }
            if !replayed {
                let retry = cred
                    .unauthorized(&auth, challenge.as_deref())
                    .await
                    .map_err(|e| RemoteError::Credential(e.0))?;
                if retry == Retry::Replay {
                    replayed = true;
                    continue;
                }
            }
            if step_up {
                return Ok(resp);
            }
            return Err(RemoteError::Unauthorized {
                hint: cred.unauthorized_hint(),
            });
        }
    }

    /// Send the request `make` builds: on the bridge's own connections when
    /// no proxy applies, else (or to follow a redirect) with reqwest.
    async fn send<'u>(&self, make: impl Fn() -> Outgoing<'u>) -> Result<Response, RemoteError> {
        let req = make();
        req.check().map_err(RemoteError::Unreachable)?;
        let own = match &self.way {
            Way::Own(own) => own,
            // Boxed here and below: these futures are large, and inline
            // they would grow every request's task, the pool's too.
            Way::General(client) => {
                return Box::pin(req.into_reqwest(client).send())
                    .await
                    .map(Response::General)
                    .map_err(|e| self.transport_error(e));
            }
        };
        match own.send(req).await {
            Ok(Some(resp)) => return Ok(resp),
            Ok(None) => {}
            Err(text) => return Err(RemoteError::Unreachable(self.redactor.apply(&text))),
        }
        let general = own.general().map_err(RemoteError::Unreachable)?;
        let req = make()
            .into_reqwest(&general)
            .build()
            .map_err(|e| self.transport_error(e))?;
        Box::pin(general.execute(req))
            .await
            .map(Response::General)
            .map_err(|e| self.transport_error(e))
    }

    /// A transport error as text with no URL (URLs can carry secrets).
    fn transport_error(&self, e: reqwest::Error) -> RemoteError {
        let text = crate::redact::http_error_text(e);
        RemoteError::Unreachable(self.redactor.apply(&text))
    }
}
