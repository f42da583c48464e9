//! A network on loopback, for the relay bench's network mode: a TCP proxy
//! that holds every chunk it relays for a one-way delay before passing it
//! on, each way, and makes a new connection cost one round trip.
//!
//! On loopback a client's `connect` returns at once; on a network it takes
//! a round trip (SYN, SYN-ACK) before the first byte can go. So the first
//! bytes a client sends on a connection are held for a round trip more than
//! the one-way delay: sent at `t`, they reach the server at `t + RTT + d`
//! (or `opened + RTT + d` when the connection was opened earlier and left
//! idle, as a client that connects ahead does). Each direction keeps its
//! order: a chunk is never passed on before the one read before it.
//!
//! It counts the connections it was asked for, so a phase can say how many
//! it opened.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

pub struct DelayProxy {
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl DelayProxy {
    /// A proxy on `listener` (bound first, so a server can be told the
    /// address its clients will name) in front of `backend`, holding each
    /// chunk for `one_way` in each direction.
    pub fn start(listener: TcpListener, backend: SocketAddr, one_way: Duration) -> std::io::Result<DelayProxy> {
        let connections = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(relay(client, backend, one_way));
            }
        });
        Ok(DelayProxy { connections, task })
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(client: TcpStream, backend: SocketAddr, one_way: Duration) {
    let opened = Instant::now();
    let _ = client.set_nodelay(true);
    let Ok(server) = TcpStream::connect(backend).await else {
        return;
    };
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    // Client to server: nothing arrives before the handshake's round trip.
    let up = pump(client_read, server_write, one_way, Some(opened + 2 * one_way));
    let down = pump(server_read, client_write, one_way, None);
    tokio::join!(up, down);
}

/// Read chunks from `from` and write each to `to` `delay` after it was
/// read (and not before `not_before + delay`), in order; a close is passed
/// on after the same delay.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, delay: Duration, not_before: Option<Instant>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = from.read(&mut buf).await.unwrap_or(0);
            let read_at = Instant::now();
            let due = match not_before {
                Some(t) if t > read_at => t + delay,
                _ => read_at + delay,
            };
            if tx.send((due, buf[..n].to_vec())).is_err() || n == 0 {
                return;
            }
        }
    };
    let writer = async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if chunk.is_empty() || to.write_all(&chunk).await.is_err() {
                let _ = to.shutdown().await;
                return;
            }
        }
    };
    tokio::join!(reader, writer);
}
