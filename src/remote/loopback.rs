//! The way to a remote on this machine over plain HTTP (a local MCP server,
//! the sandbox): requests go straight to hyper's pooled HTTP/1.1 client.
//!
//! reqwest wraps every request in layers that pay off across a network:
//! redirect handling (which turns the request's URI into text and parses it
//! as a URL again, twice per request), retries, TLS and proxies. None of them
//! applies on loopback, yet there they are most of what a relayed call
//! costs the bridge, since the remote answers in microseconds. The request is
//! still built by reqwest (the same headers, body and credentials on both
//! ways), and the answer comes back as a `reqwest::Response`, so the rest of
//! the bridge reads it the same way. A redirect is left to reqwest.

use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use reqwest::{RequestBuilder, Response, ResponseBuilderExt};
use std::sync::OnceLock;
use std::time::Duration;
use url::Url;

pub struct Loopback {
    client: Client<HttpConnector, reqwest::Body>,
    /// reqwest's general client, for what goes its way (made on first use:
    /// loading the platform's root certificates is most of a start-up).
    general: OnceLock<Result<reqwest::Client, String>>,
    /// The remote's URL, which each response carries (as reqwest's do);
    /// without it reqwest would parse a placeholder URL for every one.
    url: http::Extensions,
}

impl Loopback {
    /// The loopback way to `url`, if it is `http://` on this machine (no
    /// proxy ever applies there: see `net`).
    pub fn to(url: &Url, connect_timeout: Duration, idle: Duration) -> Option<Loopback> {
        if !is_plain_loopback(url) {
            return None;
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(connect_timeout));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(idle)
            .pool_timer(TokioTimer::new())
            .build(connector);
        let mut url_only = http::Response::builder().url(url.clone()).body(()).ok()?;
        let url = std::mem::take(url_only.extensions_mut());
        Some(Loopback {
            client,
            general: OnceLock::new(),
            url,
        })
    }

    /// A client to build this remote's requests with (they are sent the
    /// loopback way, or by [`general`](Self::general)): it loads no
    /// certificates, as it never speaks TLS.
    pub fn builder() -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .tls_certs_only([])
            .build()
            .unwrap_or_default()
    }

    /// reqwest's general client, for a request that goes its way.
    pub fn general(&self) -> Result<&reqwest::Client, String> {
        self.general
            .get_or_init(super::general_client)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Send `req`; None when it is for reqwest after all: it goes elsewhere
    /// than this machine (a legacy server can name any message endpoint), or
    /// the answer is a redirect, which reqwest follows. An error is text with
    /// no URL in it.
    pub async fn send(&self, req: RequestBuilder) -> Result<Option<Response>, String> {
        let req = req.build().map_err(crate::redact::http_error_text)?;
        if !is_plain_loopback(req.url()) {
            return Ok(None);
        }
        let req = http::Request::try_from(req).map_err(crate::redact::http_error_text)?;
        let resp = self.client.request(req).await.map_err(|e| {
            // As reqwest words it; no URL in any of it.
            format!("error sending request: {}", crate::redact::with_causes(&e))
        })?;
        if resp.status().is_redirection() {
            return Ok(None);
        }
        let (mut parts, body) = resp.into_parts();
        parts.extensions.extend(self.url.clone());
        Ok(Some(Response::from(http::Response::from_parts(
            parts,
            reqwest::Body::wrap(body),
        ))))
    }
}

fn is_plain_loopback(url: &Url) -> bool {
    url.scheme() == "http" && crate::net::is_loopback(url)
}
