//! Serving the client until it goes, and stopping well: the one loop over
//! the client's lines, the signal watch and the stop sequence, for a single
//! server (`relay`) and a bundle (`bundle`) alike.
//!
//! The loop reads the client's lines (`client::ClientLines`) and hands each
//! message to what is served (`Served`): `initialize` is awaited before the
//! next line is read, so nothing reaches a remote before its session
//! exists; every other request runs as a task of its own, so a slow one
//! holds up nothing; notifications and the client's responses go in order.
//! A line that is not JSON, or a message that is none of request,
//! notification and response, is answered with an error here.
//!
//! Reading stops when stdin closes or the process is told to stop (SIGTERM,
//! Ctrl-C: `Signals`). Then, in this order (`stop`):
//! 1. stop reading;
//! 2. answer what is pending: the requests the servers sent the client and
//!    it never answered get an error, so the remote's tools stop waiting;
//! 3. finish in-flight work: each of the client's requests still running
//!    ends with its answer, bounded by its server's `timeout`;
//! 4. end the remote sessions (DELETE) and stop their streams;
//! 5. flush: the stdout writer writes what is queued by then and stops,
//!    within `client::FLUSH_LIMIT`;
//! 6. the caller returns, and the process exits 0.
//!
//! Meant to change here: giving in-flight requests an error about a second
//! after a signal (with `notifications/cancelled` to their remote) is one
//! more step between 2 and 3, bounded by a timer on step 3; exiting at once
//! on a second signal is `Signals` reporting every signal, not only the
//! first, and `stop` racing the steps against the next one.

use crate::client::{ClientLines, FLUSH_LIMIT, Outbox, Writer};
use crate::jsonrpc::{self, Kind};
use crate::message::Message;
use std::future::Future;
use std::sync::Arc;
use tokio::io::AsyncRead;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

/// What the loop serves: one server's relay, a bundle of servers, or a
/// refusal naming why the bridge could not start.
pub trait Served: Send + Sync + 'static {
    /// Whether a message must be parsed whole before it is handled; one whose
    /// text no tree can hold (a number such as 1e400) is then answered as a
    /// parse error.
    fn needs_tree(&self, msg: &Message) -> bool;

    /// Called first, for every message: true when it was taken over
    /// (answered, or to be relayed another way).
    fn takes_over(&self, _msg: &Message) -> bool {
        false
    }

    /// The client's `initialize`, handled before the next line is read.
    fn on_initialize(&self, msg: Message) -> impl Future<Output = ()> + Send;

    /// Any other request, run as a task of its own.
    fn on_request(self: &Arc<Self>, msg: Message) -> impl Future<Output = ()> + Send + 'static;

    /// A notification, in order.
    fn on_notification(&self, msg: Message) -> impl Future<Output = ()> + Send;

    /// The client's answer to a request a server sent it, in order.
    fn on_response(&self, msg: Message) -> impl Future<Output = ()> + Send;

    /// Step 2 of the stop: answer the servers' requests the client left
    /// unanswered.
    fn client_gone(&self) -> impl Future<Output = ()> + Send;

    /// Step 4 of the stop: end every remote session and pass on what the
    /// remotes sent meanwhile.
    fn close(&self) -> impl Future<Output = ()> + Send;
}

