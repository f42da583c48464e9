//! A modern client and a legacy remote: the session the bridge opens for
//! the client (its `initialize` built from the client's `_meta`),
//! `server/discover` answered from that session's `initialize` result, and
//! a retry that answers a legacy server's held request for input. And a
//! modern client's `server/discover` asked behind the list cache's answer,
//! of a remote of either era.

use super::Routed;
use super::Translation;
use crate::era::{self, Era, handshake};
use crate::message::Message;
use crate::remote::Remote;
use crate::remote::error::RemoteError;
use crate::remote::inbound::Hints;
use crate::remote::legacy_asks::Retry;
use serde_json::{Value, json};

impl Translation {
    /// A modern client's request to a legacy remote: the session the
    /// bridge opens for it, and `server/discover` answered from it.
    pub(super) async fn modern_client(
        &self,
        remote: &Remote,
        msg: &Message,
        method: &str,
    ) -> Result<Routed, RemoteError> {
        let init = self.open_for_modern_client(remote).await?;
        if let Some(state) = msg
            .tree()
            .and_then(|t| t.pointer("/params/requestState"))
            .and_then(Value::as_str)
            && let Retry::Resume { asked, done } = self.asks.retried(state, msg.id())
        {
            return self.resume_legacy_ask(remote, msg, asked, done).await;
        }
        if method != "server/discover" {
            return Ok(Routed::AsIs);
        }
        let answer = self.discover_from_initialize(msg, &init);
        self.ex.inbound.to_client(answer.clone());
        Ok(Routed::Answered(answer))
    }

    /// Whether a modern client's requests go to a legacy remote: its lists
    /// may then be answered from the list cache before the session the
    /// bridge opens for it exists, and the fetch behind the answer waits
    /// for that session (`session_for_modern_client`).
    pub async fn legacy_for_modern_client(&self) -> bool {
        matches!(self.era_for(true).await, Ok(Era::Legacy))
    }

    /// The legacy session a modern client's requests go in, opened now if
    /// it is not yet (for any other pair of eras, nothing).
    pub async fn session_for_modern_client(&self, remote: &Remote) -> Result<(), RemoteError> {
        if self.eras.client_modern() && matches!(self.eras.known(), Some(Era::Legacy)) {
            self.open_for_modern_client(remote).await?;
        }
        Ok(())
    }

    /// A modern client's `server/discover` answered from a legacy remote's
    /// `initialize` result `init`, and kept in the list cache (with the
    /// server's `list_cache` age: the answer's `ttlMs` is the bridge's).
    fn discover_from_initialize(&self, msg: &Message, init: &Value) -> Value {
        let tree = msg.tree();
        let requested = tree.and_then(era::meta::protocol_version);
        let result = handshake::discover_result(init, requested);
        let answer = json!({"jsonrpc": "2.0", "id": msg.id(), "result": result});
        self.ex
            .inbound
            .record("server/discover", &params_of(msg), &answer, Hints::Bridge);
        answer
    }

    /// A modern client's `server/discover` that the list cache answered,
    /// asked behind that answer as the client's own would have been (the
    /// remote's era found first, from the store when it remembers it, so
    /// the client's next requests do not wait for this one) and kept in
    /// the cache on the way; the answer goes to nobody else.
    pub async fn discover_behind(&self, remote: &Remote, msg: &Message) -> Result<Value, RemoteError> {
        match self.era_for(true).await? {
            Era::Modern { .. } => {
                let answer = remote.request_internal(msg.value().clone()).await?;
                if answer.get("result").is_some() {
                    self.ex
                        .inbound
                        .record("server/discover", &params_of(msg), &answer, Hints::Remote);
                }
                Ok(answer)
            }
            Era::Legacy => {
                let init = self.open_for_modern_client(remote).await?;
                Ok(self.discover_from_initialize(msg, &init))
            }
        }
    }

    /// A modern client's retry with the answer to a legacy server's request
    /// for input: the held request is answered, and the retry waits for
    /// what the server does next (its answer to the call, or another ask).
    async fn resume_legacy_ask(
        &self,
        remote: &Remote,
        msg: &Message,
        asked: Value,
        done: tokio::sync::oneshot::Receiver<()>,
    ) -> Result<Routed, RemoteError> {
        let given = msg
            .tree()
            .and_then(|t| t.pointer("/params/inputResponses/input"))
            .cloned();
        let reply = match given {
            Some(result) => json!({"jsonrpc": "2.0", "id": asked, "result": result}),
            None => json!({"jsonrpc": "2.0", "id": asked, "error": {"code": -32600,
                "message": "the client retried without an answer to the request for input"}}),
        };
        remote.send(reply.into()).await;
        let timeout = self.ex.endpoint.timeout;
        if tokio::time::timeout(timeout, done).await.is_err() {
            if let Some(original) = self.asks.original_of(msg.id()) {
                self.asks.drop_call(&original);
            }
            return Err(RemoteError::Timeout(timeout));
        }
        Ok(Routed::Done)
    }

    /// The legacy session opened on a modern client's behalf (once).
    async fn open_for_modern_client(&self, remote: &Remote) -> Result<Value, RemoteError> {
        let mut opened = self.opened.lock().await;
        if let Some(init) = &*opened {
            return Ok(init.clone());
        }
        let who = self.eras.client();
        let init = who.initialize(crate::ids::next_id("initialize"), era::LATEST_LEGACY);
        let answer = remote.request_internal(init).await?;
        if let Some(error) = answer.get("error") {
            return Err(RemoteError::SessionLost(format!(
                "the server refused initialize: {error}"
            )));
        }
        let result = answer.get("result").cloned().unwrap_or_else(|| json!({}));
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        remote.send(note.into()).await;
        *opened = Some(result.clone());
        Ok(result)
    }

    /// After the era changed to legacy: the session a legacy client's
    /// `initialize` opened is opened again (the client's own, replayed),
    /// or the one the bridge opens for a modern client.
    pub(super) async fn open_legacy_session(&self, remote: &Remote) -> Result<(), RemoteError> {
        if self.eras.client_modern() {
            return self.open_for_modern_client(remote).await.map(|_| ());
        }
        let Some(mut init) = self.ex.init_request() else {
            return Ok(());
        };
        init["id"] = crate::ids::next_id("initialize");
        let answer = remote.request_internal(init).await?;
        if let Some(error) = answer.get("error") {
            return Err(RemoteError::SessionLost(format!(
                "the server refused initialize: {error}"
            )));
        }
        remote
            .send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).into())
            .await;
        Ok(())
    }
}

/// The params of `msg` (`{}` when it has none).
fn params_of(msg: &Message) -> Value {
    msg.tree()
        .and_then(|t| t.get("params"))
        .cloned()
        .unwrap_or_else(|| json!({}))
}
