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

use crate::jsonrpc::{self, Kind};
use crate::message::Message;
use crate::relay::Lane;
use bytes::Bytes;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use tokio::sync::{Notify, mpsc, oneshot};

/// One line for the client.
#[derive(Debug)]
pub enum Outgoing {
    Message(Value),
    /// One JSON message exactly as the remote sent it, with no line breaks.
    Raw(Vec<u8>),
}

impl Outgoing {
    /// The message as a `Value` (parsing a raw one).
    pub fn into_value(self) -> Option<Value> {
        match self {
            Outgoing::Message(v) => Some(v),
            Outgoing::Raw(bytes) => serde_json::from_slice(&bytes).ok(),
        }
    }
}

/// The client is gone: the stdout writer has stopped.
#[derive(Debug)]
pub struct Closed;

/// The channel to the client (the stdout writer), and the fast lane to
/// stdout when there is one (`relay::Lane`).
#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::UnboundedSender<Outgoing>,
    lane: Option<Arc<Lane>>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").field("lane", &self.lane.is_some()).finish()
    }
}

impl Outbox {
    pub fn channel() -> (Outbox, mpsc::UnboundedReceiver<Outgoing>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Outbox { tx, lane: None }, rx)
    }

    /// Write small raw answers through `lane` when nothing is queued (the
    /// writer fed by this channel must be given the same lane).
    pub fn with_lane(mut self, lane: Option<Arc<Lane>>) -> Outbox {
        self.lane = lane;
        self
    }

    pub fn send(&self, msg: Value) -> Result<(), Closed> {
        let _queued = self.lane.as_ref().map(|lane| lane.will_queue());
        self.tx.send(Outgoing::Message(msg)).map_err(|_| Closed)
    }

    /// Send one message's JSON text as it is (it must hold no line break).
    pub fn send_raw(&self, line: Vec<u8>) -> Result<(), Closed> {
        let queue = |line| self.tx.send(Outgoing::Raw(line)).map_err(|_| Closed);
        match &self.lane {
            Some(lane) => lane.offer(line, queue).unwrap_or(Ok(())),
            None => queue(line),
        }
    }
}

/// What a transform knows about the response it looks at.
pub struct Reply<'a> {
    /// The method of the client's request this answers.
    pub method: &'a str,
    /// The capabilities the client declared in `initialize`.
    pub client_caps: Option<&'a Value>,
    /// The request's params, for the methods a transform asks for
    /// (`Transform::wants_params`).
    pub params: Option<&'a Value>,
    /// The remote, for a transform that follows an answer up itself.
    pub remote: Option<&'a Weak<crate::remote::Remote>>,
}

/// A step that may rewrite a response on its way to the client, or send
/// messages of its own before it (through `out`).
pub trait Transform: Send + Sync {
    /// May rewrite `response`, or take it (leave `Value::Null`): the
    /// transform then answers the client itself, later, through `out`.
    fn response(&self, reply: &Reply<'_>, response: &mut Value, out: &Outbox);
    /// Whether `response` needs the request's params for `method`.
    fn wants_params(&self, _method: &str) -> bool {
        false
    }
    /// Whether this transform needs to see the response to `method` whose
    /// JSON text is `text` (if none does, it goes to the client as sent).
    fn wants(&self, _method: &str, _text: &[u8]) -> bool {
        true
    }
}

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
    /// The request, kept when a transform wants its params (read then).
    request: Option<Bytes>,
    done: oneshot::Sender<Value>,
}

pub struct Inbound {
    out: Outbox,
    pending: Mutex<HashMap<jsonrpc::IdKey, Pending>>,
    /// The capabilities the client declared in `initialize`.
    client_caps: Mutex<Option<Value>>,
    transforms: Vec<Arc<dyn Transform>>,
    /// A transform added after construction (the server's tool filter).
    late_transform: OnceLock<Arc<dyn Transform>>,
    /// Requests waiting on progress, by progress token: each
    /// `notifications/progress` for one restarts its timeout.
    progress: Mutex<HashMap<jsonrpc::IdKey, Arc<Notify>>>,
    /// Ids of server→client requests the client has not answered yet.
    unanswered: Mutex<Vec<Value>>,
    /// The remote this feeds (`bind`), for transforms that retry.
    remote: OnceLock<Weak<crate::remote::Remote>>,
}

impl Inbound {
    pub fn new(out: Outbox) -> Self {
        Self {
            out,
            pending: Mutex::new(HashMap::new()),
            client_caps: Mutex::new(None),
            transforms: vec![],
            late_transform: OnceLock::new(),
            progress: Mutex::new(HashMap::new()),
            unanswered: Mutex::new(Vec::new()),
            remote: OnceLock::new(),
        }
    }

    /// The server's own transforms (its connect links), run first.
    pub fn with_transforms(mut self, transforms: Vec<Arc<dyn Transform>>) -> Self {
        self.transforms = transforms;
        self
    }

    /// Let transforms reach `remote` (to retry a call).
    pub fn bind(&self, remote: &Arc<crate::remote::Remote>) {
        let _ = self.remote.set(Arc::downgrade(remote));
    }

    /// Add a transform after the built-in ones (once; later calls are ignored).
    pub fn add_transform(&self, t: Arc<dyn Transform>) {
        let _ = self.late_transform.set(t);
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

    /// The client answered the server's request `id`.
    pub fn answered(&self, id: &Value) {
        self.unanswered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|u| u != id);
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
        let keep = self.transforms.iter().any(|t| t.wants_params(&method));
        let text = keep.then(|| request.text().clone());
        self.wait_for(request.id(), method, text, route)
    }

