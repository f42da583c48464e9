//! Where messages from the remote go. Every message read from any HTTP
//! response or stream passes through `Inbound::dispatch`: a response to a
//! pending request completes it (and is written to the client unless the
//! bridge sent that request itself); anything else (server→client requests,
//! notifications, progress, logs) is written to the client as it is.

use crate::connect_link::ConnectLinks;
use crate::jsonrpc::{self, Kind};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::{mpsc, oneshot};

/// The channel to the client (stdout writer).
pub type Outbox = mpsc::UnboundedSender<Value>;

struct Pending {
    forward: bool,
    method: String,
    done: oneshot::Sender<Value>,
}

pub struct Inbound {
    out: Outbox,
    pending: Mutex<HashMap<String, Pending>>,
    /// The capabilities the client declared in `initialize`.
    client_caps: Mutex<Option<Value>>,
    connect_links: ConnectLinks,
    /// Ids of server→client requests the client has not answered yet.
    unanswered: Mutex<Vec<Value>>,
}

impl Inbound {
    pub fn new(out: Outbox) -> Self {
        Self {
            out,
            pending: Mutex::new(HashMap::new()),
            client_caps: Mutex::new(None),
            connect_links: ConnectLinks::default(),
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

    /// Wait for the response to request `id`. `forward` says whether the
    /// response goes to the client (false for the bridge's own requests).
    pub fn expect(&self, id: &Value, method: &str, forward: bool) -> oneshot::Receiver<Value> {
        let (done, rx) = oneshot::channel();
        let method = method.to_string();
        self.lock()
            .insert(jsonrpc::id_key(id), Pending { forward, method, done });
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
            if p.forward {
                if p.method == "tools/call" {
                    let caps = self.client_caps.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    if let Some(ask) = self.connect_links.surface(&mut msg, caps.as_ref()) {
                        self.to_client(ask);
                    }
                }
                self.to_client(msg.clone());
            }
            let _ = p.done.send(msg);
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
