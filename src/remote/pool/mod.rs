//! The bridge's own way to a remote it reaches without a proxy: hyper's
//! client connections over TCP or TLS (`stream`), HTTP/2 when the server
//! offers it in the TLS handshake and HTTP/1.1 otherwise (`conn`), in a
//! small pool of its own (`idle`).
//!
//! reqwest is built for every case: proxies, redirects (which turn the
//! request's URI into text and parse it as a URL again, twice per request),
//! retries, and a pool that opens a connection when it has none idle, even
//! if one is about to come back, and cannot open one before the first
//! request. Here the pool is opened as the process starts (`warm`: the
//! connection, its TLS, ready before the client's `initialize`), and a
//! request that finds none free takes the first that is, one returned or
//! its own new one, so a growing pool never makes a call wait for a
//! handshake it could have avoided. The request (an `Outgoing`, as for
//! reqwest: the same headers, body and credentials on both ways) goes to
//! hyper as it is, and the answer comes back as a `Reply`, as reqwest's do.
//! Framing, both ways, is hyper's. A redirect, or a request for a server a
//! proxy applies to, is left to reqwest, whose client is made only then:
//! loading the platform's root certificates is most of a start-up.

mod conn;
mod idle;
mod stream;
#[cfg(test)]
mod tests;

use super::outgoing::Outgoing;
use super::reply::Reply;
use conn::Request;
use http::header::{CONTENT_LENGTH, HOST};
use http::{HeaderMap, HeaderValue, Method, Uri};
use idle::{Made, Shared};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

pub struct Pool {
    idle: Arc<idle::Pool>,
    /// Boxed: the way is kept beside reqwest's client, a pointer.
    home: Box<Home>,
    connect_timeout: Duration,
}

/// The remote's URL, and what every request to it carries the same, made
/// once.
struct Home {
    url: Url,
    /// Its scheme, host and port: the pool's key for its connections.
    key: Arc<str>,
    host: HeaderValue,
    /// The request target for HTTP/1.1 (its path and query) and for HTTP/2
    /// (the whole URL).
    target: Uri,
    absolute: Uri,
}

/// A connection a request goes out on.
enum Lane {
    One(conn::Conn),
    Shared(Shared),
}

impl Pool {
    /// The way to `url`, unless a proxy applies to it (`net::proxied`; never
    /// on this machine). A connection idle for `idle` is not used again (at
    /// most 4 s on this machine, 50 s elsewhere: `idle`'s limits).
    pub fn to(url: &Url, connect_timeout: Duration, idle: Duration) -> Option<Pool> {
        if !is_direct(url) {
            return None;
        }
        let limit = match crate::net::is_loopback(url) {
            true => idle::LOOPBACK_IDLE,
            false => idle::REMOTE_IDLE,
        };
        let home = Box::new(Home {
            url: url.clone(),
            key: key_of(url).into(),
            host: host_of(url).ok()?,
            target: target_of(url).ok()?,
            absolute: Uri::try_from(url.as_str()).ok()?,
        });
        Some(Pool {
            home,
            idle: Arc::new(idle::Pool::new(idle.min(limit))),
            connect_timeout,
        })
    }

    /// reqwest's general client, for a request that goes its way (the
    /// process's shared one, made on first use).
    pub fn general(&self) -> Result<reqwest::Client, String> {
        crate::net::shared_client()
    }

