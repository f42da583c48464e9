//! The request path: one client request seen through to exactly one answer
//! (the remote's, or an error written here: its deadline, progress and
//! cancellation, and the stop), and the bridge's own requests.

use super::deadline::Waited;
use super::inbound::Route;
use super::legacy;
use super::list_cache;
use super::translation::Routed;
use super::{Remote, RemoteError};
use crate::config::Transport;
use crate::message::Message;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::Duration;

impl Remote {
    /// Relay a client request and see that it is answered: by the remote's
    /// response (written by `inbound`), or by an error written here. Returns
    /// the remote's response when there was one.
    pub async fn request(&self, msg: &Message) -> Option<Value> {
        if let Some(refusal) = self.ex.endpoint.tools.refusal(self.server(), msg) {
            self.ex.inbound.to_client(refusal);
            return None;
        }
        if msg.method() == Some("server/discover")
            && let Some(answer) = self.discover_from_cache(msg)
        {
            return answer;
        }
        // A modern client's list to a legacy remote: the cache answers it
        // before the session the bridge opens for that client exists.
        if let Some(method) = msg.method().filter(|m| list_cache::is_list(m))
            && self.translation.eras.client_era(msg, method)
            && Box::pin(self.translation.legacy_for_modern_client()).await
            && let Some(answer) = self.cached_answer(msg)
        {
            return answer;
        }
        match self.translation.route(self, msg).await {
            Ok(Routed::AsIs) => self.cached_or_relayed(msg).await,
            // A legacy client's list to a modern remote: the cache keeps the
            // remote's answer to the translated request, and gives it back
            // for the same.
            Ok(Routed::Translated(translated)) => Box::pin(self.cached_or_relayed(&translated)).await,
            Ok(Routed::Answered(answer)) => Some(answer),
            Ok(Routed::Done) => None,
            Err(e) => {
                self.ex.inbound.expect_request(msg, Route::Client);
                self.fail(msg.id(), e);
                None
            }
        }
    }

    /// A modern client's `server/discover` answered from the list cache
    /// (before the remote is asked what it is: that is asked behind the
    /// answer), if the cache may; the client is judged as `route` would.
    fn discover_from_cache(&self, msg: &Message) -> Option<Option<Value>> {
        self.translation.eras.client_era(msg, "server/discover");
        self.cached_answer(msg)
    }

    /// The list cache's answer to `msg`, if it may give one (see
    /// `list_cache::serve`).
    fn cached_answer(&self, msg: &Message) -> Option<Option<Value>> {
        let keep = self.keep_responses.load(Ordering::Relaxed);
        let tell = !self.translation.eras.shared.client_modern();
        list_cache::serve(&self.lists, msg, &self.ex, keep, tell)
    }

    /// The list cache's answer to `msg` (a list it keeps, on a warm
    /// start), else `msg` relayed.
    async fn cached_or_relayed(&self, msg: &Message) -> Option<Value> {
        match self.cached_answer(msg) {
            Some(answer) => answer,
            None => self.relay(msg).await,
        }
    }

    /// `request` for a message the remote takes as it is.
    async fn relay(&self, msg: &Message) -> Option<Value> {
        // Behind a cached `initialize`, the real one goes first.
        self.lists.settled().await;
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
        let deliver = self.deliver_request(msg, id, method);
        let outcome = clock.wait(&mut answer, deliver, progress.as_deref(), timeout).await;
        if let Some(t) = token {
            self.ex.inbound.unwatch_progress(t);
        }
        match outcome {
            Waited::Answered(resp) => {
                if let Some(r) = &resp
                    && method == "initialize"
                {
                    self.streamable.on_initialized_result(r);
                }
                resp
            }
            Waited::Undelivered(e) => {
                self.fail(id, e);
                None
            }
            Waited::Expired if self.translation.asks.parked(id) => None, // its retry answers for it
            Waited::Expired => {
                let pending = self.ex.inbound.is_pending(id);
                let (error, reason) = if self.is_stopping() {
                    (RemoteError::Stopping, "mcp-bridge is stopping".to_string())
                } else {
                    (
                        RemoteError::Timeout(timeout),
                        format!("mcp-bridge: no answer within {timeout:?}"),
                    )
                };
                self.fail(id, error);
                // The spec: `initialize` is never cancelled.
                if pending && method != "initialize" {
                    // Boxed: it holds a whole POST, and only a timeout or the stop needs it.
                    Box::pin(self.cancel_at_remote(id, &reason)).await;
                }
                None
            }
        }
    }

    /// Tell the remote to stop working on request `id` (it timed out here,
    /// or the bridge is stopping).
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
        let mut stopping = self.stopping.subscribe();
        let outcome = tokio::select! {
            outcome = tokio::time::timeout(timeout, async {
                self.deliver_request(&msg, id, method).await?;
                answer
                    .await
                    .map_err(|_| RemoteError::Protocol("the request was dropped unanswered".into()))
            }) => outcome.map_err(|_| RemoteError::Timeout(timeout)),
            _ = stopping.wait_for(|stopping| *stopping) => Ok(Err(RemoteError::Stopping)),
        };
        self.ex.inbound.forget(id);
        let resp = outcome??;
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
                Box::pin(legacy::Legacy::instead(&self.ex, &self.legacy, msg, status, body)).await
            }
            other => other,
        }
    }
}
