//! The remote side of the bridge: one MCP server reached over HTTP.
//!
//! `Remote` takes each message from the client and delivers it over the
//! transport the remote speaks: Streamable HTTP (`streamable`), the legacy
//! HTTP+SSE transport (`legacy`, also when `transport = "auto"` and the
//! remote refuses a Streamable HTTP initialize), or the sessionless one of
//! the 2026-07-28 revision (`modern`). Which era each side speaks is found
//! by `era`, and `translation` says what a request becomes when they
//! differ. Every message the remote sends back goes through `inbound`. A
//! request from the client always ends in exactly one response: the
//! remote's, or an error written by the bridge naming the server and what
//! went wrong (`RemoteError`), with its deadline (`deadline`), progress,
//! cancellation and the bridge's stop (`stop_waiting`) seen to in
//! `request`.
//!
//! The transports share one `Exchange`: the endpoint, the credential step
//! (`authorized`: building and sending an authorised request), the reading
//! of answers (`body`) and the client's handshake. The remote side knows
//! nothing of sign-in or connect links: it is handed them as `hooks`
//! objects, and is itself an `hooks::Upstream` to them.

mod authorized;
mod body;
mod deadline;
mod endpoint;
mod era;
mod era_memory;
mod era_shared;
mod error;
mod exchange;
pub mod filter;
pub mod inbound;
mod input_rounds;
mod legacy;
mod legacy_asks;
pub mod list_cache;
mod modern;
mod outgoing;
mod pool;
mod reply;
mod request;
mod result_shapes;
mod streamable;
mod translation;

pub use endpoint::Endpoint;
pub use error::RemoteError;

use crate::config::Transport;
use crate::hooks::Upstream;
use crate::jsonrpc;
use crate::message::Message;
use authorized::Authorized;
use exchange::Exchange;
use inbound::Inbound;
use list_cache::ListCache;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use translation::Translation;

pub struct Remote {
    ex: Arc<Exchange>,
    streamable: Arc<streamable::Streamable>,
    /// Which era each side speaks, and the translation between them.
    translation: Translation,
    legacy: Mutex<Option<Arc<legacy::Legacy>>>,
    /// Whether `request` returns a copy of each response (for hooks).
    keep_responses: AtomicBool,
    /// The deadlines of the client's requests in flight.
    deadlines: deadline::Deadlines,
    /// True once the bridge is stopping (`stop_waiting`).
    stopping: tokio::sync::watch::Sender<bool>,
    /// Held while one of the client's notifications or answers is sent.
    sending: Arc<tokio::sync::Mutex<()>>,
    /// The handshake and lists kept between runs, for a warm start.
    lists: Arc<ListCache>,
}

impl Remote {
    /// Ask `request` to return each response, not only to write it to the
    /// client (hooks that look at results need this; it costs a copy).
    pub fn keep_responses(&self, keep: bool) {
        self.keep_responses.store(keep, Ordering::Relaxed);
    }

    pub fn new(endpoint: Endpoint, inbound: Arc<Inbound>) -> Result<Remote, RemoteError> {
        let http = Authorized::new(
            &endpoint.url,
            endpoint.headers.clone(),
            endpoint.credential.clone(),
            endpoint.redactor.clone(),
        )?;
        http.warm();
        let lists = Arc::new(ListCache::new(&endpoint));
        inbound.keep_lists_in(lists.clone());
        let ex = Arc::new(Exchange::new(endpoint, http, inbound));
        let (translation, mut late) = Translation::new(ex.clone());
        if !ex.endpoint.tools.is_empty() {
            late.push(Arc::new(filter::ListFilter(ex.endpoint.tools.clone())));
        }
        if list_cache::on_for(&ex.endpoint) {
            late.push(Arc::new(list_cache::DeclaresListChanged));
        }
        ex.inbound.add_transforms(late);
        let streamable = streamable::Streamable::new(ex.clone());
        let remote = Remote {
            ex: ex.clone(),
            streamable,
            translation,
            legacy: Mutex::new(None),
            keep_responses: AtomicBool::new(false),
            deadlines: deadline::Deadlines::default(),
            stopping: tokio::sync::watch::Sender::new(false),
            sending: Arc::default(),
            lists,
        };
        if ex.endpoint.transport == Transport::Sse {
            *remote.legacy.lock().unwrap_or_else(|e| e.into_inner()) = Some(legacy::Legacy::new(ex));
        }
        Ok(remote)
    }

    pub fn server(&self) -> &str {
        &self.ex.endpoint.server
    }

    /// The server's `max_message_size`.
    pub fn max_message_size(&self) -> usize {
        self.ex.endpoint.max_message_size
    }