    /// Send `req`; None when it is for reqwest after all: a proxy applies
    /// where it goes (a legacy server can name any message endpoint), or
    /// the answer is a redirect, which reqwest follows. An error is text
    /// with no URL in it.
    pub async fn send(&self, req: Outgoing<'_>) -> Result<Option<Reply>, String> {
        let home = same_origin(&req.url, &self.home.url);
        if !home && !is_direct(&req.url) {
            return Ok(None);
        }
        let key: Arc<str> = if home {
            self.home.key.clone()
        } else {
            key_of(&req.url).into()
        };
        let Outgoing {
            method,
            url,
            headers,
            body,
            ..
        } = req;
        let traced = method.clone();
        // Made once, for the lane the first connection is; a request that
        // never went out comes back for the next.
        let mut parts = Some((method, headers, body));
        let mut unsent: Option<Request> = None;
        let mut closed = 0;
        let (status, headers, body): (_, _, super::reply::LoopbackBody) = loop {
            let lane = self.lane(&key, &url).await?;
            let h2 = matches!(lane.0, Lane::Shared(_));
            let request = match (unsent.take(), parts.take()) {
                (Some(mut request), _) => {
                    self.target(&mut request, &url, home, h2)?;
                    request
                }
                (None, Some((method, headers, body))) => self.for_hyper(method, &url, headers, body, home, h2)?,
                (None, None) => return Err("error sending request: the request could not be sent again".into()),
            };
            match lane {
                (Lane::Shared(mut shared), _) => {
                    if let Err(e) = shared.ready().await {
                        // It closed meanwhile: the pool lets it go, and the
                        // request takes another (a new one, at the latest).
                        self.idle.forget_shared(&key);
                        closed += 1;
                        if closed > 2 {
                            return Err(sending(&e));
                        }
                        unsent = Some(request);
                        continue;
                    }
                    let response = shared.send_request(request).await.map_err(|e| sending(&e))?;
                    let (head, incoming) = response.into_parts();
                    break (head.status, head.headers, Box::pin(incoming));
                }
                (Lane::One(mut conn), pooled) => match conn.send(request).await {
                    Ok(response) => {
                        let (head, incoming) = response.into_parts();
                        let release = idle::Returns {
                            pool: self.idle.clone(),
                            key: key.clone(),
                        };
                        let body = conn::Body::new(incoming, conn, release);
                        break (head.status, head.headers, Box::pin(body));
                    }
                    // A pooled connection closed before the request went out
                    // on it (the server let it go as it was taken): another.
                    Err(mut e) if pooled && e.message().is_some() => {
                        tracing::debug!("a pooled connection was closed; another one");
                        unsent = e.take_message();
                    }
                    Err(e) => return Err(sending(&e.into_error())),
                },
            }
        };
        tracing::trace!(method = %traced, status = status.as_u16(), "response head");
        if status.is_redirection() {
            return Ok(None);
        }
        Ok(Some(Reply::Loopback { status, headers, body }))
    }

    /// A connection for a request to `key`: an open HTTP/2 one, an idle
    /// HTTP/1.1 one, or the first free. The flag says it came from the
    /// pool.
    async fn lane(&self, key: &Arc<str>, url: &Url) -> Result<(Lane, bool), String> {
        if let Some(shared) = self.idle.shared(key) {
            return Ok((Lane::Shared(shared), true));
        }
        if let Some(conn) = self.reusable(key).await {
            return Ok((Lane::One(conn), true));
        }
        self.returned_or_new(key, url).await
    }

    /// Open connections to the remote ahead of its first requests, into the
    /// pool: one, and for HTTP/1.1 a second (the handshake's first request
    /// and the one that goes out beside the next). Needs a runtime.
    pub fn warm(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (pool, key, url) = (self.idle.clone(), self.home.key.clone(), self.home.url.clone());
        let timeout = self.connect_timeout;
        let open = move |pool: Arc<idle::Pool>, key: Arc<str>, url: Url| async move {
            match idle::connect(url, timeout).await {
                Ok(made) => {
                    let one = matches!(made, Made::One(_));
                    pool.put_made(key, made);
                    Ok(one)
                }
                // The request that needs one will say why.
                Err(e) => {
                    tracing::debug!("no connection ahead of the first request: {e}");
                    Err(())
                }
            }
        };
        runtime.spawn(async move {
            if url.scheme() == "http" {
                // Plain HTTP is HTTP/1.1: both at once.
                let second = tokio::spawn(open(pool.clone(), key.clone(), url.clone()));
                let _ = open(pool, key, url).await;
                let _ = second.await;
            } else if let Ok(true) = open(pool.clone(), key.clone(), url.clone()).await {
                let _ = open(pool, key, url).await;
            }
        });
    }

