//! The relay: the stdio side of the bridge.
//!
//! It reads newline-delimited JSON-RPC from stdin and hands each message to
//! the `Remote` untouched: requests run concurrently (one slow call never
//! holds up another), notifications and responses go out in order. Bad
//! lines get a JSON-RPC error and the relay goes on. When stdin closes, it
//! lets in-flight requests finish (each bounded by its timeout), ends the
//! remote session and returns.

#[cfg(unix)]
mod stdio;
mod stdout;

#[cfg(unix)]
pub use stdio::{stdin, stdout};
pub use stdout::spawn_writer;

/// The relay's input and output (tokio's blocking-thread stdio here).
#[cfg(not(unix))]
pub fn stdin() -> Box<dyn AsyncRead + Unpin + Send> {
    Box::new(tokio::io::stdin())
}
#[cfg(not(unix))]
pub fn stdout() -> Box<dyn tokio::io::AsyncWrite + Unpin + Send> {
    Box::new(tokio::io::stdout())
}

use crate::jsonrpc::{self, Kind};
use crate::remote::Remote;
use crate::remote::inbound::Outbox;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
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
    let mut lines = BufReader::new(input);
    let mut buf = Vec::new();
    let mut in_flight = JoinSet::new();
    let stop = terminated();
    tokio::pin!(stop);
    loop {
        buf.clear();
        let read = tokio::select! {
            r = lines.read_until(b'\n', &mut buf) => r,
            _ = &mut stop => {
                tracing::info!("terminated by signal; finishing as if stdin had closed");
                break;
            }
        };
        match read {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!("stdin read failed: {e}");
                break;
            }
        }
        while in_flight.try_join_next().is_some() {}
        let messages = match decode_line(&buf) {
            Line::Blank => continue,
            Line::Messages(messages) => messages,
            Line::Error(answer) => {
                let _ = out.send(answer);
                continue;
            }
        };
        for msg in messages {
            if let Some(h) = &hooks
                && h.intercept(&msg, &remote, &out)
            {
                continue;
            }
            match jsonrpc::kind(&msg) {
                // The handshake goes first: nothing is sent until the
                // remote has answered it and named the session.
                Kind::Request if jsonrpc::method(&msg) == Some("initialize") => {
                    let resp = remote.request(&msg).await;
                    if let (Some(h), Some(r)) = (&hooks, resp) {
                        h.after_response(&msg, &r, &out);
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
                            h.after_response(&msg, &r, &out);
                        }
                    });
                }
                Kind::Notification | Kind::Response => {
                    if jsonrpc::method(&msg) == Some("notifications/cancelled")
                        && let Some(id) = msg.pointer("/params/requestId")
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
                    let id = msg.get("id").cloned().unwrap_or(Value::Null);
                    let _ = out.send(jsonrpc::error(
                        id,
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

/// One stdin line, decoded.
#[derive(Debug)]
pub enum Line {
    /// Only whitespace (a blank line, a lone CR): nothing to do.
    Blank,
    /// One message, or the members of a non-empty batch, in order.
    Messages(Vec<Value>),
    /// Not JSON, or an empty batch: the error to write to the client.
    Error(Value),
}

/// Decode one line read from stdin (with or without its `\n` or `\r\n`).
pub fn decode_line(buf: &[u8]) -> Line {
    let line = trim_ascii(buf);
    if line.is_empty() {
        return Line::Blank;
    }
    match serde_json::from_slice(line) {
        Ok(Value::Array(batch)) if !batch.is_empty() => Line::Messages(batch),
        Ok(Value::Array(_)) => Line::Error(jsonrpc::error(
            Value::Null,
            jsonrpc::INVALID_REQUEST,
            "Invalid Request: empty batch",
            None,
        )),
        Ok(single) => Line::Messages(vec![single]),
        Err(e) => {
            tracing::warn!("stdin: not JSON ({e})");
            Line::Error(jsonrpc::error(
                Value::Null,
                jsonrpc::PARSE_ERROR,
                format!("Parse error: {e}"),
                None,
            ))
        }
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

/// Resolves when the process is asked to stop (SIGTERM or Ctrl-C), so the
/// bridge can end the remote session cleanly.
async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
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
    let mut lines = BufReader::new(input);
    let mut buf = Vec::new();
    while matches!(lines.read_until(b'\n', &mut buf).await, Ok(n) if n > 0) {
        let msg: Option<Value> = serde_json::from_slice(trim_ascii(&buf)).ok();
        buf.clear();
        if let Some(msg) = msg.filter(|m| jsonrpc::kind(m) == Kind::Request) {
            let id = msg.get("id").cloned().unwrap_or(Value::Null);
            let _ = tx.send(jsonrpc::error(id, jsonrpc::INTERNAL_ERROR, why, None));
        }
    }
    drop(tx);
    let _ = writer.await;
}
