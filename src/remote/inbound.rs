//! Where messages from the remote go. Every message read from any HTTP
//! response or stream passes through `Inbound::dispatch`: a response to a
//! pending request completes it (and is written to the client unless the
//! bridge sent that request itself); anything else (server→client requests,
//! notifications, progress, logs) is written to the client as it is.
//! Responses to the client's requests first pass through the `Transform`s
//! (connect links, tool filters), which may rewrite them. A response that no
//! transform or hook looks at goes to the client as the bytes the remote
//! sent (`dispatch_raw`): not parsed into a tree and written out again, which
//! halves the memory a large result needs and the work each call costs.

use crate::client::Outbox;
use crate::hooks::{Asked, Transform, Upstream};
use crate::jsonrpc::{self, Kind};
use crate::message::Message;
use bytes::Bytes;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::{Notify, oneshot};

mod answer_head;
mod recorder;

use answer_head::{raw_response_id, say_which_method};
pub(crate) use recorder::{Hints, Recorder};

/// Who gets the response to a pending request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The client only; the waiter just learns it arrived (`Value::Null`).
    Client,
    /// The client, and a copy for the waiter (e.g. for hooks).
    ClientAndCopy,
    /// The waiter only: a request the bridge sent itself.
    Bridge,
}

struct Pending {
    route: Route,
    method: Arc<str>,
    /// The request, kept when a transform or the list cache wants its
    /// params (read then).
    request: Option<Bytes>,
    /// Whether the list cache records the answer (not one it gave itself).
    record: bool,
    done: oneshot::Sender<Value>,
}

pub struct Inbound {
    out: Outbox,
    pending: Mutex<HashMap<jsonrpc::IdKey, Pending>>,
    /// The capabilities the client declared in `initialize`.
    client_caps: Mutex<Option<Value>>,
    transforms: Vec<Arc<dyn Transform>>,
    /// Transforms the remote side adds after construction (the era's,
    /// the server's tool filter), run after the server's own.
    late_transforms: OnceLock<Vec<Arc<dyn Transform>>>,
    /// Requests waiting on progress, by progress token: each
    /// `notifications/progress` for one restarts its timeout.
    progress: Mutex<HashMap<jsonrpc::IdKey, Arc<Notify>>>,
    /// Ids of server→client requests the client has not answered yet.
    unanswered: Mutex<Vec<Value>>,
    /// Keeps the remote's answers to the lists, before any transform.
    list_cache: OnceLock<Arc<dyn Recorder>>,
}

impl Inbound {
    pub fn new(out: Outbox) -> Self {
        Self {
            out,
            pending: Mutex::new(HashMap::new()),
            client_caps: Mutex::new(None),
            transforms: vec![],
            late_transforms: OnceLock::new(),
            progress: Mutex::new(HashMap::new()),
            unanswered: Mutex::new(Vec::new()),
            list_cache: OnceLock::new(),
        }
    }

    /// Record the remote's answers to the lists in `cache` (once).
    pub(crate) fn keep_lists_in(&self, cache: Arc<dyn Recorder>) {
        let _ = self.list_cache.set(cache);
    }

    fn records(&self, method: &str) -> bool {
        self.list_cache.get().is_some_and(|c| c.keeps(method))
    }

    /// Record an answer that did not come through `dispatch` (a modern
    /// client's `server/discover`, asked or answered by the bridge itself)
    /// in the list cache.
    pub(crate) fn record(&self, method: &str, params: &Value, response: &Value, hints: Hints) {
        if let Some(cache) = self.list_cache.get().filter(|c| c.keeps(method)) {
            cache.record(method, params, response, hints);
        }
    }

    /// The server's own transforms (its connect links), run first.
    pub fn with_transforms(mut self, transforms: Vec<Arc<dyn Transform>>) -> Self {
        self.transforms = transforms;
        self
    }

    /// Let transforms reach the remote this feeds (to retry a call).
    pub fn bind(&self, remote: &Arc<dyn Upstream>) {
        let upstream = Arc::downgrade(remote);
        self.all_transforms().for_each(|t| t.bind(&upstream));
        if let Some(cache) = self.list_cache.get() {
            cache.bind(upstream);
        }
    }

    fn all_transforms(&self) -> impl Iterator<Item = &Arc<dyn Transform>> {
        self.transforms
            .iter()
            .chain(self.late_transforms.get().into_iter().flatten())
    }

