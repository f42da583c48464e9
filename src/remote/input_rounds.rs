//! A legacy client's call to a modern remote that asks for input
//! (SEP-2322, `resultType: "input_required"`), seen through to one answer.
//!
//! `InputRounds` is a transform on the remote's answers. When the client
//! speaks a legacy revision and the remote a modern one, it takes an
//! `input_required` answer to `tools/call`, `prompts/get` or
//! `resources/read` instead of passing it on: it sends the client each
//! input request as a request of the bridge's own, waits for the answers
//! (each within the server's `timeout`), and retries the call with them and
//! the server's `requestState` under a new id. It repeats that until a
//! complete answer, at most `era::mrtr::MAX_ROUNDS` times, and the client
//! gets that answer under its own id; the request counts as in flight
//! until then (`ending`), so a stop finishes it. Whatever goes wrong (bad
//! input requests, a client that refuses or never answers, a server that
//! asks forever) ends in one error naming the server and the reason; a
//! cancellation ends the rounds with no answer.

use super::era_shared::EraShared;
use crate::client::Outbox;
use crate::era::mrtr::{self, InputRequired};
use crate::hooks::{Asked, ClientAsks, Transform, Upstream};
use crate::jsonrpc::{self, IdKey};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use tokio::sync::oneshot;
use tokio::task::AbortHandle;

/// The requests that may answer `input_required`.
const ASKING: &[&str] = &["tools/call", "prompts/get", "resources/read"];

pub struct InputRounds(Arc<Inner>);

struct Inner {
    shared: Arc<EraShared>,
    upstream: OnceLock<Weak<dyn Upstream>>,
    /// The client's answers awaited, by the id of the bridge's request.
    waiting: ClientAsks,
    /// The rounds under way, by the client's request id.
    rounds: Mutex<HashMap<IdKey, Round>>,
}

/// One request's rounds under way: its task, and word of its end (the
/// sender is the task's, dropped when it ends or is aborted).
struct Round {
    task: AbortHandle,
    ended: Option<oneshot::Receiver<()>>,
}

impl InputRounds {
    pub fn new(shared: Arc<EraShared>) -> Self {
        InputRounds(Arc::new(Inner {
            shared,
            upstream: OnceLock::new(),
            waiting: ClientAsks::default(),
            rounds: Mutex::new(HashMap::new()),
        }))
    }
}

impl Transform for InputRounds {
    fn bind(&self, upstream: &Weak<dyn Upstream>) {
        let _ = self.0.upstream.set(upstream.clone());
    }

    fn wants_params(&self, method: &str) -> bool {
        self.0.shared.translating() && ASKING.contains(&method)
    }

    fn wants(&self, method: &str, text: &[u8]) -> bool {
        self.0.shared.translating()
            && ASKING.contains(&method)
            && memchr::memmem::find(text, b"input_required").is_some()
    }

    fn response(&self, asked: &Asked<'_>, response: &mut Value, out: &Outbox) {
        if !self.wants_params(asked.method) {
            return;
        }
        let Some(result) = response.get("result") else { return };
        let id = response.get("id").cloned().unwrap_or(Value::Null);
        let ir = match mrtr::read(result) {
            Ok(None) => return,
            Ok(Some(ir)) => ir,
            Err(why) => {
                *response = self.0.error(id, &why);
                return;
            }
        };
        let original = json!({
            "jsonrpc": "2.0",
            "id": id,
            "method": asked.method,
            "params": asked.params.cloned().unwrap_or_else(|| json!({})),
        });
        *response = Value::Null; // taken: answered after the rounds
        let inner = self.0.clone();
        let out = out.clone();
        let key = jsonrpc::id_key(&id);
        let mut rounds = self.0.rounds.lock().unwrap_or_else(|e| e.into_inner());
        let (end, ended) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _end = end;
            let answer = inner.run(original, ir, &out).await;
            inner
                .rounds
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&jsonrpc::id_key(&id));
            let _ = out.send(answer);
        });
        rounds.insert(
            key,
            Round {
                task: task.abort_handle(),
                ended: Some(ended),
            },
        );
    }

    fn answered(&self, answer: &Value) -> bool {
        self.0.waiting.answered(answer)
    }

    fn cancelled(&self, id: &Value) {
        if let Some(round) = self
            .0
            .rounds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&jsonrpc::id_key(id))
        {
            round.task.abort();
        }
    }

    fn client_gone(&self) {
        self.0.waiting.clear();
    }
}

