//! Serving the client until it goes, and stopping well: the one loop over
//! the client's lines, the signal watch and the stop sequence, for a single
//! server (`relay`) and a bundle (`bundle`) alike.
//!
//! The loop reads the client's lines (`client::ClientLines`) and hands each
//! message to what is served (`Served`): `initialize` is answered before
//! the next line is handled, so nothing reaches a remote before its session
//! exists; every other request runs as a task of its own, so a slow one
//! holds up nothing; notifications and the client's responses go in order.
//! A line that is not JSON, or a message that is none of request,
//! notification and response, is answered with an error here.
//!
//! Reading stops when stdin closes or the process is told to stop (SIGTERM
//! or SIGINT; Ctrl-C on Windows: `Signals`), also while `initialize` is
//! waiting. Then, in this order (`stop`), within about a second when the
//! servers answer, and a few seconds at worst:
//! 1. stop reading (a request left in the line being handled is answered
//!    with an error);
//! 2. answer what is pending the other way: the requests the servers sent
//!    the client and it never answered get an error, so the remote's tools
//!    stop waiting (at most `ANSWER_LIMIT`);
//! 3. the client's requests in flight may end with their answer for
//!    `GRACE`; then every one still waiting is answered with an error and
//!    cancelled at its server (`notifications/cancelled`), its HTTP
//!    exchange dropped (`Served::stop_waiting`; at most `CANCEL_LIMIT`);
//! 4. end the remote sessions (DELETE, at most `CLOSE_LIMIT`) and pass on
//!    what the servers sent meanwhile;
//! 5. flush: the stdout writer writes what is queued by then and stops,
//!    within `client::FLUSH_LIMIT`;
//! 6. the caller returns, and the process exits 0.
//!
//! A second signal during the stop exits at once, with status
//! `EXIT_AT_ONCE`: whatever is not written by then is lost.

use crate::client::{ClientLines, FLUSH_LIMIT, Outbox, Writer};
use crate::jsonrpc::{self, Kind};
use crate::message::Message;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncRead;
use tokio::task::JoinSet;

mod signals;
pub use signals::Signals;

/// How long the client's requests in flight may go on, once the stop
/// began, to end with their own answer.
pub const GRACE: Duration = Duration::from_secs(1);
/// The longest step 2 (answering the servers' requests) may take.
pub const ANSWER_LIMIT: Duration = Duration::from_millis(500);
/// The longest the requests still in flight after `GRACE` may take to end
/// once told to (their error answers are written at once; this bounds
/// telling the servers to cancel).
pub const CANCEL_LIMIT: Duration = Duration::from_millis(500);
/// The longest ending the remote sessions (DELETE) may take.
pub const CLOSE_LIMIT: Duration = Duration::from_secs(1);
/// The exit status when a second signal cut the stop short.
pub const EXIT_AT_ONCE: i32 = 1;

/// What the loop serves: one server's relay, a bundle of servers, or a
/// refusal naming why the bridge could not start.
pub trait Served: Send + Sync + 'static {
    /// The longest line read from the client (`max_message_size`).
    fn max_message_size(&self) -> usize {
        crate::config::size::DEFAULT_MAX_MESSAGE_SIZE
    }

    /// Whether a message must be parsed whole before it is handled; one whose
    /// text no tree can hold (a number such as 1e400) is then answered as a
    /// parse error.
    fn needs_tree(&self, msg: &Message) -> bool;

    /// Called first, for every message: true when it was taken over
    /// (answered, or to be relayed another way).
    fn takes_over(&self, _msg: &Message) -> bool {
        false
    }

    /// The client's `initialize`, run as a task that the loop waits for
    /// before it handles the next line.
    fn on_initialize(self: &Arc<Self>, msg: Message) -> impl Future<Output = ()> + Send + 'static;

    /// Any other request, run as a task of its own.
    fn on_request(self: &Arc<Self>, msg: Message) -> impl Future<Output = ()> + Send + 'static;

    /// A notification, in order.
    fn on_notification(&self, msg: Message) -> impl Future<Output = ()> + Send;

    /// The client's answer to a request a server sent it, in order.
    fn on_response(&self, msg: Message) -> impl Future<Output = ()> + Send;

    /// Step 2 of the stop: answer the servers' requests the client left
    /// unanswered.
    fn client_gone(&self) -> impl Future<Output = ()> + Send;

    /// Step 3 of the stop, after `GRACE`: every request still waiting on a
    /// server ends now, answered with an error, and is cancelled at that
    /// server; each task running one then ends.
    fn stop_waiting(&self);

    /// Step 4 of the stop: end every remote session.
    fn close(&self) -> impl Future<Output = ()> + Send;

    /// The end of step 4: pass on what the servers sent meanwhile (a
    /// bundle's members' last messages).
    fn pass_on_last(&self) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }
}

/// Why reading stopped.
#[derive(Debug, Clone, Copy)]
enum Why {
    Signal,
    StdinClosed,
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Why::Signal => "told to stop by a signal",
            Why::StdinClosed => "the client closed stdin",
        })
    }
}

/// One read of the client: a line's messages, an error answer for a bad
/// line, or None once stdin closed.
type Read = Option<Result<Vec<Message>, serde_json::Value>>;

