//! The way to a remote on this machine over plain HTTP (a local MCP server,
//! the sandbox): the bridge's own HTTP/1.1 over a small pool of kept-alive
//! connections (`h1`).
//!
//! reqwest and hyper are built for networks: redirect handling (which turns
//! the request's URI into text and parses it as a URL again, twice per
//! request), retries, TLS, proxies, and a task per connection that each
//! request and each piece of body is handed to and back from. None of that
//! applies on loopback, yet there it is most of what a relayed call costs
//! the bridge, since the remote answers in microseconds. Here the request
//! (an `Outgoing`, as for reqwest: the same headers, body and credentials on
//! both ways) is written in one write and its response read in the task that
//! waits for it; the answer comes back as a `Reply`, as reqwest's do, so the
//! rest of the bridge reads it the same way. A redirect, or a request for
//! somewhere else, is left to reqwest, whose client is made only then.

pub mod h1;

use super::outgoing::Outgoing;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use url::Url;

pub struct Loopback {
    pool: Arc<Pool>,
    /// The remote's URL, and its host and port: the pool's key for its
    /// connections.
    remote: Url,
    home: Arc<str>,
    connect_timeout: Duration,
}

/// A response body read by the loopback way.
pub type LoopBody = h1::Body<Returns>;

/// An answer read this way: its head, and its body still on the wire
/// (`remote::reply` makes it a `Reply`, as it does reqwest's).
pub struct LoopReply {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: LoopBody,
}

impl Loopback {
    /// The loopback way to `url`, if it is `http://` on this machine (no
    /// proxy ever applies there: see `net`).
    pub fn to(url: &Url, connect_timeout: Duration, idle: Duration) -> Option<Loopback> {
        if !is_plain_loopback(url) {
            return None;
        }
        Some(Loopback {
            remote: url.clone(),
            home: authority(url).into(),
            pool: Arc::new(Pool {
                idle: Mutex::new(Vec::new()),
                idle_limit: idle.min(MAX_IDLE_TIME),
            }),
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
    pub async fn send(&self, req: &Outgoing<'_>) -> Result<Option<LoopReply>, String> {
        if !is_plain_loopback(&req.url) {
            return Ok(None);
        }
        let wire = h1::encode(&req.method, &req.url, &req.headers, &req.body);
        let key = if same_authority(&req.url, &self.remote) {
            self.home.clone()
        } else {
            authority(&req.url).into()
        };
        let mut conn = match self.pool.take(&key) {
            Some(conn) => conn,
            // Boxed: the connect and its timeout are large, and rare.
            None => Box::pin(self.connect(&req.url)).await?,
        };
        let exchange = async {
            use tokio::io::AsyncWriteExt;
            conn.stream.write_all(&wire).await?;
            h1::read_head(&mut conn).await
        };
        // As reqwest words it; no URL in any of it.
        let head = exchange.await.map_err(|e| format!("error sending request: {e}"))?;
        tracing::trace!(method = %&req.method, status = head.status.as_u16(), "loopback response head");
        if head.status.is_redirection() {
            return Ok(None);
        }
        let (framing, keep) =
            h1::Framing::of(&req.method, &head).map_err(|e| format!("error reading the response: {e}"))?;
        let body = h1::Body::new(
            conn,
            framing,
            keep,
            Returns {
                pool: self.pool.clone(),
                key,
            },
        );
        Ok(Some(LoopReply {
            status: head.status,
            headers: head.headers,
            body,
        }))
    }

    /// A new connection to `url`'s host and port.
    async fn connect(&self, url: &Url) -> Result<h1::Conn, String> {
        let port = url.port_or_known_default().unwrap_or(80);
        let connect = async {
            match url.host() {
                Some(url::Host::Ipv4(ip)) => TcpStream::connect((ip, port)).await,
                Some(url::Host::Ipv6(ip)) => TcpStream::connect((ip, port)).await,
                Some(url::Host::Domain(d)) => TcpStream::connect((d, port)).await,
                None => Err(std::io::Error::other("the URL names no host")),
            }
        };
        let stream = match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(format!("error sending request: cannot connect: {e}")),
            Err(_) => {
                return Err(format!(
                    "error sending request: cannot connect (timed out after {:?})",
                    self.connect_timeout
                ));
            }
        };
        let _ = stream.set_nodelay(true);
        tracing::debug!(port, "loopback: new connection to the remote");
        Ok(h1::Conn::new(stream))
    }
}

/// Idle connections, newest last, each with its host and port and the time
/// it was put back.
struct Pool {
    idle: Mutex<Vec<(Arc<str>, h1::Conn, Instant)>>,
    /// How long a connection may sit idle and still be used.
    idle_limit: Duration,
}

/// The longest a loopback connection is kept idle. Servers close idle
/// keep-alive connections after a few seconds (Node.js and uvicorn after
/// 5 s); one closed while a request is being written to it would fail that
/// request, so the bridge lets go first. A new connection on this machine
/// costs microseconds.
const MAX_IDLE_TIME: Duration = Duration::from_secs(4);

/// The most idle connections kept (a burst of concurrent calls leaves one
/// per call in flight).
const MAX_IDLE: usize = 512;

impl Pool {
    /// The newest idle connection to `key` that is still open.
    fn take(&self, key: &str) -> Option<h1::Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        // Oldest first: those idle too long are a prefix.
        let stale = idle
            .iter()
            .position(|(_, _, since)| now.duration_since(*since) < self.idle_limit)
            .unwrap_or(idle.len());
        idle.drain(..stale);
        while let Some(i) = idle.iter().rposition(|(k, _, _)| **k == *key) {
            let (_, conn, _) = idle.remove(i);
            if conn.is_reusable() {
                return Some(conn);
            }
        }
        None
    }
}

/// Puts a connection back in the pool once its response has been read.
pub struct Returns {
    pool: Arc<Pool>,
    key: Arc<str>,
}

impl h1::Release for Returns {
    fn release(&self, conn: h1::Conn) {
        let mut idle = self.pool.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() >= MAX_IDLE {
            idle.remove(0);
        }
        idle.push((self.key.clone(), conn, Instant::now()));
    }
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