    /// A connection to `key` for a request that found none free: a new one,
    /// or one put back (or made ahead) while it is being made, whichever is
    /// first. A new connection made for nothing goes to the pool.
    async fn returned_or_new(&self, key: &Arc<str>, url: &Url) -> Result<(Lane, bool), String> {
        // Boxed: the connect and its timeout are large, and rare.
        let mut connect = Box::pin(idle::connect(url.clone(), self.connect_timeout));
        loop {
            let returned = self.idle.returned();
            tokio::pin!(returned);
            returned.as_mut().enable();
            let free = match self.idle.shared(key) {
                Some(shared) => Some(Lane::Shared(shared)),
                None => self.reusable(key).await.map(Lane::One),
            };
            if let Some(lane) = free {
                let (pool, key) = (self.idle.clone(), key.clone());
                tokio::spawn(async move {
                    if let Ok(made) = connect.await {
                        pool.put_made(key, made);
                    }
                });
                return Ok((lane, true));
            }
            tokio::select! {
                biased;
                made = &mut connect => {
                    return Ok(match made? {
                        Made::One(conn) => (Lane::One(conn), false),
                        Made::Shared(shared) => {
                            self.idle.put_made(key.clone(), Made::Shared(shared.clone()));
                            (Lane::Shared(shared), false)
                        }
                    });
                }
                () = &mut returned => {}
            }
        }
    }

    /// The newest idle HTTP/1.1 connection to `key` that can carry another
    /// request.
    async fn reusable(&self, key: &str) -> Option<conn::Conn> {
        loop {
            let mut conn = self.idle.take(key)?;
            if std::future::poll_fn(|cx| std::task::Poll::Ready(conn.is_reusable(cx))).await {
                return Some(conn);
            }
        }
    }

    /// `req` as hyper sends it: for HTTP/1.1 the path and query as the
    /// target, `Host` and `Content-Length` added when missing (hyper adds
    /// neither for a request with an empty body); for HTTP/2 (`h2`) the
    /// whole URL, whose authority hyper sends. `home`: `req` goes to the
    /// remote's own scheme, host and port.
    fn for_hyper(
        &self,
        method: Method,
        url: &Url,
        mut headers: HeaderMap,
        body: bytes::Bytes,
        home: bool,
        h2: bool,
    ) -> Result<Request, String> {
        let bodiless = matches!(method, Method::GET | Method::HEAD | Method::DELETE);
        if body.is_empty() && !bodiless && !headers.contains_key(CONTENT_LENGTH) {
            headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        let mut request = Request::new(http_body_util::Full::new(body));
        *request.method_mut() = method;
        *request.headers_mut() = headers;
        self.target(&mut request, url, home, h2)?;
        Ok(request)
    }

    /// Point `request` at `url` for HTTP/1.1 (the path and query as the
    /// target, `Host` added when missing) or HTTP/2 (`h2`: the whole URL,
    /// whose authority hyper sends).
    fn target(&self, request: &mut Request, url: &Url, home: bool, h2: bool) -> Result<(), String> {
        let target = match (h2, self.home.target.path_and_query()) {
            (false, Some(t)) if home && t.as_str() == target_text(url) => self.home.target.clone(),
            (false, _) => target_of(url)?,
            (true, _) if home && url.as_str() == self.home.url.as_str() => self.home.absolute.clone(),
            (true, _) => Uri::try_from(url.as_str()).map_err(|e| format!("error building the request: {e}"))?,
        };
        *request.uri_mut() = target;
        *request.version_mut() = if h2 {
            http::Version::HTTP_2
        } else {
            http::Version::HTTP_11
        };
        if !h2 && !request.headers().contains_key(HOST) {
            let host = if home { self.home.host.clone() } else { host_of(url)? };
            request.headers_mut().insert(HOST, host);
        }
        Ok(())
    }
}

/// hyper's error as reqwest words it; no URL in any of it.
fn sending(e: &hyper::Error) -> String {
    format!("error sending request: {}", crate::redact::with_causes(e))
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

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

fn key_of(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(80)
    )
}

/// Whether the pool goes to `url` itself: http(s) with no proxy applying.
fn is_direct(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https") && !crate::net::proxied(url)
}
