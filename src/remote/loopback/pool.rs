//! The loopback way's connections: hyper's HTTP/1.1 client connections,
//! each driven by a task of its own, and a small pool of their senders
//! keyed by host and port.
//!
//! A sender goes back into the pool as soon as its response's head has
//! arrived; it is taken again only once hyper says the connection is ready
//! for another request (its last response read whole) and not closed (the
//! server may close an idle connection at any time, which hyper notices as
//! it happens). Its stamp is when it went back, so no connection is used
//! after sitting idle for the pool's limit, whatever its last body took.

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use url::Url;

/// What the loopback way sends on a connection.
pub type Sender = SendRequest<Full<Bytes>>;

/// Senders of open connections, oldest stamp first.
pub struct Pool {
    senders: Mutex<Vec<Pooled>>,
    /// How long a connection may sit idle and still be used.
    idle_limit: Duration,
}

struct Pooled {
    /// Host and port.
    key: Arc<str>,
    sender: Sender,
    since: Instant,
}

/// The longest a loopback connection is kept idle. Servers close idle
/// keep-alive connections after a few seconds (Node.js and uvicorn after
/// 5 s); one closed while a request is being written to it would fail that
/// request, so the bridge lets go first. A new connection on this machine
/// costs microseconds.
const MAX_IDLE_TIME: Duration = Duration::from_secs(4);

/// The most connections kept (a burst of concurrent calls leaves one per
/// call in flight).
const MAX_POOLED: usize = 512;

impl Pool {
    pub fn new(idle: Duration) -> Pool {
        Pool {
            senders: Mutex::new(Vec::new()),
            idle_limit: idle.min(MAX_IDLE_TIME),
        }
    }

    /// The newest connection to `key` ready for a request. Those idle too
    /// long, or closed, are let go; those still reading a response stay.
    pub fn take(&self, key: &str) -> Option<Sender> {
        let mut senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        // Oldest first: those put back too long ago are a prefix.
        let stale = senders
            .iter()
            .position(|p| now.duration_since(p.since) < self.idle_limit)
            .unwrap_or(senders.len());
        senders.drain(..stale);
        let mut i = senders.len();
        while i > 0 {
            i -= 1;
            let p = &senders[i];
            if p.sender.is_closed() {
                senders.remove(i);
            } else if *p.key == *key && p.sender.is_ready() {
                return Some(senders.remove(i).sender);
            }
        }
        None
    }

    /// Keep `sender` for a later request to `key`.
    pub fn put(&self, key: Arc<str>, sender: Sender) {
        let mut senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        if senders.len() >= MAX_POOLED {
            // Its connection carries on with a response in flight, if any,
            // and closes after it.
            senders.remove(0);
        }
        senders.push(Pooled {
            key,
            sender,
            since: Instant::now(),
        });
    }
}

/// A new connection to `url`'s host and port, with its task started. An
/// error is text with no URL in it.
pub async fn connect(url: &Url, timeout: Duration) -> Result<Sender, String> {
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
    let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(|e| format!("error sending request: {}", crate::redact::with_causes(&e)))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("loopback connection ended: {}", crate::redact::with_causes(&e));
        }
    });
    tracing::debug!(port, "loopback: new connection to the remote");
    Ok(sender)
}
