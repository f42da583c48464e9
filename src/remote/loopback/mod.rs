//! The way to a remote on this machine over plain HTTP (a local MCP server,
//! the sandbox): hyper's HTTP/1.1 client connections over a small pool of
//! the bridge's own (`pool`).
//!
//! reqwest is built for networks: redirect handling (which turns the
//! request's URI into text and parses it as a URL again, twice per
//! request), retries, TLS, proxies. None of that applies on loopback, yet
//! there it is much of what a relayed call costs the bridge, since the
//! remote answers in microseconds. Here the request (an `Outgoing`, as for
//! reqwest: the same headers, body and credentials on both ways) goes to
//! hyper's connection as it is, and the answer comes back as a `Reply`, as
//! reqwest's do, so the rest of the bridge reads it the same way. Framing,
//! both ways, is hyper's. A redirect, or a request for somewhere else, is
//! left to reqwest, whose client is made only then.

mod pool;
#[cfg(test)]
mod tests;

use super::outgoing::Outgoing;
use super::reply::Reply;
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, HOST};
use http::{HeaderMap, HeaderValue, Method, Request};
use http_body_util::Full;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

pub struct Loopback {
    pool: pool::Pool,
    /// The remote's URL, and its host and port: the pool's key for its
    /// connections.
    remote: Url,
    home: Arc<str>,
    connect_timeout: Duration,
}

impl Loopback {
    /// The loopback way to `url`, if it is `http://` on this machine (no
    /// proxy ever applies there: see `net`). A connection idle for `idle`
    /// (at most 4 s) is not used again.
    pub fn to(url: &Url, connect_timeout: Duration, idle: Duration) -> Option<Loopback> {
        if !is_plain_loopback(url) {
            return None;
        }
        Some(Loopback {
            remote: url.clone(),
            home: authority(url).into(),
            pool: pool::Pool::new(idle),
            connect_timeout,
        })
    }

    /// reqwest's general client, for a request that goes its way (the
    /// process's shared one, made on first use: loading the platform's root
    /// certificates is most of a start-up).
    pub fn general(&self) -> Result<reqwest::Client, String> {
        crate::net::shared_client()
    }

    /// Send `req`; None when it is for reqwest after all: it goes elsewhere
    /// than this machine (a legacy server can name any message endpoint),
    /// or the answer is a redirect, which reqwest follows. An error is text
    /// with no URL in it.
    pub async fn send(&self, req: &Outgoing<'_>) -> Result<Option<Reply>, String> {
        if !is_plain_loopback(&req.url) {
            return Ok(None);
        }
        let key = if same_authority(&req.url, &self.remote) {
            self.home.clone()
        } else {
            authority(&req.url).into()
        };
        let mut request = for_hyper(req)?;
        let (sender, response) = loop {
            let (mut sender, pooled) = match self.pool.take(&key) {
                Some(sender) => (sender, true),
                // Boxed: the connect and its timeout are large, and rare.
                None => (Box::pin(pool::connect(&req.url, self.connect_timeout)).await?, false),
            };
            match sender.try_send_request(request).await {
                Ok(response) => break (sender, response),
                // A pooled connection closed before the request went out on
                // it (the server let it go as it was taken): another one.
                Err(mut e) => match e.take_message() {
                    Some(unsent) if pooled => {
                        tracing::debug!("loopback: a pooled connection was closed; another one");
                        request = unsent;
                    }
                    // As reqwest words it; no URL in any of it.
                    _ => {
                        let e = e.into_error();
                        return Err(format!("error sending request: {}", crate::redact::with_causes(&e)));
                    }
                },
            }
        };
        self.pool.put(key, sender);
        let (head, body) = response.into_parts();
        tracing::trace!(method = %&req.method, status = head.status.as_u16(), "loopback response head");
        if head.status.is_redirection() {
            return Ok(None);
        }
        Ok(Some(Reply::Loopback {
            status: head.status,
            headers: head.headers,
            body,
        }))
    }
}

/// `req` as hyper sends it: the path and query as the target, `Host` and
/// `Content-Length` added when missing (hyper adds neither for a request
/// with an empty body).
fn for_hyper(req: &Outgoing<'_>) -> Result<Request<Full<Bytes>>, String> {
    let url = &req.url;
    let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
    let uri = http::Uri::try_from(target).map_err(|e| format!("error building the request: {e}"))?;
    let mut headers = HeaderMap::with_capacity(req.headers.len() + 2);
    for (name, value) in &req.headers {
        headers.append(name.clone(), value.clone());
    }
    if !headers.contains_key(HOST) {
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or("localhost")),
            None => url.host_str().unwrap_or("localhost").to_string(),
        };
        let host = HeaderValue::try_from(host).map_err(|e| format!("error building the request: {e}"))?;
        headers.insert(HOST, host);
    }
    let bodiless = matches!(req.method, Method::GET | Method::HEAD | Method::DELETE);
    if req.body.is_empty() && !bodiless && !headers.contains_key(CONTENT_LENGTH) {
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    }
    let mut request = Request::new(Full::new(req.body.clone()));
    *request.method_mut() = req.method.clone();
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok(request)
}

fn same_authority(a: &Url, b: &Url) -> bool {
    a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

fn authority(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(80)
    )
}

fn is_plain_loopback(url: &Url) -> bool {
    url.scheme() == "http" && crate::net::is_loopback(url)
}
