//! The pool's connections, keyed by scheme, host and port, and new ones:
//! idle HTTP/1.1 connections, each carrying one request at a time, and
//! HTTP/2 connections, shared by every request at once.
//!
//! An HTTP/1.1 connection comes back once its response has been read whole, stamped
//! with the time; it is taken again only if it has not sat idle for the
//! pool's limit, and if, polled once, it shows the server has not closed it
//! meanwhile and hyper is ready for another request. Each return is
//! announced (`released`), so a request waiting for a connection takes the
//! first that is free, a returned one or its own new one. An HTTP/2
//! connection stays in the pool while it is open (its own task drives it).

use super::conn::{Conn, Release};
use super::stream;
use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http2;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;

/// A request's side of an HTTP/2 connection (a handle: clones share it).
pub type Shared = http2::SendRequest<Full<Bytes>>;

/// A connection just made.
pub enum Made {
    One(Conn),
    Shared(Shared),
}

/// Idle connections, oldest first.
pub struct Pool {
    idle: Mutex<Vec<Pooled>>,
    /// Open HTTP/2 connections, by key.
    shared: Mutex<Vec<(Arc<str>, Shared)>>,
    /// Woken at each connection put back (or newly made) for later use.
    returned: tokio::sync::Notify,
    /// How long a connection may sit idle and still be used.
    idle_limit: Duration,
}

struct Pooled {
    /// Host and port.
    key: Arc<str>,
    conn: Conn,
    since: Instant,
}

/// The longest an HTTP/1.1 connection to this machine is kept idle.
/// Servers close idle keep-alive connections after a few seconds (Node.js
/// and uvicorn after 5 s); one closed while a request is being written to
/// it would fail that request, so the bridge lets go first. A new
/// connection on this machine costs microseconds.
pub const LOOPBACK_IDLE: Duration = Duration::from_secs(4);

/// The longest one to a server elsewhere is kept: under the minute that
/// hosting fronts keep theirs (load balancers 60 s, nginx 75 s), since a new
/// one costs a round trip or two there.
pub const REMOTE_IDLE: Duration = Duration::from_secs(50);

/// The most idle connections kept (a burst of concurrent calls leaves one
/// per call in flight).
const MAX_IDLE: usize = 512;

impl Pool {
    /// A pool whose connections are used until idle for `idle_limit`.
    pub fn new(idle_limit: Duration) -> Pool {
        Pool {
            idle: Mutex::new(Vec::new()),
            shared: Mutex::new(Vec::new()),
            returned: tokio::sync::Notify::new(),
            idle_limit,
        }
    }

    /// The newest idle connection to `key`, if one has not been idle too
    /// long; the caller checks it is still open. Those idle too long go.
    pub fn take(&self, key: &str) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        // Oldest first: those idle too long are a prefix.
        let stale = idle
            .iter()
            .position(|p| now.duration_since(p.since) < self.idle_limit)
            .unwrap_or(idle.len());
        idle.drain(..stale);
        let i = idle.iter().rposition(|p| *p.key == *key)?;
        Some(idle.remove(i).conn)
    }

    /// Keep `conn` for a later request to `key`, and tell those waiting.
    pub fn put(&self, key: Arc<str>, conn: Conn) {
        {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() >= MAX_IDLE {
                idle.remove(0);
            }
            idle.push(Pooled {
                key,
                conn,
                since: Instant::now(),
            });
        }
        self.returned.notify_waiters();
    }

    /// An open HTTP/2 connection to `key` (closed ones go).
    pub fn shared(&self, key: &str) -> Option<Shared> {
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        shared.retain(|(_, s)| !s.is_closed());
        shared.iter().find(|(k, _)| **k == *key).map(|(_, s)| s.clone())
    }

    /// Let go of the HTTP/2 connection to `key` (it failed).
    pub fn forget_shared(&self, key: &str) {
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        shared.retain(|(k, _)| **k != *key);
    }

    /// Keep a connection just made for later requests to `key` (a second
    /// HTTP/2 one to the same place is let go: one carries them all).
    pub fn put_made(&self, key: Arc<str>, made: Made) {
        match made {
            Made::One(conn) => self.put(key, conn),
            Made::Shared(s) => {
                if self.shared(&key).is_none() {
                    self.shared.lock().unwrap_or_else(|e| e.into_inner()).push((key, s));
                }
                self.returned.notify_waiters();
            }
        }
    }

    /// Resolves at the next connection put in the pool (enable it before
    /// looking for an idle one, so none slips in between).
    pub fn returned(&self) -> tokio::sync::futures::Notified<'_> {
        self.returned.notified()
    }
}

/// Puts a connection back in the pool once its response has been read.
pub struct Returns {
    pub pool: Arc<Pool>,
    pub key: Arc<str>,
}

impl Release for Returns {
    fn release(&self, conn: Conn) {
        self.pool.put(self.key.clone(), conn);
    }
}

/// A new connection to `url`'s host and port: HTTP/2 when the server
/// chose it in the TLS handshake (its task spawned), else HTTP/1.1. An
/// error is text with no URL in it.
pub async fn connect(url: Url, timeout: Duration) -> Result<Made, String> {
    let opened = stream::open(&url, timeout).await?;
    let failed = |e: hyper::Error| format!("error sending request: {}", crate::redact::with_causes(&e));
    let made = if opened.h2 {
        let io = hyper_util::rt::TokioIo::new(opened.stream);
        let (shared, driver) = http2::handshake(hyper_util::rt::TokioExecutor::new(), io)
            .await
            .map_err(failed)?;
        tokio::spawn(async move {
            if let Err(e) = driver.await {
                tracing::debug!("HTTP/2 connection ended: {}", crate::redact::with_causes(&e));
            }
        });
        Made::Shared(shared)
    } else {
        Made::One(Conn::open(opened.stream).await.map_err(failed)?)
    };
    tracing::debug!(
        scheme = url.scheme(),
        h2 = matches!(made, Made::Shared(_)),
        "new connection to the remote"
    );
    Ok(made)
}
