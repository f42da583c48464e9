//! What a client request becomes when the client and the remote speak
//! different eras.
//!
//! `route` decides, for each client request, what the remote gets:
//! - same era on both sides: the request as it is;
//! - a legacy client, a modern remote: `initialize` answered from the
//!   discover result, `ping`, `logging/setLevel` and resource
//!   subscriptions answered here (the level goes in later requests'
//!   `_meta`, subscriptions in the listen stream), every other request
//!   stamped with the `_meta` built from the client's `initialize`;
//! - a modern client, a legacy remote: the bridge opens the session with an
//!   `initialize` built from the client's `_meta` and answers
//!   `server/discover` from its result; requests go in that session, and a
//!   retry carrying a `requestState` the bridge made answers the server's
//!   held request for input (`legacy_asks`).
//!
//! The era each side speaks is `era`'s to find; the answers' side of the
//! translation is the era's transforms' (`Translation::new` makes them).

mod modern_client;

use crate::era::{self, Era, handshake, listen};
use crate::hooks::Transform;
use crate::message::Message;
use crate::remote::Remote;
use crate::remote::era::{Eras, lock};
use crate::remote::era_shared::EraShared;
use crate::remote::error::RemoteError;
use crate::remote::exchange::Exchange;
use crate::remote::input_rounds::InputRounds;
use crate::remote::legacy_asks::LegacyAsks;
use crate::remote::list_cache;
use crate::remote::modern::{Heads, Modern, ToolHeaders};
use crate::remote::result_shapes::ResultShapes;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

/// What `route` made of a request.
pub(crate) enum Routed {
    /// The bridge answered it (written to the client); the answer.
    Answered(Value),
    /// Relay it as it is.
    AsIs,
    /// Relay this instead (the request translated).
    Translated(Message),
    /// Answered elsewhere (a modern client's retry after a legacy server's
    /// request for input); nothing to relay.
    Done,
}

/// The translation between one client and one remote.
pub(crate) struct Translation {
    ex: Arc<Exchange>,
    modern: Arc<Modern>,
    pub eras: Arc<Eras>,
    /// A legacy remote's requests for input, as a modern client takes them.
    pub asks: Arc<LegacyAsks>,
    /// A modern remote's requests for input, as a legacy client takes them.
    rounds: Arc<InputRounds>,
    /// A legacy remote's `initialize` result, when the bridge opened the
    /// session for a modern client.
    opened: tokio::sync::Mutex<Option<Value>>,
    /// The resources a legacy client subscribed to.
    subscriptions: Mutex<Vec<String>>,
    /// The bridge's listen stream for a legacy client.
    listening: Mutex<Option<JoinHandle<()>>>,
}

impl Translation {
    /// The translation for the server of `ex`, and the era's transforms of
    /// the remote's answers (to run after the server's own).
    pub fn new(ex: Arc<Exchange>) -> (Translation, Vec<Arc<dyn Transform>>) {
        let shared = Arc::new(EraShared::new(&ex.endpoint.server, ex.endpoint.timeout));
        let asks = Arc::new(LegacyAsks::new(shared.clone()));
        let rounds = Arc::new(InputRounds::new(shared.clone()));
        let transforms: Vec<Arc<dyn Transform>> = vec![
            asks.clone(),
            rounds.clone(),
            Arc::new(ToolHeaders(shared.clone())),
            Arc::new(ResultShapes(shared.clone())),
        ];
        let modern = Modern::new(ex.clone(), shared.clone());
        let eras = Arc::new(Eras::new(ex.clone(), modern.clone(), shared));
        let translation = Translation {
            ex,
            modern,
            eras,
            asks,
            rounds,
            opened: tokio::sync::Mutex::new(None),
            subscriptions: Mutex::new(Vec::new()),
            listening: Mutex::new(None),
        };
        (translation, transforms)
    }

    fn server(&self) -> &str {
        &self.ex.endpoint.server
    }

    /// Whether a client notification or response is withheld from the
    /// remote because it speaks the modern revision, which has no client
    /// notifications over HTTP (a cancellation is the closing of the
    /// request's stream, done by dropping it) and no server requests to
    /// answer. The client's `notifications/initialized` opens the listen
    /// stream instead.
    pub fn withheld(&self, method: Option<&str>) -> bool {
        if self.eras.modern_version().is_none() {
            return false;
        }
        if method == Some("notifications/initialized") {
            self.listen_for_legacy_client();
        } else {
            tracing::debug!(
                server = self.server(),
                "not sent to a 2026-07-28 server: {}",
                method.unwrap_or("a response")
            );
        }
        true
    }