impl InputRounds {
    /// Word of the end of the rounds for the client's request `id`, when
    /// they are under way: its answer is written by then. The request is
    /// in flight until it comes, so the stop waits for it.
    pub fn ending(&self, id: &Value) -> Option<oneshot::Receiver<()>> {
        self.0
            .rounds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&jsonrpc::id_key(id))
            .and_then(|round| round.ended.take())
    }
}

impl Inner {
    /// The error answer to the client's request `id`, logged as the relay's
    /// own error answers are.
    fn error(&self, id: Value, why: &str) -> Value {
        let server = &self.shared.server;
        let message = format!("mcp-bridge: server `{server}`: {why}");
        tracing::warn!(target: crate::logging::ANSWERED_ERROR, "{message}");
        jsonrpc::error(id, jsonrpc::REMOTE_ERROR, message, Some(json!({ "server": server })))
    }

    /// Ask, retry and repeat; the client's answer (under its own id).
    async fn run(&self, original: Value, first: InputRequired, out: &Outbox) -> Value {
        let id = original["id"].clone();
        let mut request = original;
        let mut ir = first;
        for _ in 0..mrtr::MAX_ROUNDS {
            let answers = match self.ask(&ir, out).await {
                Ok(answers) => answers,
                Err(why) => return self.error(id, &why),
            };
            let retry = mrtr::retry(&request, crate::ids::next_id("retry"), answers, ir.state.as_ref());
            let Some(upstream) = self.upstream.get().and_then(Weak::upgrade) else {
                return self.error(id, "the server's connection was closed");
            };
            let mut answer = match upstream.request_own(retry.clone()).await {
                Ok(answer) => answer,
                Err(e) => return self.error(id, &format!("retrying the request with the client's input failed: {e}")),
            };
            match answer.get("result").map(mrtr::read) {
                Some(Ok(Some(next))) => {
                    request = retry;
                    ir = next;
                }
                Some(Err(why)) => return self.error(id, &why),
                _ => {
                    answer["id"] = id;
                    return answer;
                }
            }
        }
        self.error(
            id,
            &format!(
                "the server asked for input {} times without completing the request",
                mrtr::MAX_ROUNDS
            ),
        )
    }

    /// Send the client each input request and gather its answers.
    async fn ask(&self, ir: &InputRequired, out: &Outbox) -> Result<Map<String, Value>, String> {
        let mut answers = Map::new();
        for (key, request) in &ir.requests {
            let bid = crate::ids::next_id("input");
            let rx = self.waiting.expect(&bid);
            let method = request.get("method").and_then(Value::as_str).unwrap_or("").to_string();
            if out.send(mrtr::client_request(bid.clone(), request)).is_err() {
                return Err("the client is gone".into());
            }
            let timeout = self.shared.timeout;
            let answer = match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(_)) => return Err(format!("the client left without answering the server's `{method}`")),
                Err(_) => {
                    self.waiting.forget(&bid);
                    let _ = out.send(json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                        "params": {"requestId": bid, "reason": "no answer in time"}}));
                    return Err(format!(
                        "the client did not answer the server's `{method}` within {timeout:?} (raise `timeout` for this server in the config)"
                    ));
                }
            };
            match answer.get("result") {
                Some(result) => {
                    answers.insert(key.clone(), result.clone());
                }
                None => {
                    let said = answer
                        .pointer("/error/message")
                        .and_then(Value::as_str)
                        .unwrap_or("no reason given");
                    return Err(format!("the client refused the server's `{method}`: {said}"));
                }
            }
        }
        Ok(answers)
    }
}
