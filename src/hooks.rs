//! The traits plug-ins implement, and what they may ask of their server.
//!
//! The relay and the remote side reach plug-ins (`auth`, `connect_link`,
//! the providers' own follow-ups, the tool filter) only through these
//! traits, as objects handed to them once per server; they know nothing of
//! sign-in or connect links.
//!
//! - `Hook`: on one server's client messages, before each goes to the
//!   remote (the sign-in gate takes messages over while signed out) and
//!   after each answered request (a provider announcing a changed list);
//! - `Transform`: on each answer on its way to the client (connect links,
//!   hidden tools), and told of the client's answers to the bridge's own
//!   requests, of its cancellations and of its going;
//! - `Upstream`: what a plug-in may ask of its server, once bound: relay a
//!   request, send one of the bridge's own, send a notification. `Remote`
//!   implements it.
//!
//! `ClientAsks` is the table a `Transform` keeps of the requests it sent
//! the client (an elicitation, an input request) until their answers come.

use crate::client::Outbox;
use crate::jsonrpc::{IdKey, id_key};
use crate::message::Message;
use futures::future::BoxFuture;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use tokio::sync::oneshot;

/// What a plug-in may ask of the server it serves (`Remote`).
pub trait Upstream: Send + Sync {
    /// Relay a client request and see that the client gets one answer; the
    /// remote's response, when the server keeps responses for hooks.
    fn request<'a>(&'a self, msg: &'a Message) -> BoxFuture<'a, Option<Value>>;
    /// Send a request of the bridge's own (its id from `ids`) and return
    /// the remote's response, which the client does not see.
    fn request_own(&self, msg: Value) -> BoxFuture<'_, Result<Value, String>>;
    /// Relay a notification or a response of the client's.
    fn send(&self, msg: Message) -> BoxFuture<'_, ()>;
}

/// Hooks on one server's client messages (in a single-server relay).
pub trait Hook: Send + Sync {
    /// Once, when the server's remote and the client's outbox exist, before
    /// the first message.
    fn bind(&self, _upstream: &Arc<dyn Upstream>, _out: &Outbox) {}

    /// Called before each client message goes to the remote (with its tree
    /// parsed). True means the hook took the message over: it answered it,
    /// or relays it itself, as the sign-in gate does while signed out.
    fn takes_over(&self, _message: &Value) -> bool {
        false
    }

    /// Called after each answered request with the remote's response, so a
    /// provider can act on results (e.g. announce a changed tool list).
    fn after_response(&self, request: &Value, response: &Value, out: &Outbox);
}

/// What a transform knows of the client's request a response answers.
pub struct Asked<'a> {
    /// The request's method.
    pub method: &'a str,
    /// The capabilities the client declared in `initialize`.
    pub client_caps: Option<&'a Value>,
    /// The request's params, for the methods a transform asks for
    /// (`Transform::wants_params`).
    pub params: Option<&'a Value>,
}

/// A step that may rewrite a response on its way to the client, or send
/// messages of its own before it (through `out`).
pub trait Transform: Send + Sync {
    /// Once, when the server's remote exists (a transform that follows an
    /// answer up itself keeps it).
    fn bind(&self, _upstream: &Weak<dyn Upstream>) {}

    /// May rewrite `response`, or take it (leave `Value::Null`): the
    /// transform then answers the client itself, later, through `out`.
    fn response(&self, asked: &Asked<'_>, response: &mut Value, out: &Outbox);

    /// Whether `response` needs the request's params for `method`.
    fn wants_params(&self, _method: &str) -> bool {
        false
    }

    /// Whether this transform needs to see the response to `method` whose
    /// JSON text is `text` (if none does, it goes to the client as sent).
    fn wants(&self, _method: &str, _text: &[u8]) -> bool {
        true
    }

    /// The client answered a request the bridge sent it (an id from
    /// `ids`): true when this transform was waiting for that answer.
    fn answered(&self, _answer: &Value) -> bool {
        false
    }

    /// The remote sent the client a request with id `id`: a request of the
    /// bridge's own with that id stops waiting, since the client's answers
    /// to the two could no longer be told apart (and the remote's is
    /// forwarded to the remote).
    fn id_taken(&self, _id: &Value) {}

    /// The client cancelled its request `id`: an answer held for it is
    /// dropped (a cancelled request gets none).
    fn cancelled(&self, _id: &Value) {}

    /// The client is gone: nobody will answer, so stop every wait.
    fn client_gone(&self) {}

    /// A request from the server for the client (elicitation, sampling,
    /// roots): true when this transform took it over instead.
    fn server_request(&self, _request: &Value, _out: &Outbox) -> bool {
        false
    }
}

/// The bridge's own requests to the client that await an answer, by id:
/// each answer goes to the one waiting for it, once.
#[derive(Default)]
pub struct ClientAsks(Mutex<HashMap<IdKey, oneshot::Sender<Value>>>);

impl ClientAsks {
    fn table(&self) -> MutexGuard<'_, HashMap<IdKey, oneshot::Sender<Value>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wait for the client's answer to request `id`.
    pub fn expect(&self, id: &Value) -> oneshot::Receiver<Value> {
        let (tx, rx) = oneshot::channel();
        self.table().insert(id_key(id), tx);
        rx
    }

    /// No longer wait for an answer to `id` (timed out, given up, or its id
    /// taken by a request of the remote's); whether one was waiting.
    pub fn forget(&self, id: &Value) -> bool {
        self.table().remove(&id_key(id)).is_some()
    }

    /// Hand a client's response to its waiter; whether it was one of these.
    pub fn answered(&self, answer: &Value) -> bool {
        let Some(id) = answer.get("id") else { return false };
        let waiter = self.table().remove(&id_key(id));
        waiter.is_some_and(|tx| {
            let _ = tx.send(answer.clone());
            true
        })
    }

    /// The client left: every waiter sees its channel closed.
    pub fn clear(&self) {
        self.table().clear();
    }
}