    /// The client's answer `answer` to a request the remote did not send:
    /// to the transform waiting for it, if one is (true then).
    pub fn answered_own(&self, answer: &Value) -> bool {
        self.all_transforms().any(|t| t.answered(answer))
    }

    /// The client cancelled its request `id`.
    pub fn cancelled(&self, id: &Value) {
        self.forget(id);
        self.all_transforms().for_each(|t| t.cancelled(id));
    }

    /// The client is gone: transforms stop waiting for it.
    pub fn client_gone(&self) {
        self.all_transforms().for_each(|t| t.client_gone());
    }

    /// Add transforms after the built-in ones (once; later calls are ignored).
    pub fn add_transforms(&self, t: Vec<Arc<dyn Transform>>) {
        let _ = self.late_transforms.set(t);
    }

    /// Be told of each `notifications/progress` carrying `token`.
    pub fn watch_progress(&self, token: &Value) -> Arc<Notify> {
        let notify = Arc::new(Notify::new());
        self.progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(jsonrpc::id_key(token), notify.clone());
        notify
    }

    /// Stop watching `token`.
    pub fn unwatch_progress(&self, token: &Value) {
        self.progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&jsonrpc::id_key(token));
    }

    fn saw_progress(&self, msg: &Value) {
        if let Some(token) = jsonrpc::at(msg, &["params", "progressToken"])
            && let Some(n) = self
                .progress
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&jsonrpc::id_key(token))
        {
            n.notify_one();
        }
    }

    /// The client answered `id`: true when it is a request of the server's
    /// the client had not answered yet (the answer is the remote's).
    pub fn answered(&self, id: &Value) -> bool {
        let mut unanswered = self.unanswered.lock().unwrap_or_else(|e| e.into_inner());
        let before = unanswered.len();
        unanswered.retain(|u| u != id);
        unanswered.len() != before
    }

    /// The server's requests the client never answered (taken, so each is
    /// reported once).
    pub fn take_unanswered(&self) -> Vec<Value> {
        std::mem::take(&mut *self.unanswered.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Remember what the client can do (from its `initialize`).
    pub fn set_client_caps(&self, caps: Option<Value>) {
        *self.client_caps.lock().unwrap_or_else(|e| e.into_inner()) = caps;
    }

    /// Wait for the response to request `id`; `route` says who gets it.
    pub fn expect(&self, id: &Value, method: &str, route: Route) -> oneshot::Receiver<Value> {
        self.wait_for(id, Arc::from(method), None, route)
    }

    /// `expect` for a client request, keeping its text when a transform
    /// wants its params.
    pub fn expect_request(&self, request: &Message, route: Route) -> oneshot::Receiver<Value> {
        let method = request.method_shared().unwrap_or_else(|| Arc::from(""));
        let keep = self.all_transforms().any(|t| t.wants_params(&method)) || self.records(&method);
        let text = keep.then(|| request.text().clone());
        self.wait_for(request.id(), method, text, route)
    }

    fn wait_for(&self, id: &Value, method: Arc<str>, request: Option<Bytes>, route: Route) -> oneshot::Receiver<Value> {
        let (done, rx) = oneshot::channel();
        let pending = Pending {
            route,
            method,
            request,
            record: true,
            done,
        };
        self.lock().insert(jsonrpc::id_key(id), pending);
        rx
    }

    /// Stop waiting for `id`. Returns true if it was still pending, i.e. no
    /// response has been delivered for it.
    pub fn forget(&self, id: &Value) -> bool {
        self.lock().remove(&jsonrpc::id_key(id)).is_some()
    }

    pub fn is_pending(&self, id: &Value) -> bool {
        self.lock().contains_key(&jsonrpc::id_key(id))
    }

    /// Route one message that came from the remote.
    pub fn dispatch(&self, mut msg: Value) {
        if jsonrpc::kind(&msg) == Kind::Response {
            let id = msg.get("id").cloned().unwrap_or(Value::Null);
            if id.is_null() {
                tracing::warn!("remote sent an error without an id; passing it on");
                self.to_client(msg);
                return;
            }
            let Some(p) = self.lock().remove(&jsonrpc::id_key(&id)) else {
                tracing::debug!(%id, "response for a request no longer pending; dropped");
                return;
            };
            if p.route == Route::Bridge {
                let _ = p.done.send(msg);
                return;
            }
            let transforms = self.all_transforms().next().is_some();
            let request: Option<Value> = (p.record || transforms)
                .then(|| p.request.as_deref().and_then(|t| serde_json::from_slice(t).ok()))
                .flatten();
            if p.record
                && let Some(cache) = self.list_cache.get().filter(|c| c.keeps(&p.method))
            {
                let params = request.as_ref().and_then(|r| r.get("params")).cloned();
                let params = params.unwrap_or_else(|| serde_json::json!({}));
                cache.record(&p.method, &params, &msg, Hints::Remote);
            }
            say_which_method(&mut msg, &p.method);
            if transforms {
                let caps = self.client_caps.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let asked = Asked {
                    method: &p.method,
                    client_caps: caps.as_ref(),
                    params: request.as_ref().and_then(|r| r.get("params")),
                };
                for t in self.all_transforms() {
                    t.response(&asked, &mut msg, &self.out);
                    if msg.is_null() {
                        // Taken: that transform answers the client itself.
                        let _ = p.done.send(Value::Null);
                        return;
                    }
                }
            }
            // Responses can be large: copy one only when the waiter needs it.
            let copy = if p.route == Route::ClientAndCopy {
                msg.clone()
            } else {
                Value::Null
            };
            self.to_client(msg);
            let _ = p.done.send(copy);
        } else {
            if jsonrpc::method(&msg) == Some("notifications/progress") {
                self.saw_progress(&msg);
            }
            if let Some(id) = msg.get("id").filter(|id| !id.is_null()) {
                if self.all_transforms().any(|t| t.server_request(&msg, &self.out)) {
                    return;
                }
                self.all_transforms().for_each(|t| t.id_taken(id));
                self.unanswered
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(id.clone());
            }
            self.to_client(msg);
        }
    }

    /// Route one message the remote sent, given as its JSON text, without
    /// parsing it into a tree when it is a response to a pending client
    /// request that only goes to the client and that no transform looks at.
    /// Otherwise (or when it is not valid JSON) the text is handed back.
    pub fn dispatch_raw(&self, mut text: Vec<u8>) -> Result<(), Vec<u8>> {
        let Some(id) = raw_response_id(&text) else {
            return Err(text);
        };
        let key = jsonrpc::id_key(&id);
        let method = match self.lock().get(&key) {
            Some(p) if p.route == Route::Client => p.method.clone(),
            _ => return Err(text),
        };
        // Asked with no lock held: a transform may take locks of its own.
        if self.transformed(&method, &text) || self.records(&method) {
            return Err(text);
        }
        let mut pending = self.lock();
        let Some(p) = pending.remove(&key) else {
            return Err(text);
        };
        if p.route != Route::Client || !Arc::ptr_eq(&p.method, &method) {
            pending.insert(key, p); // the id was reused meanwhile: the usual way
            return Err(text);
        }
        drop(pending);
        // Line breaks in valid JSON are whitespace between tokens.
        for b in text.iter_mut().filter(|b| matches!(b, b'\n' | b'\r')) {
            *b = b' ';
        }
        let _ = self.out.send_raw(text);
        let _ = p.done.send(Value::Null);
        Ok(())
    }

    /// Whether any transform needs to see this response to `method`.
    fn transformed(&self, method: &str, text: &[u8]) -> bool {
        self.all_transforms().any(|t| t.wants(method, text))
    }

    /// Hand `response` to the client as the remote's answer to `request`,
    /// though it came some other way (held until the remote's era was
    /// known, or from the list cache): through the same transforms, with
    /// the request's id. Returns the copy `route` asks for.
    pub fn answer_now(&self, request: &Message, route: Route, mut response: Value) -> Option<Value> {
        response["id"] = request.id().clone();
        let mut answered = self.expect_request(request, route);
        if let Some(p) = self.lock().get_mut(&jsonrpc::id_key(request.id())) {
            p.record = false;
        }
        self.dispatch(response);
        answered.try_recv().ok().filter(|v| !v.is_null())
    }

    /// Write a message to the client.
    pub fn to_client(&self, msg: Value) {
        let _ = self.out.send(msg);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<jsonrpc::IdKey, Pending>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests;
