//! The loopback way's idle connections, keyed by host and port, and new
//! ones.
//!
//! A connection comes back once its response has been read whole, stamped
//! with the time; it is taken again only if it has not sat idle for the
//! pool's limit, and if, polled once, it shows the server has not closed it
//! meanwhile and hyper is ready for another request. Each return is
//! announced (`released`), so a request waiting for a connection takes the
//! first that is free, a returned one or its own new one.

use super::conn::{Conn, Release};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use url::Url;

/// Idle connections, oldest first.
pub struct Pool {
    idle: Mutex<Vec<Pooled>>,
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
    pub fn new(idle: Duration) -> Pool {
        Pool {
            idle: Mutex::new(Vec::new()),
            returned: tokio::sync::Notify::new(),
            idle_limit: idle.min(MAX_IDLE_TIME),
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

/// A new connection to `url`'s host and port. An error is text with no URL
/// in it.
pub async fn connect(url: Url, timeout: Duration) -> Result<Conn, String> {
    let port = url.port_or_known_default().unwrap_or(80);
    let connect = async {
        match url.host() {
            Some(url::Host::Ipv4(ip)) => TcpStream::connect((ip, port)).await,
            Some(url::Host::Ipv6(ip)) => TcpStream::connect((ip, port)).await,
            Some(url::Host::Domain(d)) => TcpStream::connect((d, port)).await,
            None => Err(std::io::Error::other("the URL names no host")),
        }
    };
    let stream = match tokio::time::timeout(timeout, connect).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return Err(format!("error sending request: cannot connect: {e}")),
        Err(_) => {
            return Err(format!(
                "error sending request: cannot connect (timed out after {timeout:?})"
            ));
        }
    };
    // Without it a request written in two pieces waits for the delayed ACK.
    let _ = stream.set_nodelay(true);
    let conn = Conn::open(stream)
        .await
        .map_err(|e| format!("error sending request: {}", crate::redact::with_causes(&e)))?;
    tracing::debug!(port, "loopback: new connection to the remote");
    Ok(conn)
}
