//! The way to a remote on this machine over plain HTTP (a local MCP server,
//! the sandbox): hyper's HTTP/1.1 client connections (`conn`), driven by
//! the task that reads each response, over a small pool of kept-alive ones
//! (`pool`).
//!
//! reqwest is built for networks: redirect handling (which turns the
//! request's URI into text and parses it as a URL again, twice per
//! request), retries, TLS, proxies, and a task per connection that each
//! request and each piece of body is handed to and back from. None of that
//! applies on loopback, yet there it is much of what a relayed call costs
//! the bridge, since the remote answers in microseconds. Here the request
//! (an `Outgoing`, as for reqwest: the same headers, body and credentials
//! on both ways) goes to hyper's connection as it is, and the answer comes
//! back as a `Reply`, as reqwest's do, so the rest of the bridge reads it
//! the same way. Framing, both ways, is hyper's. A redirect, or a request
//! for somewhere else, is left to reqwest, whose client is made only then.

mod conn;
mod pool;
#[cfg(test)]
mod tests;

use super::outgoing::Outgoing;
use super::reply::Reply;
use conn::Request;
use http::header::{CONTENT_LENGTH, HOST};
use http::{HeaderMap, HeaderValue, Method, Uri};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

pub struct Loopback {
    pool: Arc<pool::Pool>,
    /// Boxed: the way is kept beside reqwest's client, a pointer.
    home: Box<Home>,
    connect_timeout: Duration,
}

/// The remote's URL, and what every request to it carries the same, made
/// once.
struct Home {
    url: Url,
    /// Its host and port: the pool's key for its connections.
    key: Arc<str>,
    host: HeaderValue,
    target: Uri,
}

impl Loopback {
    /// The loopback way to `url`, if it is `http://` on this machine (no
    /// proxy ever applies there: see `net`). A connection idle for `idle`
    /// (at most 4 s) is not used again.
    pub fn to(url: &Url, connect_timeout: Duration, idle: Duration) -> Option<Loopback> {
        if !is_plain_loopback(url) {
            return None;
        }
        let home = Box::new(Home {
            url: url.clone(),
            key: authority(url).into(),
            host: host_of(url).ok()?,
            target: target_of(url).ok()?,
        });
        Some(Loopback {
            home,
            pool: Arc::new(pool::Pool::new(idle)),
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
        let home = same_authority(&req.url, &self.home.url);
        let key = if home {
            self.home.key.clone()
        } else {
            authority(&req.url).into()
        };
        let mut request = self.for_hyper(req, home)?;
        let (conn, response) = loop {
            let (mut conn, pooled) = match self.reusable(&key).await {
                Some(conn) => (conn, true),
                None => self.returned_or_new(&key, &req.url).await?,
            };
            match conn.send(request).await {
                Ok(response) => break (conn, response),
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
        let (head, incoming) = response.into_parts();
        let pool = self.pool.clone();
        let body = conn::Body::new(incoming, conn, pool::Returns { pool, key });
        tracing::trace!(method = %&req.method, status = head.status.as_u16(), "loopback response head");
        if head.status.is_redirection() {
            return Ok(None);
        }
        Ok(Some(Reply::Loopback {
            status: head.status,
            headers: head.headers,
            body: Box::pin(body),
        }))
    }

    /// Open `n` connections to the remote ahead of its first requests (the
    /// handshake's, sent as the process starts, and the one that goes out
    /// beside it), into the pool. Needs a runtime; without one, none.
    pub fn warm(&self, n: usize) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        for _ in 0..n {
            let (pool, key, url) = (self.pool.clone(), self.home.key.clone(), self.home.url.clone());
            let timeout = self.connect_timeout;
            runtime.spawn(async move {
                match pool::connect(url, timeout).await {
                    Ok(conn) => pool.put(key, conn),
                    // The request that needs one will say why.
                    Err(e) => tracing::debug!("loopback: no connection ahead of the first request: {e}"),
                }
            });
        }
    }

    /// A connection to `key` for a request that found none idle: a new one,
    /// or one put back (or made ahead) while it is being made, whichever is
    /// first, so a growing pool never makes a request wait for a connect
    /// another request's end makes needless. A new connection made for
    /// nothing goes to the pool. The flag says it came from the pool.
    async fn returned_or_new(&self, key: &Arc<str>, url: &Url) -> Result<(conn::Conn, bool), String> {
        // Boxed: the connect and its timeout are large, and rare.
        let mut connect = Box::pin(pool::connect(url.clone(), self.connect_timeout));
        loop {
            let returned = self.pool.returned();
            tokio::pin!(returned);
            returned.as_mut().enable();
            if let Some(conn) = self.reusable(key).await {
                let (pool, key) = (self.pool.clone(), key.clone());
                tokio::spawn(async move {
                    if let Ok(conn) = connect.await {
                        pool.put(key, conn);
                    }
                });
                return Ok((conn, true));
            }
            tokio::select! {
                biased;
                made = &mut connect => return made.map(|conn| (conn, false)),
                () = &mut returned => {}
            }
        }
    }

    /// The newest idle connection to `key` that can carry another request.
    async fn reusable(&self, key: &str) -> Option<conn::Conn> {
        loop {
            let mut conn = self.pool.take(key)?;
            if std::future::poll_fn(|cx| std::task::Poll::Ready(conn.is_reusable(cx))).await {
                return Some(conn);
            }
        }
    }
}

impl Loopback {
    /// `req` as hyper sends it: the path and query as the target, `Host`
    /// and `Content-Length` added when missing (hyper adds neither for a
    /// request with an empty body). `home`: `req` goes to the remote's own
    /// host and port.
    fn for_hyper(&self, req: &Outgoing<'_>, home: bool) -> Result<Request, String> {
        let target = match self.home.target.path_and_query() {
            Some(t) if home && t.as_str() == target_text(&req.url) => self.home.target.clone(),
            _ => target_of(&req.url)?,
        };
        let mut headers = HeaderMap::with_capacity(req.headers.len() + 2);
        for (name, value) in &req.headers {
            headers.append(name.clone(), value.clone());
        }
        if !headers.contains_key(HOST) {
            let host = if home {
                self.home.host.clone()
            } else {
                host_of(&req.url)?
            };
            headers.insert(HOST, host);
        }
        let bodiless = matches!(req.method, Method::GET | Method::HEAD | Method::DELETE);
        if req.body.is_empty() && !bodiless && !headers.contains_key(CONTENT_LENGTH) {
            headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        let mut request = Request::new(http_body_util::Full::new(req.body.clone()));
        *request.method_mut() = req.method.clone();
        *request.uri_mut() = target;
        *request.headers_mut() = headers;
        Ok(request)
    }
}

/// The request target for `url`: its path and query.
fn target_text(url: &Url) -> &str {
    &url[url::Position::BeforePath..url::Position::AfterQuery]
}

fn target_of(url: &Url) -> Result<Uri, String> {
    Uri::try_from(target_text(url)).map_err(|e| format!("error building the request: {e}"))
}

/// The `Host` header for `url`.
fn host_of(url: &Url) -> Result<HeaderValue, String> {
    let host = url.host_str().unwrap_or("localhost");
    let host = match url.port() {
        Some(port) => HeaderValue::try_from(format!("{host}:{port}")),
        None => HeaderValue::try_from(host),
    };
    host.map_err(|e| format!("error building the request: {e}"))
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
