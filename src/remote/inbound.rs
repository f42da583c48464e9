//! Where messages from the remote go. Every message read from any HTTP
//! response or stream passes through `Inbound::dispatch`: a response to a
//! pending request completes it (and is written to the client unless the
//! bridge sent that request itself); anything else (server→client requests,
//! notifications, progress, logs) is written to the client as it is.
//! Responses to the client's requests first pass through the `Transform`s
//! (connect links, tool filters), which may rewrite them.

use crate::jsonrpc::{self, Kind};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use tokio::sync::{Notify, mpsc, oneshot};

/// The channel to the client (stdout writer).
pub type Outbox = mpsc::UnboundedSender<Value>;

/// What a transform knows about the response it looks at.
pub struct Reply<'a> {
    /// The method of the client's request this answers.
    pub method: &'a str,
    /// The capabilities the client declared in `initialize`.
    pub client_caps: Option<&'a Value>,
    /// The request's params, kept for the methods a transform asks for
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
    method: String,
    params: Option<Value>,
    done: oneshot::Sender<Value>,
}

pub struct Inbound {
    out: Outbox,
    pending: Mutex<HashMap<String, Pending>>,
    /// The capabilities the client declared in `initialize`.
    client_caps: Mutex<Option<Value>>,
    transforms: Vec<Arc<dyn Transform>>,
    /// A transform added after construction (the server's tool filter).
    late_transform: OnceLock<Arc<dyn Transform>>,
    /// Requests waiting on progress, by progress token: each
    /// `notifications/progress` for one restarts its timeout.
    progress: Mutex<HashMap<String, Arc<Notify>>>,
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
        if let Some(token) = msg.pointer("/params/progressToken")
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
        self.expect_request(id, method, None, route)
    }

    /// `expect`, keeping the request's `params` when a transform wants them.
    pub fn expect_request(
        &self,
        id: &Value,
        method: &str,
        params: Option<&Value>,
        route: Route,
    ) -> oneshot::Receiver<Value> {
        let (done, rx) = oneshot::channel();
        let params = params.filter(|_| self.transforms.iter().any(|t| t.wants_params(method)));
        let pending = Pending {
            route,
            method: method.to_string(),
            params: params.cloned(),
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
                let reply = Reply {
                    method: &p.method,
                    client_caps: caps.as_ref(),
                    params: p.params.as_ref(),
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

    /// Write a message to the client.
    pub fn to_client(&self, msg: Value) {
        let _ = self.out.send(msg);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}