    fn wait_for(&self, id: &Value, method: Arc<str>, request: Option<Bytes>, route: Route) -> oneshot::Receiver<Value> {
        let (done, rx) = oneshot::channel();
        let pending = Pending {
            route,
            method,
            request,
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
            if !self.transforms.is_empty() || self.late_transform.get().is_some() {
                let caps = self.client_caps.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let request: Option<Value> = p.request.as_deref().and_then(|t| serde_json::from_slice(t).ok());
                let reply = Reply {
                    method: &p.method,
                    client_caps: caps.as_ref(),
                    params: request.as_ref().and_then(|r| r.get("params")),
                    remote: self.remote.get(),
                };
                for t in self.transforms.iter().chain(self.late_transform.get()) {
                    t.response(&reply, &mut msg, &self.out);
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
        if self.transformed(&method, &text) {
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
        self.transforms
            .iter()
            .chain(self.late_transform.get())
            .any(|t| t.wants(method, text))
    }

    /// Write a message to the client.
    pub fn to_client(&self, msg: Value) {
        let _ = self.out.send(msg);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<jsonrpc::IdKey, Pending>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The id of `text` when it is one valid JSON-RPC response with an id
/// (an object with `result` or `error` and no `method`), read without
/// building the rest of the message.
fn raw_response_id(text: &[u8]) -> Option<Value> {
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(default)]
        id: Value,
        method: Option<IgnoredAny>,
        result: Option<IgnoredAny>,
        error: Option<IgnoredAny>,
    }
    let text = std::str::from_utf8(text).ok()?;
    let env: Envelope = serde_json::from_str(text).ok()?;
    let is_response = env.method.is_none() && (env.result.is_some() || env.error.is_some());
    (is_response && !env.id.is_null()).then_some(env.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Wants(&'static str);
    impl Transform for Wants {
        fn response(&self, _reply: &Reply<'_>, response: &mut Value, _out: &Outbox) {
            response["result"]["seen"] = json!(true);
        }
        fn wants(&self, method: &str, _text: &[u8]) -> bool {
            method == self.0
        }
    }

    fn inbound() -> (Inbound, mpsc::UnboundedReceiver<Outgoing>) {
        let (out, rx) = Outbox::channel();
        (
            Inbound::new(out).with_transforms(vec![Arc::new(Wants("tools/list"))]),
            rx,
        )
    }

    fn raw_line(rx: &mut mpsc::UnboundedReceiver<Outgoing>) -> Vec<u8> {
        match rx.try_recv().expect("a line for the client") {
            Outgoing::Raw(text) => text,
            Outgoing::Message(m) => panic!("parsed, not raw: {m}"),
        }
    }

    #[test]
    fn an_answer_no_transform_wants_goes_out_as_sent_with_line_breaks_as_spaces() {
        let (inb, mut rx) = inbound();
        let mut done = inb.expect(&json!(7), "tools/call", Route::Client);
        let text = b"{\"jsonrpc\":\"2.0\",\r\n \"id\":7,\n\"result\":{\"x\":\"a\\nb\", \"n\":1.50}}".to_vec();
        assert!(inb.dispatch_raw(text).is_ok());
        let line = raw_line(&mut rx);
        assert_eq!(
            line,
            b"{\"jsonrpc\":\"2.0\",   \"id\":7, \"result\":{\"x\":\"a\\nb\", \"n\":1.50}}"
        );
        assert_eq!(done.try_recv().unwrap(), Value::Null);
        assert!(!inb.is_pending(&json!(7)));
    }

    #[test]
    fn what_must_be_read_is_handed_back() {
        let (inb, mut rx) = inbound();
        let answer = |id: &str| format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{}}}}").into_bytes();
        // A transform wants tools/list answers.
        let _list = inb.expect(&json!(1), "tools/list", Route::Client);
        assert!(inb.dispatch_raw(answer("1")).is_err());
        // The waiter wants a copy (hooks), or the bridge asked itself.
        let _copy = inb.expect(&json!(2), "tools/call", Route::ClientAndCopy);
        assert!(inb.dispatch_raw(answer("2")).is_err());
        let _own = inb.expect(&json!(3), "initialize", Route::Bridge);
        assert!(inb.dispatch_raw(answer("3")).is_err());
        // Not pending; a string id is not the number id.
        assert!(inb.dispatch_raw(answer("4")).is_err());
        let _num = inb.expect(&json!(5), "tools/call", Route::Client);
        assert!(inb.dispatch_raw(answer("\"5\"")).is_err());
        // Not a response, not JSON, not UTF-8, a batch, a duplicate key.
        for text in [
            &br#"{"jsonrpc":"2.0","id":5,"method":"ping"}"#[..],
            br#"{"jsonrpc":"2.0","id":5,"result":{}"#,
            b"{\"id\":5,\"result\":\"\xff\"}",
            br#"[{"jsonrpc":"2.0","id":5,"result":{}}]"#,
            br#"{"id":5,"id":6,"result":{}}"#,
        ] {
            assert_eq!(inb.dispatch_raw(text.to_vec()), Err(text.to_vec()));
        }
        assert!(rx.try_recv().is_err(), "nothing was written");
        assert!(inb.is_pending(&json!(1)) && inb.is_pending(&json!(2)) && inb.is_pending(&json!(5)));
        // Handed back, it still goes its usual way.
        inb.dispatch(serde_json::from_slice(&answer("1")).unwrap());
        let Some(Outgoing::Message(m)) = rx.try_recv().ok() else {
            panic!("no parsed answer")
        };
        assert_eq!(m["result"]["seen"], true);
    }
}
