//! The process's stdin and stdout as the bridge's async input and output.
//!
//! tokio's `stdin()` and `stdout()` hand every read and write to a
//! blocking-pool thread, so each message pays a thread hand-off (a wake-up
//! and a context switch) on its way in and again on its way out. Desktop
//! clients and agent frameworks connect a stdio server through pipes or a
//! socket pair; those the bridge registers with the runtime's poller
//! directly, in non-blocking mode, which takes the hand-offs off every call.
//! A terminal, a file or anything else keeps tokio's blocking-thread way, as
//! does a stdout that shares its pipe with stderr (non-blocking mode would
//! then also apply to the log, whose writes could fail when it is full).
//!
//! The non-blocking flag belongs to the pipe's open file, which only this
//! process and its own children hold; it is left set when the process ends.

use super::Lane;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncWrite};

pub type Input = Box<dyn AsyncRead + Unpin + Send>;
pub type Output = Box<dyn AsyncWrite + Unpin + Send>;

/// What a standard stream is connected to.
enum Kind {
    Pipe(OwnedFd),
    Socket(OwnedFd),
    Other,
}

/// Duplicate `fd` and say what it is, without changing it.
fn classify(fd: std::os::fd::BorrowedFd<'_>) -> (Kind, Option<(u64, u64)>) {
    let Ok(owned) = fd.try_clone_to_owned() else {
        return (Kind::Other, None);
    };
    let file = File::from(owned);
    let Ok(meta) = file.metadata() else {
        return (Kind::Other, None);
    };
    let identity = Some((meta.dev(), meta.ino()));
    let kind = if meta.file_type().is_fifo() {
        Kind::Pipe(file.into())
    } else if meta.file_type().is_socket() {
        Kind::Socket(file.into())
    } else {
        Kind::Other
    };
    (kind, identity)
}

/// A non-blocking socket stream registered with the runtime.
fn socket(fd: OwnedFd) -> io::Result<tokio::net::UnixStream> {
    let std = std::os::unix::net::UnixStream::from(fd);
    std.set_nonblocking(true)?;
    tokio::net::UnixStream::from_std(std)
}

/// The client's input: stdin, polled directly when it is a pipe or socket.
/// Must be called inside the runtime.
pub fn stdin() -> Input {
    let fallback = || -> Input { Box::new(tokio::io::stdin()) };
    match classify(io::stdin().as_fd()).0 {
        Kind::Pipe(fd) => match tokio::net::unix::pipe::Receiver::from_owned_fd(fd) {
            Ok(rx) => Box::new(rx),
            Err(e) => {
                tracing::debug!("stdin stays on a blocking thread: {e}");
                fallback()
            }
        },
        Kind::Socket(fd) => match socket(fd) {
            Ok(s) => Box::new(s),
            Err(e) => {
                tracing::debug!("stdin stays on a blocking thread: {e}");
                fallback()
            }
        },
        Kind::Other => fallback(),
    }
}

/// The output to the client: stdout, written directly when it is a pipe or socket
/// of its own (not shared with stderr); a fast lane to it is then kept for
/// `stdout_lane`. From then on stdout is the protocol's alone (`console`).
/// Must be called inside the runtime.
pub fn stdout() -> Output {
    crate::console::stdout_is_protocol();
    let fallback = || -> Output { Box::new(tokio::io::stdout()) };
    let (kind, out_id) = classify(io::stdout().as_fd());
    let (_, err_id) = classify(io::stderr().as_fd());
    if out_id.is_some() && out_id == err_id {
        return fallback();
    }
    let direct: io::Result<(Output, OwnedFd)> = match kind {
        Kind::Pipe(fd) => tokio::net::unix::pipe::Sender::from_owned_fd(fd)
            .and_then(|tx| Ok((tx.as_fd().try_clone_to_owned()?, tx)))
            .map(|(second, tx)| (Box::new(tx) as Output, second)),
        Kind::Socket(fd) => socket(fd)
            .and_then(|s| Ok((s.as_fd().try_clone_to_owned()?, s)))
            .map(|(second, s)| (Box::new(s) as Output, second)),
        Kind::Other => return fallback(),
    };
    match direct {
        Ok((output, second)) => {
            // The same open file, so non-blocking too.
            *LANE.lock().unwrap_or_else(|e| e.into_inner()) = Some(Lane::new(File::from(second)));
            output
        }
        Err(e) => {
            tracing::debug!("stdout stays on a blocking thread: {e}");
            fallback()
        }
    }
}

/// The fast lane to the stdout `stdout` set up, taken (once).
pub fn stdout_lane() -> Option<Arc<Lane>> {
    LANE.lock().unwrap_or_else(|e| e.into_inner()).take()
}

static LANE: Mutex<Option<Arc<Lane>>> = Mutex::new(None);
