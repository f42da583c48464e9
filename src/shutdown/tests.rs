//! The loop and the stop, driven in-process by a recorder.

use super::*;
use crate::client::spawn_writer;
use serde_json::{Value, json};
use std::sync::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Records what it is asked, in order; answers each request once the
/// client is gone (so the stop must run step 2 before it waits for them),
/// or, when `stuck`, only once told to stop waiting (with an error).
struct Recorder {
    out: Outbox,
    seen: Mutex<Vec<String>>,
    gone: tokio::sync::Notify,
    stuck: bool,
}

impl Recorder {
    fn new(out: &Outbox, stuck: bool) -> Arc<Recorder> {
        Arc::new(Recorder {
            out: out.clone(),
            seen: Mutex::default(),
            gone: tokio::sync::Notify::new(),
            stuck,
        })
    }
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

    fn on_initialize(self: &Arc<Self>, msg: Message) -> impl Future<Output = ()> + Send + 'static {
        self.note(format!("initialize {}", msg.id()));
        std::future::ready(())
    }

    fn on_request(self: &Arc<Self>, msg: Message) -> impl Future<Output = ()> + Send + 'static {
        let me = self.clone();
        async move {
            me.gone.notified().await;
            let answer = if me.stuck {
                jsonrpc::error(msg.id().clone(), jsonrpc::REMOTE_ERROR, "stopping", None)
            } else {
                json!({"jsonrpc": "2.0", "id": msg.id(), "result": {}})
            };
            let _ = me.out.send(answer);
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
        if !self.stuck {
            self.gone.notify_one();
        }
    }

    fn stop_waiting(&self) {
        self.note("stop waiting");
        if self.stuck {
            self.gone.notify_one();
        }
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
    let served = Recorder::new(&out, false);
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

#[tokio::test]
async fn a_request_that_does_not_end_in_the_grace_is_told_to_stop_waiting_then_the_sessions_close() {
    let (mut client_in, input) = tokio::io::duplex(1 << 16);
    let (output, mut client_out) = tokio::io::duplex(1 << 16);
    let (out, rx) = Outbox::channel();
    let writer = spawn_writer(rx, output);
    let served = Recorder::new(&out, true);
    let call = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"never"}}"#;
    client_in.write_all(format!("{call}\n").as_bytes()).await.unwrap();
    drop(client_in);
    let started = std::time::Instant::now();
    let stopped = serve_until_stopped(input, served.clone(), &out, writer);
    tokio::time::timeout(std::time::Duration::from_secs(10), stopped)
        .await
        .expect("the stop ends");
    assert!(started.elapsed() >= GRACE, "the request was not given its grace");
    let seen = served.seen.lock().unwrap().clone();
    assert_eq!(seen, ["client gone", "stop waiting", "answered 7", "close"]);
    let mut written = String::new();
    client_out.read_to_string(&mut written).await.unwrap();
    let answer: Value = serde_json::from_str(written.trim()).unwrap();
    assert_eq!(answer["id"], 7);
    assert_eq!(answer["error"]["message"], "stopping", "{answer}");
}
