//! The HTTP client rmcp's OAuth code is given (dynamic registration, the
//! client-credentials and enterprise exchanges): the bridge's own
//! authorization-server client, so no redirect is ever followed whatever
//! rmcp asks for (a token or registration request re-posted to another
//! origin would carry its secrets there), loopback servers are reached
//! without an environment proxy, and each request has the client's timeout.
//! A body is read up to 1 MiB (`net::small_body`).
//!
//! It can keep the body of the answer from one URL ([`OAuthHttp::tapping`]):
//! rmcp reads only the client ID and secret from a registration response,
//! and the bridge wants its RFC 7592 and expiry fields too.

use rmcp::transport::auth::{OAuthHttpClient, OAuthHttpClientFuture, OAuthHttpRequest};

pub struct OAuthHttp {
    client: reqwest::Client,
    /// A URL whose answer is kept, and the body kept.
    tap: Option<(reqwest::Url, std::sync::Mutex<Option<Vec<u8>>>)>,
}

impl OAuthHttp {
    pub fn new(client: reqwest::Client) -> Self {
        Self { client, tap: None }
    }

    /// A client that keeps the body of the last successful answer from `url`.
    pub fn tapping(client: reqwest::Client, url: &str) -> Self {
        Self {
            client,
            tap: reqwest::Url::parse(url).ok().map(|u| (u, std::sync::Mutex::new(None))),
        }
    }

    /// The kept body, if `url` answered.
    pub fn tapped(&self) -> Option<Vec<u8>> {
        self.tap.as_ref()?.1.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl OAuthHttpClient for OAuthHttp {
    fn execute(&self, request: OAuthHttpRequest) -> OAuthHttpClientFuture<'_> {
        Box::pin(async move {
            let (parts, body) = request.request.into_parts();
            let url = reqwest::Url::parse(&parts.uri.to_string())?;
            let kept = self.tap.as_ref().filter(|(tap, _)| *tap == url).map(|(_, kept)| kept);
            let mut req = self.client.request(parts.method, url).headers(parts.headers).body(body);
            if let Some(t) = request.timeout {
                req = req.timeout(t);
            }
            let resp = req.send().await.map_err(|e| e.without_url())?;
            let mut out = http::Response::builder().status(resp.status());
            for (k, v) in resp.headers() {
                out = out.header(k, v);
            }
            let body = crate::net::small_body(resp)
                .await
                .map_err(|e| format!("the authorization server's answer: {e}"))?;
            if let Some(kept) = kept {
                *kept.lock().unwrap_or_else(|e| e.into_inner()) = Some(body.clone());
            }
            Ok(out.body(body)?)
        })
    }
}
