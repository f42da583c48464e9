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
//! went wrong (`RemoteError`), with its deadline (`deadline`), progress and
//! cancellation seen to here.
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
mod loopback;
mod modern;
mod outgoing;
mod reply;
mod result_shapes;
/// The loopback way's HTTP/1.1 response reading, for the fuzz target.
#[doc(hidden)]
pub use loopback::h1::read_pieces as read_http1_pieces;
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
use inbound::{Inbound, Route};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use translation::{Routed, Translation};

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
        let ex = Arc::new(Exchange::new(endpoint, http, inbound));
        let (translation, mut late) = Translation::new(ex.clone());
        if !ex.endpoint.tools.is_empty() {
            late.push(Arc::new(filter::ListFilter(ex.endpoint.tools.clone())));
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
        };
        if ex.endpoint.transport == Transport::Sse {
            *remote.legacy.lock().unwrap_or_else(|e| e.into_inner()) = Some(legacy::Legacy::new(ex));
        }
        Ok(remote)
    }

    pub fn server(&self) -> &str {
        &self.ex.endpoint.server
    }

    fn legacy(&self) -> Option<Arc<legacy::Legacy>> {
        self.legacy.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Relay a client notification or response. Failures are logged: there
    /// is no request to answer.
    pub async fn send(&self, msg: Message) {
        let method = msg.method();
        if method.is_none() {
            self.ex.inbound.answered(msg.id());
        }
        // The client answering a request the bridge itself sent (e.g. a
        // connect-link elicitation) is not for the remote.
        if method.is_none() && crate::ids::is_own(msg.id()) {
            self.ex.inbound.answered_own(msg.value());
            return;
        }
        if self.translation.withheld(method) {
            return;
        }
        let result = match self.legacy() {
            Some(legacy) => legacy.send(&msg).await,
            None => self.streamable.send(&msg).await,
        };
        if let Err(e) = result {
            let what = method.unwrap_or("response");
            tracing::warn!(
                "{}",
                self.ex
                    .redact(&format!("server `{}`: could not deliver {what}: {e}", self.server()))
            );
        }
        if method == Some("notifications/initialized") {
            self.ex.set_client_initialized();
            if self.legacy().is_none() {
                self.streamable.listen().await;
            }
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

    /// End the remote session (DELETE) and stop background streams.
    pub async fn close(&self) {
        self.translation.stop_listening();
        if let Some(legacy) = self.legacy() {
            legacy.close();
        }
        self.streamable.close().await;
    }

    // The request path: one client request seen through to exactly one
    // answer (its deadline, progress and cancellation), and the bridge's own.

    /// Relay a client request and see that it is answered: by the remote's
    /// response (written by `inbound`), or by an error written here. Returns
    /// the remote's response when there was one.
    pub async fn request(&self, msg: &Message) -> Option<Value> {
        if let Some(refusal) = self.ex.endpoint.tools.refusal(self.server(), msg) {
            self.ex.inbound.to_client(refusal);
            return None;
        }
        match self.translation.route(self, msg).await {
            Ok(Routed::AsIs) => self.relay(msg).await,
            Ok(Routed::Translated(translated)) => Box::pin(self.relay(&translated)).await,
            Ok(Routed::Answered(answer)) => Some(answer),
            Ok(Routed::Done) => None,
            Err(e) => {
                self.ex.inbound.expect_request(msg, Route::Client);
                self.fail(msg.id(), e);
                None
            }
        }
    }

    /// `request` for a message the remote takes as it is.
    async fn relay(&self, msg: &Message) -> Option<Value> {
        let asking = self.translation.eras.shared.upgrading()
            && matches!(msg.method(), Some("tools/call" | "prompts/get" | "resources/read"));
        if !asking {
            let answer = self.relay_one(msg).await;
            // Asked for input by a modern remote: in flight until answered.
            self.translation.rounds_ended(msg.id()).await;
            return answer;
        }
        let asks = &self.translation.asks;
        asks.started(msg.id());
        let answer = self.relay_one(msg).await;
        asks.ended(msg.id());
        answer
    }

    async fn relay_one(&self, msg: &Message) -> Option<Value> {
        let id = msg.id();
        let method = msg.method().unwrap_or("");
        if method == "initialize" {
            self.ex.remember_initialize(msg.value());
        }
        let route = if method == "initialize" || self.keep_responses.load(Ordering::Relaxed) {
            Route::ClientAndCopy
        } else {
            Route::Client
        };
        let mut answer = self.ex.inbound.expect_request(msg, route);
        let timeout = self.ex.endpoint.timeout;
        // Each progress notification for this request restarts its clock.
        let token = msg.progress_token();
        let progress = token.map(|t| self.ex.inbound.watch_progress(t));
        let mut clock = self.deadlines.at(tokio::time::Instant::now() + timeout);
        let outcome = {
            let deliver = self.deliver_request(msg, id, method);
            tokio::pin!(deliver);
            let mut delivered = false;
            loop {
                tokio::select! {
                    resp = &mut answer => break Some(resp.ok()),
                    r = &mut deliver, if !delivered => {
                        delivered = true;
                        if let Err(e) = r {
                            self.fail(id, e);
                            break Some(None);
                        }
                    }
                    () = clock.expired() => break None,
                    () = async {
                        match &progress {
                            Some(n) => n.notified().await,
                            None => std::future::pending().await,
                        }
                    } => {
                        clock.reset(tokio::time::Instant::now() + timeout);
                    }
                }
            }
        };
        if let Some(t) = token {
            self.ex.inbound.unwatch_progress(t);
        }
        match outcome {
            Some(resp) => {
                if let Some(r) = &resp
                    && method == "initialize"
                {
                    self.streamable.on_initialized_result(r);
                }
                resp
            }
            None if self.translation.asks.parked(id) => None, // its retry answers for it
            None => {
                let pending = self.ex.inbound.is_pending(id);
                self.fail(id, RemoteError::Timeout(timeout));
                if pending {
                    // Boxed: it holds a whole POST, and only a timeout needs it.
                    let reason = format!("mcp-bridge: no answer within {timeout:?}");
                    Box::pin(self.cancel_at_remote(id, &reason)).await;
                }
                None
            }
        }
    }

    /// Tell the remote to stop working on request `id` (it timed out here).
    async fn cancel_at_remote(&self, id: &Value, reason: &str) {
        let note = json!({
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": { "requestId": id, "reason": reason },
        });
        if tokio::time::timeout(Duration::from_secs(10), self.send(note.into()))
            .await
            .is_err()
        {
            tracing::debug!(server = self.server(), "the cancellation was not accepted in time");
        }
    }

    /// Send a request of the bridge's own (e.g. the client's `initialize`
    /// replayed after sign-in) and return the remote's response without
    /// writing it to the client.
    pub async fn request_internal(&self, msg: Value) -> Result<Value, RemoteError> {
        let msg = Message::from_value(msg);
        let id = msg.id();
        let method = msg.method().unwrap_or("");
        if method == "initialize" {
            self.ex.remember_initialize(msg.value());
        }
        let answer = self.ex.inbound.expect(id, method, Route::Bridge);
        let timeout = self.ex.endpoint.timeout;
        let outcome = tokio::time::timeout(timeout, async {
            self.deliver_request(&msg, id, method).await?;
            answer
                .await
                .map_err(|_| RemoteError::Protocol("the request was dropped unanswered".into()))
        })
        .await;
        self.ex.inbound.forget(id);
        let resp = outcome.map_err(|_| RemoteError::Timeout(timeout))??;
        if method == "initialize" {
            self.streamable.on_initialized_result(&resp);
        }
        Ok(resp)
    }

    /// Answer request `id` with an error, unless it was already answered or
    /// cancelled, or the client was asked for input for it (its retry
    /// answers).
    fn fail(&self, id: &Value, e: RemoteError) {
        if self.translation.asks.parked(id) || !self.ex.inbound.forget(id) {
            return;
        }
        self.ex.inbound.to_client(e.answer(id, &self.ex.endpoint));
    }

    async fn deliver_request(&self, msg: &Message, id: &Value, method: &str) -> Result<(), RemoteError> {
        let eras = &self.translation.eras;
        if let Some(version) = eras.modern_version() {
            return Box::pin(self.translation.deliver_modern(self, msg, id, method, &version)).await;
        }
        if let Some(legacy) = self.legacy() {
            return Box::pin(legacy.send(msg)).await;
        }
        match self.streamable.request(msg, id).await {
            // A remembered legacy era the remote no longer speaks: its
            // refusal of initialize names a modern error.
            Err(RemoteError::Status { status: 400, ref body })
                if method == "initialize" && eras.era_remembered() && crate::era::names_modern_error(body) =>
            {
                Box::pin(self.translation.after_era_change(self, msg, id, method)).await
            }
            Err(RemoteError::Status { status, body })
                if method == "initialize"
                    && self.ex.endpoint.transport == Transport::Auto
                    && matches!(status, 400 | 404 | 405) =>
            {
                tracing::info!(
                    status,
                    "initialize refused over Streamable HTTP; trying the legacy HTTP+SSE transport"
                );
                // In place before the send: the answer can arrive on the SSE
                // stream, and end this request, before the POST returns; the
                // next request must already go the legacy way.
                let legacy = legacy::Legacy::new(self.ex.clone());
                *self.legacy.lock().unwrap_or_else(|e| e.into_inner()) = Some(legacy.clone());
                match Box::pin(legacy.send(msg)).await {
                    Ok(()) => Ok(()),
                    Err(e) => {
                        tracing::debug!("legacy fallback failed: {e}");
                        *self.legacy.lock().unwrap_or_else(|e| e.into_inner()) = None;
                        Err(RemoteError::Status { status, body })
                    }
                }
            }
            other => other,
        }
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
            self.request_internal(msg.into_value()).await.map_err(|e| e.to_string())
        })
    }

    fn send(&self, msg: Message) -> futures::future::BoxFuture<'_, ()> {
        Box::pin(Remote::send(self, msg))
    }
}