/// Serve the client's messages from `input` until it closes or the process
/// is told to stop, then stop in order (see the module docs). `out` is the
/// outbox `writer` writes.
pub async fn serve_until_stopped<S: Served>(
    input: impl AsyncRead + Unpin,
    served: Arc<S>,
    out: &Outbox,
    writer: Writer,
) {
    let mut client = ClientLines::new(input).with_limit(served.max_message_size());
    let mut signals = Signals::watch();
    let mut in_flight = JoinSet::new();
    // A line read while `initialize` was answered, handled next.
    let mut held: Option<Read> = None;
    let why = 'reading: loop {
        let read = match held.take() {
            Some(read) => read,
            None => tokio::select! {
                biased;
                () = signals.next() => break Why::Signal,
                read = client.next() => read,
            },
        };
        let Some(line) = read else { break Why::StdinClosed };
        while in_flight.try_join_next().is_some() {}
        let messages = match line {
            Ok(messages) => messages,
            Err(answer) => {
                let _ = out.send(answer);
                continue;
            }
        };
        let mut messages = messages.into_iter();
        while let Some(msg) = messages.next() {
            if served.needs_tree(&msg) && msg.tree().is_none() {
                let _ = out.send(msg.unreadable());
                continue;
            }
            if served.takes_over(&msg) {
                continue;
            }
            match msg.kind() {
                Kind::Request if msg.method() == Some("initialize") => {
                    let task = in_flight.spawn(served.on_initialize(msg)).id();
                    let answered = ended(task, &mut in_flight);
                    let waited = meanwhile(answered, Duration::ZERO, &mut client, &mut signals, &mut held).await;
                    if let Err(why) = waited {
                        refuse_rest(messages, out);
                        break 'reading why;
                    }
                }
                Kind::Request => {
                    in_flight.spawn(served.on_request(msg));
                }
                Kind::Notification | Kind::Response => {
                    let sent = async {
                        match msg.kind() {
                            Kind::Notification => served.on_notification(msg).await,
                            _ => served.on_response(msg).await,
                        }
                    };
                    if let Err(why) = meanwhile(sent, GRACE, &mut client, &mut signals, &mut held).await {
                        refuse_rest(messages, out);
                        break 'reading why;
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
    };
    tracing::info!(in_flight = in_flight.len(), "{why}; stopping");
    stop(&*served, in_flight, writer, &mut signals).await;
}

/// Resolves once task `task` of `in_flight` has ended.
async fn ended(task: tokio::task::Id, in_flight: &mut JoinSet<()>) {
    loop {
        match in_flight.join_next_with_id().await {
            Some(Ok((id, ()))) if id == task => return,
            Some(Err(e)) if e.id() == task => return,
            None => return,
            Some(_) => {}
        }
    }
}

/// Run `work` (handling one message) while still watching for the stop: a
/// signal ends the wait at once (`Err`), and so does stdin closing, `on_eof`
/// later if `work` has not ended by then. Meanwhile the client's next line
/// is read ahead and kept in `held`, handled after `work`. What `work` had
/// not done when the wait ends is dropped (an `initialize` task goes on in
/// the stop).
async fn meanwhile<T>(
    work: impl Future<Output = T>,
    on_eof: Duration,
    client: &mut ClientLines<impl AsyncRead + Unpin>,
    signals: &mut Signals,
    held: &mut Option<Read>,
) -> Result<T, Why> {
    tokio::pin!(work);
    let mut eof_wait: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
    loop {
        tokio::select! {
            biased;
            () = signals.next() => return Err(Why::Signal),
            done = &mut work => return Ok(done),
            read = client.next(), if held.is_none() => {
                let eof = read.is_none();
                *held = Some(read);
                if eof {
                    if on_eof.is_zero() {
                        return Err(Why::StdinClosed);
                    }
                    eof_wait = Some(Box::pin(tokio::time::sleep(on_eof)));
                }
            }
            () = async { if let Some(wait) = eof_wait.as_mut() { wait.await } }, if eof_wait.is_some() => {
                return Err(Why::StdinClosed);
            }
        }
    }
}

/// Answer the requests among `rest` (the line being handled when reading
/// stopped) with an error: they were never started.
fn refuse_rest(rest: impl Iterator<Item = Message>, out: &Outbox) {
    for msg in rest.filter(|m| m.kind() == Kind::Request) {
        let _ = out.send(jsonrpc::error(
            msg.id().clone(),
            jsonrpc::INTERNAL_ERROR,
            "mcp-bridge is stopping; the request was not sent",
            None,
        ));
    }
}

/// The stop sequence, once reading has stopped (step 1); a second signal
/// exits at once.
async fn stop<S: Served>(served: &S, mut in_flight: JoinSet<()>, writer: Writer, signals: &mut Signals) {
    let steps = async {
        if tokio::time::timeout(ANSWER_LIMIT, served.client_gone()).await.is_err() {
            tracing::debug!("the servers' requests were not all answered within {ANSWER_LIMIT:?}");
        }
        if tokio::time::timeout(GRACE, drain(&mut in_flight)).await.is_err() {
            tracing::info!(
                in_flight = in_flight.len(),
                "requests still in flight after {GRACE:?}: answering each with an error and cancelling it"
            );
            served.stop_waiting();
            if tokio::time::timeout(CANCEL_LIMIT, drain(&mut in_flight)).await.is_err() {
                tracing::debug!(
                    left = in_flight.len(),
                    "requests still ending after {CANCEL_LIMIT:?}; dropped"
                );
                in_flight.abort_all();
            }
        }
        if tokio::time::timeout(CLOSE_LIMIT, served.close()).await.is_err() {
            tracing::debug!("the sessions did not all end within {CLOSE_LIMIT:?}");
        }
        served.pass_on_last().await;
        // Every answer is queued by now; background tasks that may still hold
        // a sender are not waited for.
        writer.finish(FLUSH_LIMIT).await;
    };
    tokio::select! {
        biased;
        () = signals.next() => {
            tracing::warn!("told to stop again: exiting now, before the stop is done");
            std::process::exit(EXIT_AT_ONCE);
        }
        () = steps => {}
    }
}

async fn drain(in_flight: &mut JoinSet<()>) {
    while in_flight.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests;