    /// Decide what the remote gets for client request `msg`.
    pub async fn route(&self, remote: &Remote, msg: &Message) -> Result<Routed, RemoteError> {
        let eras = &self.eras;
        let method = msg.method().unwrap_or("");
        let client_modern = eras.client_era(msg, method);
        // The usual case costs a lock: both legacy, the era known.
        if !client_modern && matches!(eras.known(), Some(Era::Legacy)) && method != "initialize" {
            return Ok(Routed::AsIs);
        }
        if client_modern && method == "server/discover" && eras.known().is_none() {
            // The client's own discover asks the remote what it is.
            if let Some(answer) = eras.client_probe(msg).await? {
                return Ok(Routed::Answered(answer));
            }
        }
        match (client_modern, self.era_for(client_modern).await?) {
            (false, Era::Legacy) => Ok(Routed::AsIs),
            (true, Era::Modern { .. }) => Ok(Routed::AsIs),
            (false, Era::Modern { version }) => self.legacy_client(msg, method, &version).await,
            (true, Era::Legacy) => self.modern_client(remote, msg, method).await,
        }
    }

    /// The era the remote is spoken to in for a client of this era.
    async fn era_for(&self, client_modern: bool) -> Result<Era, RemoteError> {
        let era = self.eras.settle_era().await?;
        if !client_modern && era.is_modern() && self.eras.dual() && !self.eras.pinned() {
            // A remote that speaks both eras serves a legacy client in its
            // own revision: nothing to translate, nothing lost (unless the
            // config pins the modern one).
            self.eras.set_era(Era::Legacy);
            return Ok(Era::Legacy);
        }
        Ok(era)
    }

    /// The client's `initialize` replayed by a hook under the bridge's own
    /// id (the sign-in gate, once signed in: the client was answered from
    /// the cache and its handshake never reached the remote). It is judged
    /// as the client's own would be in `route` (who the client is, the
    /// remote's era) and, for a modern remote, answered here from the
    /// discover result, the client seeing nothing. None: the remote takes
    /// it as it is.
    pub async fn replayed_initialize(&self, msg: &Message) -> Result<Option<Value>, RemoteError> {
        let client_modern = self.eras.client_era(msg, "initialize");
        let (Era::Modern { version }, Some(tree)) = (self.era_for(client_modern).await?, msg.tree()) else {
            return Ok(None);
        };
        let result = self.initialize_from_discover(tree, &version).await;
        Ok(Some(json!({"jsonrpc": "2.0", "id": msg.id(), "result": result})))
    }

    /// A legacy client's `initialize` answered from a modern remote's
    /// discover result.
    async fn initialize_from_discover(&self, init: &Value, version: &str) -> Value {
        self.ex.remember_initialize(init);
        let discover = self.eras.discover_result(version).await;
        let requested = init.pointer("/params/protocolVersion").and_then(Value::as_str);
        let mut result = handshake::initialize_result(&discover, requested, self.server());
        if list_cache::on_for(&self.ex.endpoint) {
            list_cache::declare_list_changed(&mut result);
        }
        result
    }

    /// A legacy client's request to a modern remote.
    async fn legacy_client(&self, msg: &Message, method: &str, version: &str) -> Result<Routed, RemoteError> {
        let Some(tree) = msg.tree() else {
            return Ok(Routed::AsIs);
        };
        let id = msg.id().clone();
        let ok = |result: Value| -> Routed {
            let answer = json!({"jsonrpc": "2.0", "id": id, "result": result});
            self.ex.inbound.to_client(answer.clone());
            Routed::Answered(answer)
        };
        match method {
            "initialize" => Ok(ok(self.initialize_from_discover(tree, version).await)),
            "ping" => Ok(ok(json!({}))),
            "logging/setLevel" => {
                let level = tree
                    .pointer("/params/level")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                self.eras.set_log_level(level);
                Ok(ok(json!({})))
            }
            "resources/subscribe" | "resources/unsubscribe" => {
                if let Some(uri) = tree.pointer("/params/uri").and_then(Value::as_str) {
                    let mut subs = lock(&self.subscriptions);
                    subs.retain(|u| u != uri);
                    if method == "resources/subscribe" {
                        subs.push(uri.to_string());
                    }
                }
                self.listen_for_legacy_client();
                Ok(ok(json!({})))
            }
            _ => {
                let mut tree = tree.clone();
                self.eras.client().stamp(&mut tree, version);
                Ok(Routed::Translated(Message::from_value(tree)))
            }
        }
    }