    fn legacy(&self) -> Option<Arc<legacy::Legacy>> {
        self.legacy.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Relay a client notification or response. Failures are logged: there
    /// is no request to answer.
    pub async fn send(&self, msg: Message) {
        let method = msg.method();
        // An answer to a request the remote sent always goes to the remote.
        // Otherwise one to a request of the bridge's own (a connect-link
        // elicitation) goes to whatever waits for it, and a late one (its
        // wait ended) is dropped: neither is for the remote.
        if method.is_none()
            && !self.ex.inbound.answered(msg.id())
            && (self.ex.inbound.answered_own(msg.value()) || crate::ids::is_own(msg.id()))
        {
            return;
        }
        if self.translation.withheld(method) {
            return;
        }
        // The client's notifications and answers reach the remote in the
        // order it sent them: one at a time.
        let in_order = self.sending.clone().lock_owned().await;
        if method == Some("notifications/initialized") && self.legacy().is_none() {
            // After a cached `initialize`, it waits for the real one.
            let lists = self.lists.clone();
            self.streamable
                .initialized_beside(msg, in_order, async move { lists.settled().await });
            return;
        }
        self.lists.settled().await;
        let result = match self.legacy() {
            Some(legacy) => legacy.send(&msg).await,
            None => self.streamable.send(&msg).await,
        };
        drop(in_order);
        if let Err(e) = result {
            let what = method.unwrap_or("response");
            let text = format!("server `{}`: could not deliver {what}: {e}", self.server());
            tracing::warn!("{}", self.ex.redact(&text));
        }
        if method == Some("notifications/initialized") {
            self.ex.set_client_initialized();
        }
    }

    /// The client cancelled request `id`: stop waiting for it, quietly (no
    /// answer goes to the client, per the spec). The caller forwards the
    /// client's `notifications/cancelled` itself with `send`, unchanged.
    pub fn cancelled(&self, id: &Value) {
        self.ex.inbound.cancelled(id);
    }

    /// The client is gone (stdin closed): answer the server's requests it
    /// left unanswered with an error, so the remote's tools stop waiting and
    /// in-flight calls can finish.
    pub async fn client_gone(&self) {
        self.ex.inbound.client_gone();
        for id in self.ex.inbound.take_unanswered() {
            let err = jsonrpc::error(
                id,
                jsonrpc::INTERNAL_ERROR,
                "the client disconnected before answering",
                None,
            );
            self.send(err.into()).await;
        }
    }

    /// The bridge is stopping: every request still waiting here ends now,
    /// answered with an error (the client's, each also cancelled at the
    /// remote; the bridge's own, to their caller), and so does each one
    /// sent from now on. Dropping a request's wait drops its HTTP exchange.
    pub fn stop_waiting(&self) {
        self.stopping.send_replace(true);
        self.deadlines.expire_all();
    }

    fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    /// End the remote session (DELETE) and stop background streams.
    pub async fn close(&self) {
        // The session behind a cached `initialize`, and what the client
        // sent last, go before the end of the session.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(3), async {
            self.lists.settled().await;
            drop(self.sending.lock().await);
        })
        .await;
        self.translation.stop_listening();
        if let Some(legacy) = self.legacy() {
            legacy.close();
        }
        self.streamable.close().await;
    }
}

impl Upstream for Remote {
    fn request<'a>(&'a self, msg: &'a Message) -> futures::future::BoxFuture<'a, Option<Value>> {
        Box::pin(Remote::request(self, msg))
    }

    fn request_own(&self, msg: Value) -> futures::future::BoxFuture<'_, Result<Value, String>> {
        Box::pin(async move {
            let msg = Message::from_value(msg);
            // The client's handshake replayed: a modern remote has none.
            if msg.method() == Some("initialize")
                && let Some(answer) = self
                    .translation
                    .replayed_initialize(&msg)
                    .await
                    .map_err(|e| e.to_string())?
            {
                return Ok(answer);
            }
            // A modern client's discover, asked behind the list cache's
            // answer: as the client's own would be.
            if msg.method() == Some("server/discover") {
                return self
                    .translation
                    .discover_behind(self, &msg)
                    .await
                    .map_err(|e| e.to_string());
            }
            // E.g. a list fetched behind the cache's answer to a modern
            // client of a legacy remote: in the session opened for it.
            Box::pin(self.translation.session_for_modern_client(self))
                .await
                .map_err(|e| e.to_string())?;
            self.request_internal(msg.into_value()).await.map_err(|e| e.to_string())
        })
    }

    fn send(&self, msg: Message) -> futures::future::BoxFuture<'_, ()> {
        Box::pin(Remote::send(self, msg))
    }
}