/// Serve the client's messages from `input` until it closes or the process
/// is told to stop, then stop in order (see the module docs). `out` is the
/// outbox `writer` writes.
pub async fn serve_until_stopped<S: Served>(
    input: impl AsyncRead + Unpin,
    served: Arc<S>,
    out: &Outbox,
    writer: Writer,
) {
    let mut client = ClientLines::new(input);
    let mut signals = Signals::watch();
    let mut in_flight = JoinSet::new();
    loop {
        let line = tokio::select! {
            biased;
            line = client.next() => line,
            () = signals.stop() => {
                tracing::info!("terminated by signal; finishing as if stdin had closed");
                None
            }
        };
        let Some(line) = line else { break };
        while in_flight.try_join_next().is_some() {}
        let messages = match line {
            Ok(messages) => messages,
            Err(answer) => {
                let _ = out.send(answer);
                continue;
            }
        };
        for msg in messages {
            if served.needs_tree(&msg) && msg.tree().is_none() {
                let _ = out.send(msg.unreadable());
                continue;
            }
            if served.takes_over(&msg) {
                continue;
            }
            match msg.kind() {
                Kind::Request if msg.method() == Some("initialize") => served.on_initialize(msg).await,
                Kind::Request => {
                    in_flight.spawn(served.on_request(msg));
                }
                Kind::Notification => served.on_notification(msg).await,
                Kind::Response => served.on_response(msg).await,
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
    stop(&*served, in_flight, writer).await;
}

/// The stop sequence, once reading has stopped (step 1).
async fn stop<S: Served>(served: &S, mut in_flight: JoinSet<()>, writer: Writer) {
    tracing::debug!(in_flight = in_flight.len(), "stopping; finishing in-flight requests");
    served.client_gone().await;
    while in_flight.join_next().await.is_some() {}
    served.close().await;
    // Every answer is queued by now; background tasks that may still hold
    // a sender are not waited for.
    writer.finish(FLUSH_LIMIT).await;
}

/// The watch for SIGTERM and Ctrl-C, kept by a task of its own: the signal
/// streams cost more to poll at every line than a channel does.
pub struct Signals {
    told: oneshot::Receiver<()>,
    live: bool,
}

impl Signals {
    /// Start watching (inside the runtime).
    pub fn watch() -> Signals {
        let (mut tell, told) = oneshot::channel();
        tokio::spawn(async move {
            tokio::select! {
                () = terminated() => {
                    let _ = tell.send(());
                }
                () = tell.closed() => {}
            }
        });
        Signals { told, live: true }
    }

    /// Resolves when the process is told to stop; never, once the watch
    /// ended without a signal (the runtime is ending). Cancel safe.
    pub async fn stop(&mut self) {
        if self.live {
            let told = (&mut self.told).await.is_ok();
            self.live = false;
            if told {
                return;
            }
        }
        std::future::pending().await
    }
}

/// Resolves at the first SIGTERM or Ctrl-C.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::spawn_writer;
    use serde_json::{Value, json};
    use std::sync::Mutex;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Records what it is asked, in order; answers each request once the
    /// client is gone (so the stop must run step 2 before it waits for them).
    struct Recorder {
        out: Outbox,
        seen: Mutex<Vec<String>>,
        gone: tokio::sync::Notify,
    }

    impl Recorder {
        fn note(&self, what: impl Into<String>) {
            self.seen.lock().unwrap().push(what.into());
        }
    }

    impl Served for Recorder {
        fn needs_tree(&self, _msg: &Message) -> bool {
            false
        }

        async fn on_initialize(&self, msg: Message) {
            self.note(format!("initialize {}", msg.id()));
        }

        fn on_request(self: &Arc<Self>, msg: Message) -> impl Future<Output = ()> + Send + 'static {
            let me = self.clone();
            async move {
                me.gone.notified().await;
                let _ = me.out.send(json!({"jsonrpc": "2.0", "id": msg.id(), "result": {}}));
                me.note(format!("answered {}", msg.id()));
            }
        }

        async fn on_notification(&self, msg: Message) {
            self.note(format!("notification {}", msg.method().unwrap_or("")));
        }

        async fn on_response(&self, msg: Message) {
            self.note(format!("response {}", msg.id()));
        }

        async fn client_gone(&self) {
            self.note("client gone");
            self.gone.notify_one();
        }

        async fn close(&self) {
            self.note("close");
        }
    }

    #[tokio::test]
    async fn stdin_closing_answers_bad_lines_finishes_requests_then_closes_and_flushes() {
        let (mut client_in, input) = tokio::io::duplex(1 << 16);
        let (output, mut client_out) = tokio::io::duplex(1 << 16);
        let (out, rx) = Outbox::channel();
        let writer = spawn_writer(rx, output);
        let served = Arc::new(Recorder {
            out: out.clone(),
            seen: Mutex::default(),
            gone: tokio::sync::Notify::new(),
        });
        let lines = [
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            "not json",
            r#"{"jsonrpc":"2.0","id":9}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"slow"}}"#,
            r#"{"jsonrpc":"2.0","id":"s-1","result":{}}"#,
        ];
        client_in.write_all((lines.join("\n") + "\n").as_bytes()).await.unwrap();
        drop(client_in);
        let stopped = serve_until_stopped(input, served.clone(), &out, writer);
        tokio::time::timeout(std::time::Duration::from_secs(10), stopped)
            .await
            .expect("the stop ends");

        let seen = served.seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            [
                "initialize 1",
                "notification notifications/initialized",
                "response \"s-1\"",
                "client gone",
                "answered 2",
                "close"
            ],
            "in order, and the in-flight request ends between the client's going and the close"
        );
        let mut written = String::new();
        client_out.read_to_string(&mut written).await.unwrap();
        let written: Vec<Value> = written.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let codes: Vec<_> = written.iter().map(|m| m.pointer("/error/code").cloned()).collect();
        assert_eq!(
            codes,
            [
                Some(json!(jsonrpc::PARSE_ERROR)),
                Some(json!(jsonrpc::INVALID_REQUEST)),
                None
            ],
            "{written:?}"
        );
        assert_eq!(written[1]["id"], 9);
        assert_eq!(written[2]["id"], 2, "the in-flight answer is flushed before the end");
    }
}
