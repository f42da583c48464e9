//! A legacy remote's requests for input, for a modern client.
//!
//! A 2025 server asks for input in the middle of a call: it sends the
//! client `elicitation/create`, `sampling/createMessage` or `roots/list`
//! and waits. A 2026-07-28 client takes no requests from a server; it
//! expects the call to answer `resultType: "input_required"` and retries it
//! with the answers (SEP-2322). `LegacyAsks` joins the two:
//!
//! 1. the server's request is held, and the client's call in flight gets an
//!    `input_required` answer carrying the request and a `requestState`
//!    made here (`ask`);
//! 2. the client's retry names that state: the bridge answers the server's
//!    held request with the client's answer and waits (`retried`);
//! 3. the server's answer to the original call goes to the client under the
//!    retry's id, or the server asks again and step 1 repeats for the
//!    retry (`response`).
//!
//! The call the server's request belongs to is the latest call in flight
//! that may take input (`tools/call`, `prompts/get`, `resources/read`): a
//! legacy server sends it on that call's stream, which the bridge does not
//! tell apart from another's.

use super::era_shared::EraShared;
use crate::client::Outbox;
use crate::hooks::{Asked, Transform};
use crate::jsonrpc::{self, IdKey};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// One call's rounds: the client id to answer now, the server's request
/// waiting for the client, and the retry's task waiting for an answer.
struct Chain {
    original: Value,
    current: Value,
    asked: Option<Value>,
    waiter: Option<oneshot::Sender<()>>,
}

type Shared<T> = Arc<Mutex<T>>;

#[derive(Default)]
struct Table {
    /// Calls in flight that may take input, in order.
    calls: Vec<Value>,
    /// Chains by the original call's id.
    by_call: HashMap<IdKey, Shared<Chain>>,
    /// Chains by the `requestState` the client was given.
    by_state: HashMap<String, Shared<Chain>>,
}

pub struct LegacyAsks {
    shared: Arc<EraShared>,
    table: Mutex<Table>,
}

/// What a retry found.
pub(crate) enum Retry {
    /// The server's held request: answer it, then wait on the receiver.
    Resume { asked: Value, done: oneshot::Receiver<()> },
    /// Not a state the bridge made.
    Unknown,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl LegacyAsks {
    pub fn new(shared: Arc<EraShared>) -> Self {
        LegacyAsks {
            shared,
            table: Mutex::new(Table::default()),
        }
    }

    /// A call that may take input went out (modern client, legacy remote).
    pub fn started(&self, id: &Value) {
        lock(&self.table).calls.push(id.clone());
    }

    /// That call's relay ended.
    pub fn ended(&self, id: &Value) {
        lock(&self.table).calls.retain(|c| c != id);
    }

    /// Whether the client was given `input_required` for call `id` (its
    /// answer now comes under the retry's id; no error is written for it).
    pub fn parked(&self, id: &Value) -> bool {
        lock(&self.table).by_call.contains_key(&jsonrpc::id_key(id))
    }

    /// The client retried with `state` under id `retry`.
    pub(crate) fn retried(&self, state: &str, retry: &Value) -> Retry {
        let Some(chain) = lock(&self.table).by_state.remove(state) else {
            return Retry::Unknown;
        };
        let mut c = lock(&chain);
        let Some(asked) = c.asked.take() else {
            return Retry::Unknown;
        };
        let (tx, rx) = oneshot::channel();
        c.current = retry.clone();
        c.waiter = Some(tx);
        Retry::Resume { asked, done: rx }
    }

    /// Give up a chain (the retry timed out or was cancelled).
    pub fn drop_call(&self, original: &Value) {
        let mut t = lock(&self.table);
        if let Some(chain) = t.by_call.remove(&jsonrpc::id_key(original)) {
            t.by_state.retain(|_, c| !Arc::ptr_eq(c, &chain));
        }
    }

    /// The original call of the chain the client's `retry` continues.
    pub fn original_of(&self, retry: &Value) -> Option<Value> {
        let t = lock(&self.table);
        t.by_call.values().find_map(|c| {
            let c = lock(c);
            (c.current == *retry).then(|| c.original.clone())
        })
    }
}

impl Transform for LegacyAsks {
    fn wants(&self, method: &str, _text: &[u8]) -> bool {
        self.shared.upgrading() && matches!(method, "tools/call" | "prompts/get" | "resources/read")
    }

    /// The server's final answer to a call the client was asked about: to
    /// the client under the latest retry's id.
    fn response(&self, _asked: &Asked<'_>, response: &mut Value, out: &Outbox) {
        let Some(id) = response.get("id") else { return };
        let Some(chain) = lock(&self.table).by_call.remove(&jsonrpc::id_key(id)) else {
            return;
        };
        let mut c = lock(&chain);
        let mut answer = std::mem::take(response);
        answer["id"] = c.current.clone();
        let _ = out.send(answer);
        if let Some(w) = c.waiter.take() {
            let _ = w.send(());
        }
        lock(&self.table)
            .by_state
            .retain(|_, other| !Arc::ptr_eq(other, &chain));
    }

    fn server_request(&self, request: &Value, out: &Outbox) -> bool {
        if !self.shared.upgrading() {
            return false;
        }
        let method = request.get("method").and_then(Value::as_str).unwrap_or("");
        if !crate::era::mrtr::KINDS.contains(&method) {
            return false;
        }
        let mut t = lock(&self.table);
        // The chain waiting on the server (a retry in flight), else the
        // latest call in flight not yet asked about.
        let chain = t
            .by_call
            .values()
            .find(|c| lock(c).waiter.is_some())
            .cloned()
            .or_else(|| {
                let call = t
                    .calls
                    .iter()
                    .rev()
                    .find(|c| !t.by_call.contains_key(&jsonrpc::id_key(c)))?
                    .clone();
                let chain = Arc::new(Mutex::new(Chain {
                    original: call.clone(),
                    current: call.clone(),
                    asked: None,
                    waiter: None,
                }));
                t.by_call.insert(jsonrpc::id_key(&call), chain.clone());
                Some(chain)
            });
        let Some(chain) = chain else {
            return false; // no call to tie it to: the client gets it as it is
        };
        let state = crate::ids::next("state");
        t.by_state.insert(state.clone(), chain.clone());
        drop(t);
        let mut c = lock(&chain);
        let mut input = json!({"method": method});
        if let Some(params) = request.get("params") {
            input["params"] = params.clone();
        }
        let answer = json!({"jsonrpc": "2.0", "id": c.current, "result": {
            "resultType": "input_required",
            "inputRequests": {"input": input},
            "requestState": state,
        }});
        c.asked = Some(request.get("id").cloned().unwrap_or(Value::Null));
        let _ = out.send(answer);
        if let Some(w) = c.waiter.take() {
            let _ = w.send(());
        }
        true
    }

    fn cancelled(&self, id: &Value) {
        if let Some(original) = self.original_of(id) {
            self.drop_call(&original);
        }
    }

    fn client_gone(&self) {
        let mut t = lock(&self.table);
        t.by_call.clear();
        t.by_state.clear();
    }
}
