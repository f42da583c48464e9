//! The relay: the stdio side of the bridge.
//!
//! It reads newline-delimited JSON-RPC from stdin and hands each message to
//! the `Remote` untouched, as the client's own text (`Message`): requests run concurrently (one slow call never
//! holds up another), notifications and responses go out in order. Bad
//! lines get a JSON-RPC error and the relay goes on. When stdin closes, it
//! lets in-flight requests finish (each bounded by its timeout), ends the
//! remote session and returns.

mod lane;
mod lines;
#[cfg(unix)]
mod stdio;
mod stdout;

pub use lane::Lane;
pub use lines::{ClientLines, Line, decode_line};

#[cfg(unix)]
pub use stdio::{stdin, stdout, stdout_lane};
pub use stdout::{Writer, spawn_writer, spawn_writer_with};

/// The longest the relay waits, once stdin has closed, for the last
/// messages to be written (the client may have stopped reading).
pub const FLUSH_LIMIT: Duration = Duration::from_millis(500);

/// The relay's input and output (tokio's blocking-thread stdio here).
#[cfg(not(unix))]
pub fn stdin() -> Box<dyn AsyncRead + Unpin + Send> {
    Box::new(tokio::io::stdin())
}
#[cfg(not(unix))]
pub fn stdout() -> Box<dyn tokio::io::AsyncWrite + Unpin + Send> {
    crate::console::stdout_is_protocol();
    Box::new(tokio::io::stdout())
}
#[cfg(not(unix))]
pub fn stdout_lane() -> Option<Arc<Lane>> {
    None
}

use crate::jsonrpc::{self, Kind};
use crate::message::Message;
use crate::remote::Remote;
use crate::remote::inbound::Outbox;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncRead;
use tokio::task::JoinSet;

/// What the relay calls after each answered request, so a provider can act
/// on results (e.g. announce a changed tool list, surface a connect link).
pub trait AfterResponse: Send + Sync {
    fn after_response(&self, request: &Value, response: &Value, out: &Outbox);

    /// Called before each client message goes to the remote. Returning true
    /// means the hook took the message over (answered or relays it itself),
    /// as the OAuth sign-in gate does while the person is signed out.
    fn intercept(&self, _message: &Value, _remote: &Arc<Remote>, _out: &Outbox) -> bool {
        false
    }
}

/// The longest the relay waits for one notification or response to be
/// accepted by the remote before reading on.
const SEND_LIMIT: Duration = Duration::from_secs(30);

/// Relay messages from `input` until it closes.
pub async fn run(
    input: impl AsyncRead + Unpin,
    remote: Arc<Remote>,
    out: Outbox,
    hooks: Option<Arc<dyn AfterResponse>>,
) {
    let mut client = ClientLines::new(input);
    let mut in_flight = JoinSet::new();
    while let Some(line) = client.next().await {
        while in_flight.try_join_next().is_some() {}
        let messages = match line {
            Ok(messages) => messages,
            Err(answer) => {
                let _ = out.send(answer);
                continue;
            }
        };
        for msg in messages {
            // Hooks and the handshake read the whole tree.
            let needs_tree = hooks.is_some() || msg.method() == Some("initialize");
            if needs_tree && tree_or_refuse(&msg, &out).is_none() {
                continue;
            }
            if let Some(h) = &hooks
                && h.intercept(msg.value(), &remote, &out)
            {
                continue;
            }
            match msg.kind() {
                // The handshake goes first: nothing is sent until the
                // remote has answered it and named the session.
                Kind::Request if msg.method() == Some("initialize") => {
                    let resp = remote.request(&msg).await;
                    if let (Some(h), Some(r)) = (&hooks, resp) {
                        h.after_response(msg.value(), &r, &out);
                    }
                }
                Kind::Request => {
                    let remote = remote.clone();
                    let hooks = hooks.clone();
                    let out = out.clone();
                    in_flight.spawn(async move {
                        // Boxed: the request's future is large, and a task
                        // holding it inline is copied whole when spawned.
                        let resp = Box::pin(remote.request(&msg)).await;
                        if let (Some(h), Some(r)) = (hooks, resp) {
                            h.after_response(msg.value(), &r, &out);
                        }
                    });
                }
                Kind::Notification | Kind::Response => {
                    if msg.method() == Some("notifications/cancelled")
                        && let Some(id) = msg.request_id()
                    {
                        remote.cancelled(id);
                    }
                    if tokio::time::timeout(SEND_LIMIT, remote.send(msg)).await.is_err() {
                        tracing::warn!(
                            "server `{}` took over {SEND_LIMIT:?} to accept a message",
                            remote.server()
                        );
                    }
                }
                Kind::Invalid => {
                    let _ = out.send(jsonrpc::error(
                        msg.id().clone(),
                        jsonrpc::INVALID_REQUEST,
                        "Invalid Request: expected a JSON-RPC request, notification or response",
                        None,
                    ));
                }
            }
        }
    }
    tracing::debug!(
        in_flight = in_flight.len(),
        "stdin closed; finishing in-flight requests"
    );
    remote.client_gone().await;
    while in_flight.join_next().await.is_some() {}
    remote.close().await;
}

/// The whole tree of `msg`, or None after answering it as a parse error:
/// its text is JSON no tree can hold (a number such as 1e400), and a hook
/// or the handshake needs the tree.
fn tree_or_refuse<'m>(msg: &'m Message, out: &Outbox) -> Option<&'m Value> {
    if let Some(tree) = msg.tree() {
        return Some(tree);
    }
    let _ = out.send(msg.unreadable());
    None
}

/// Serve nothing but an explanation: answer every request with `why` (the
/// bridge could not start, e.g. a config error) until stdin closes, so the
/// desktop client shows the person what to fix.
pub async fn refuse_all(
    input: impl AsyncRead + Unpin,
    output: impl tokio::io::AsyncWrite + Unpin + Send + 'static,
    why: &str,
) {
    let (tx, rx) = Outbox::channel();
    let writer = spawn_writer(rx, output);
    let mut client = ClientLines::new(input);
    while let Some(line) = client.next().await {
        let Ok(messages) = line else { continue };
        for msg in messages.into_iter().filter(|m| m.kind() == Kind::Request) {
            let _ = tx.send(jsonrpc::error(msg.id().clone(), jsonrpc::INTERNAL_ERROR, why, None));
        }
    }
    drop(tx);
    writer.finish(FLUSH_LIMIT).await;
}
