//! Where messages from the remote go. Every message read from any HTTP
//! response or stream passes through `Inbound::dispatch`: a response to a
//! pending request completes it (and is written to the client unless the
//! bridge sent that request itself); anything else (server→client requests,
//! notifications, progress, logs) is written to the client as it is.
//! Responses to the client's requests first pass through the `Transform`s
//! (connect links, tool filters), which may rewrite them.

use crate::connect_link::ConnectLinks;
use crate::jsonrpc::{self, Kind};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// The channel to the client (stdout writer).
pub type Outbox = mpsc::UnboundedSender<Value>;

/// What a transform knows about the response it looks at.
pub struct Reply<'a> {
    /// The method of the client's request this answers.
    pub method: &'a str,
    /// The capabilities the client declared in `initialize`.
    pub client_caps: Option<&'a Value>,
}

/// A step that may rewrite a response on its way to the client, or send
/// messages of its own before it (through `out`).
pub trait Transform: Send + Sync {
    fn response(&self, reply: &Reply<'_>, response: &mut Value, out: &Outbox);
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
    done: oneshot::Sender<Value>,
}

pub struct Inbound {
    out: Outbox,
    pending: Mutex<HashMap<String, Pending>>,
    /// The capabilities the client declared in `initialize`.
    client_caps: Mutex<Option<Value>>,
    transforms: Vec<Arc<dyn Transform>>,
    /// Ids of server→client requests the client has not answered yet.
    unanswered: Mutex<Vec<Value>>,
}

impl Inbound {
    pub fn new(out: Outbox) -> Self {
        Self {
            out,
            pending: Mutex::new(HashMap::new()),
            client_caps: Mutex::new(None),
            transforms: vec![Arc::new(ConnectLinks::default())],
            unanswered: Mutex::new(Vec::new()),
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
        let (done, rx) = oneshot::channel();
        let method = method.to_string();
        self.lock().insert(jsonrpc::id_key(id), Pending { route, method, done });
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
            if !self.transforms.is_empty() {
                let caps = self.client_caps.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let reply = Reply {
                    method: &p.method,
                    client_caps: caps.as_ref(),
                };
                for t in &self.transforms {
                    t.response(&reply, &mut msg, &self.out);
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
