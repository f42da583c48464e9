//! The desktop client's side of the bridge: its lines in, and one writer
//! out.
//!
//! - `lines.rs`: stdin (or any reader) read line by line and decoded into
//!   messages, with the error answer for a line that is not JSON;
//! - `outbox.rs`: `Outbox`, the one way to the client for every part of the
//!   bridge, and `ToClient`, a line bound for it;
//! - `stdout.rs`: the single writer task behind the outbox;
//! - `lane.rs`: the fast lane, a small answer written by the task that has
//!   it when nothing is queued before it;
//! - `stdio.rs`: stdin and stdout polled directly when they are pipes or
//!   sockets.
//!
//! It knows messages (`crate::message`, `crate::jsonrpc`) and nothing of
//! remotes, hooks or providers.

mod lane;
mod lines;
mod outbox;
#[cfg(unix)]
mod stdio;
mod stdout;

pub use lane::Lane;
pub use lines::{ClientLines, Line, decode_line};
pub use outbox::{Closed, Outbox, ToClient};
#[cfg(unix)]
pub use stdio::{stdin, stdout, stdout_lane};
pub use stdout::{Writer, spawn_writer, spawn_writer_with};

use std::time::Duration;

/// The longest the bridge waits, once it stops, for the last messages to
/// be written (the client may have stopped reading).
pub const FLUSH_LIMIT: Duration = Duration::from_millis(500);

/// The client's input and output (tokio's blocking-thread stdio here).
#[cfg(not(unix))]
pub fn stdin() -> Box<dyn tokio::io::AsyncRead + Unpin + Send> {
    Box::new(tokio::io::stdin())
}
#[cfg(not(unix))]
pub fn stdout() -> Box<dyn tokio::io::AsyncWrite + Unpin + Send> {
    crate::console::stdout_is_protocol();
    Box::new(tokio::io::stdout())
}
#[cfg(not(unix))]
pub fn stdout_lane() -> Option<std::sync::Arc<Lane>> {
    None
}
