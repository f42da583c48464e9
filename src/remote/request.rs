//! The request path: one client request relayed and seen through to
//! exactly one answer. The deadline (restarted by each progress
//! notification), the error written when delivery fails or time runs out,
//! and the `notifications/cancelled` the remote gets then, live here;
//! `request_internal` is the same for the bridge's own requests.

use super::era::Routed;
use super::inbound::Route;
use super::{Remote, RemoteError, legacy};
use crate::config::Transport;
use crate::jsonrpc;
use crate::message::Message;
use crate::redact::display_url;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::Duration;

impl Remote {
    /// Relay a client request and see that it is answered: by the remote's
    /// response (written by `inbound`), or by an error written here. Returns
    /// the remote's response when there was one.
    pub async fn request(&self, msg: &Message) -> Option<Value> {
        if let Some(refusal) = self.ctx.endpoint.tools.refusal(self.server(), msg) {
            self.ctx.inbound.to_client(refusal);
            return None;
        }
        match self.route(msg).await {
            Ok(Routed::AsIs) => self.relay(msg).await,
            Ok(Routed::Translated(translated)) => Box::pin(self.relay(&translated)).await,
            Ok(Routed::Answered(answer)) => Some(answer),
            Err(e) => {
                self.ctx.inbound.expect_request(msg, Route::Client);
                self.fail(msg.id(), e);
                None
            }
        }
    }

    /// `request` for a message the remote takes as it is.
    async fn relay(&self, msg: &Message) -> Option<Value> {
        let id = msg.id();
        let method = msg.method().unwrap_or("");
        if method == "initialize" {
            self.remember_initialize(msg.value());
        }
        let route = if method == "initialize" || self.keep_responses.load(Ordering::Relaxed) {
            Route::ClientAndCopy
        } else {
            Route::Client
        };
        let mut answer = self.ctx.inbound.expect_request(msg, route);
        let timeout = self.ctx.endpoint.timeout;
        // Each progress notification for this request restarts its clock.
        let token = msg.progress_token();
        let progress = token.map(|t| self.ctx.inbound.watch_progress(t));
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
            self.ctx.inbound.unwatch_progress(t);
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
            None => {
                let pending = self.ctx.inbound.is_pending(id);
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
            self.remember_initialize(msg.value());
        }
        let answer = self.ctx.inbound.expect(id, method, Route::Bridge);
        let timeout = self.ctx.endpoint.timeout;
        let outcome = tokio::time::timeout(timeout, async {
            self.deliver_request(&msg, id, method).await?;
            answer
                .await
                .map_err(|_| RemoteError::Protocol("the request was dropped unanswered".into()))
        })
        .await;
        self.ctx.inbound.forget(id);
        let resp = outcome.map_err(|_| RemoteError::Timeout(timeout))??;
        if method == "initialize" {
            self.streamable.on_initialized_result(&resp);
        }
        Ok(resp)
    }

    /// Keep the client's `initialize` (replayed when the session is
    /// re-created) and the capabilities it declares.
    pub(crate) fn remember_initialize(&self, init: &Value) {
        *self.ctx.init.lock().unwrap_or_else(|e| e.into_inner()) = Some(init.clone());
        self.ctx
            .inbound
            .set_client_caps(init.pointer("/params/capabilities").cloned());
    }

    /// Answer request `id` with an error, unless it was already answered or
    /// cancelled.
    fn fail(&self, id: &Value, e: RemoteError) {
        if !self.ctx.inbound.forget(id) {
            return;
        }
        let ep = &self.ctx.endpoint;
        // The provider's own reading of the status comes first (e.g. Zapier:
        // 404 means the connection token expired).
        let fix = e
            .status()
            .and_then(|s| ep.credential.status_hint(s))
            .or_else(|| e.fix(&ep.server))
            .map(|f| format!(". To fix: {f}"))
            .unwrap_or_default();
        let message = self.ctx.redact(&format!(
            "mcp-bridge: server `{}` ({}): {e}{fix}",
            ep.server,
            display_url(&ep.url)
        ));
        tracing::warn!(target: crate::logging::ANSWERED_ERROR, "{message}");
        let data = json!({ "server": ep.server, "url": display_url(&ep.url) });
        self.ctx
            .inbound
            .to_client(jsonrpc::error(id.clone(), e.code(), message, Some(data)));
    }

    /// The remote stopped speaking the era remembered for it: ask again,
    /// set up what the new era needs, and deliver `msg` once more.
    async fn after_era_change(&self, msg: &Message, id: &Value, method: &str) -> Result<(), RemoteError> {
        let era = self.era_changed().await?;
        match era {
            crate::era::Era::Modern { version } if method == "initialize" => {
                // A legacy client's initialize, answered from discover.
                let discover = self.discover_result(&version).await;
                let requested = msg
                    .tree()
                    .and_then(|t| t.pointer("/params/protocolVersion"))
                    .and_then(Value::as_str);
                let result = crate::era::handshake::initialize_result(&discover, requested, self.server());
                self.ctx
                    .inbound
                    .dispatch(json!({"jsonrpc": "2.0", "id": id, "result": result}));
                Ok(())
            }
            crate::era::Era::Modern { version } => {
                let heads = self.modern_heads(msg, method, &version);
                self.modern.request(msg, &heads, id).await
            }
            crate::era::Era::Legacy => {
                self.open_legacy_session().await?;
                self.streamable.request(msg, id).await
            }
        }
    }

    async fn deliver_request(&self, msg: &Message, id: &Value, method: &str) -> Result<(), RemoteError> {
        if let Some(version) = self.modern_version() {
            let heads = self.modern_heads(msg, method, &version);
            let sent = Box::pin(self.modern.request(msg, &heads, id)).await;
            return match sent {
                // A remembered modern era the remote no longer speaks.
                Err(RemoteError::Status {
                    status: 400 | 404 | 405,
                    ..
                }) if self.era_remembered() => Box::pin(self.after_era_change(msg, id, method)).await,
                other => other,
            };
        }
        if let Some(legacy) = self.legacy() {
            return Box::pin(legacy.send(msg)).await;
        }
        match self.streamable.request(msg, id).await {
            // A remembered legacy era the remote no longer speaks: its
            // refusal of initialize names a modern error.
            Err(RemoteError::Status { status: 400, ref body })
                if method == "initialize" && self.era_remembered() && crate::era::names_modern_error(body) =>
            {
                Box::pin(self.after_era_change(msg, id, method)).await
            }
            Err(RemoteError::Status { status, body })
                if method == "initialize"
                    && self.ctx.endpoint.transport == Transport::Auto
                    && matches!(status, 400 | 404 | 405) =>
            {
                tracing::info!(
                    status,
                    "initialize refused over Streamable HTTP; trying the legacy HTTP+SSE transport"
                );
                // In place before the send: the answer can arrive on the SSE
                // stream, and end this request, before the POST returns; the
                // next request must already go the legacy way.
                let legacy = legacy::Legacy::new(self.ctx.clone());
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