    /// (Re)open the listen stream that brings a legacy client the
    /// notifications it takes, when the remote announces any.
    pub fn listen_for_legacy_client(&self) {
        let Some(version) = self.eras.modern_version() else {
            return;
        };
        let caps = self.eras.remote_capabilities();
        let subs = lock(&self.subscriptions).clone();
        let mut listening = lock(&self.listening);
        if let Some(old) = listening.take() {
            old.abort();
        }
        let Some(filter) = listen::filter(&caps, &subs) else {
            return;
        };
        let who = self.eras.client();
        let inbound = self.ex.inbound.clone();
        let modern = self.modern.clone();
        *listening = Some(tokio::spawn(async move {
            modern
                .listen(filter, who, version, move |note| inbound.to_client(note))
                .await;
        }));
    }

    /// Wait until the input rounds of a legacy client's request `id`, if a
    /// modern remote asked for input, have ended with its answer.
    pub async fn rounds_ended(&self, id: &Value) {
        if !self.eras.shared.translating() {
            return;
        }
        if let Some(ended) = self.rounds.ending(id) {
            let _ = ended.await;
        }
    }

    /// Stop the listen stream (the client is gone, or the bridge stops).
    pub fn stop_listening(&self) {
        if let Some(task) = lock(&self.listening).take() {
            task.abort();
        }
    }

    /// Deliver a client request to a remote that speaks modern `version`;
    /// its answer is dispatched to `Inbound`, or an error is returned.
    pub async fn deliver_modern(
        &self,
        remote: &Remote,
        msg: &Message,
        id: &Value,
        method: &str,
        version: &str,
    ) -> Result<(), RemoteError> {
        let heads = self.modern_heads(msg, method, version);
        let sent = Box::pin(self.modern.request(msg, &heads, id)).await;
        match sent {
            // A remembered modern era the remote no longer speaks.
            Err(RemoteError::Status {
                status: 400 | 404 | 405,
                ..
            }) if self.eras.era_remembered() => Box::pin(self.after_era_change(remote, msg, id, method)).await,
            other => other,
        }
    }

    /// The remote stopped speaking the era remembered for it: ask again,
    /// set up what the new era needs, and deliver `msg` once more.
    pub async fn after_era_change(
        &self,
        remote: &Remote,
        msg: &Message,
        id: &Value,
        method: &str,
    ) -> Result<(), RemoteError> {
        let era = self.eras.era_changed().await?;
        match era {
            Era::Modern { version } if method == "initialize" => {
                // A legacy client's initialize, answered from discover.
                let discover = self.eras.discover_result(&version).await;
                let requested = msg
                    .tree()
                    .and_then(|t| t.pointer("/params/protocolVersion"))
                    .and_then(Value::as_str);
                let result = handshake::initialize_result(&discover, requested, self.server());
                self.ex
                    .inbound
                    .dispatch(json!({"jsonrpc": "2.0", "id": id, "result": result}));
                Ok(())
            }
            Era::Modern { version } => {
                let heads = self.modern_heads(msg, method, &version);
                self.modern.request(msg, &heads, id).await
            }
            Era::Legacy => {
                self.open_legacy_session(remote).await?;
                remote.streamable.request(msg, id).await
            }
        }
    }

    /// The headers of a modern POST for `msg` (the remote speaks `version`).
    fn modern_heads<'m>(&self, msg: &'m Message, method: &'m str, version: &'m str) -> Heads<'m> {
        let tree = msg.tree();
        let own = tree.and_then(era::meta::protocol_version).filter(|v| era::is_modern(v));
        let name = match era::headers::name_member(method) {
            Some("uri") => msg.uri(),
            Some(_) => msg.name(),
            None => None,
        };
        let arguments = match name {
            Some(tool) if method == "tools/call" && self.eras.shared.declares(tool) => {
                tree.and_then(|t| t.pointer("/params/arguments"))
            }
            _ => None,
        };
        Heads {
            version: own.unwrap_or(version),
            method,
            name,
            arguments,
        }
    }
}
