//! Which era a remote speaks, and the translation when the client speaks
//! the other one.
//!
//! The era is found once per process, before the first request that needs
//! it (concurrent requests wait for the one answer): pinned by `protocol`,
//! legacy for `transport = "sse"`, remembered in the store from an earlier
//! run for the same URL, or asked with `server/discover` (`era::probe` says
//! what an answer means). A remembered era that the remote no longer
//! accepts is forgotten and asked again.
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
//!   `server/discover` from its result; requests go in that session.

use super::modern::Heads;
use super::{Remote, RemoteError};
use crate::config::{Protocol, Transport};
use crate::era::meta::ClientIdentity;
use crate::era::probe::Verdict;
use crate::era::{self, Era, handshake, listen, probe};
use crate::message::Message;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::task::JoinHandle;

/// The store key the era is remembered under.
const MEMORY_KEY: &str = "protocol_era";

/// What the remote side knows of the eras on both sides, shared with the
/// era's transforms.
pub(crate) struct EraShared {
    pub server: String,
    pub timeout: Duration,
    remote_modern: AtomicBool,
    remote_legacy: AtomicBool,
    client_legacy: AtomicBool,
    client_modern: AtomicBool,
    /// Each tool's `x-mcp-header` declarations, from the last `tools/list`.
    pub declared: Mutex<HashMap<String, era::headers::ParamHeaders>>,
}

impl EraShared {
    pub fn new(server: &str, timeout: Duration) -> Self {
        EraShared {
            server: server.to_string(),
            timeout,
            remote_modern: AtomicBool::new(false),
            remote_legacy: AtomicBool::new(false),
            client_legacy: AtomicBool::new(false),
            client_modern: AtomicBool::new(false),
            declared: Mutex::new(HashMap::new()),
        }
    }

    /// The remote speaks a modern revision.
    pub fn modern(&self) -> bool {
        self.remote_modern.load(Ordering::Relaxed)
    }

    /// Whether `tool`'s calls carry `Mcp-Param-*` headers.
    pub fn declares(&self, tool: &str) -> bool {
        lock(&self.declared).get(tool).is_some_and(|d| !d.is_empty())
    }

    /// A modern client talks to a legacy remote: the bridge answers in the
    /// modern revision's shapes.
    pub fn upgrading(&self) -> bool {
        self.remote_legacy.load(Ordering::Relaxed) && self.client_modern.load(Ordering::Relaxed)
    }

    /// A legacy client talks to a modern remote: the bridge translates.
    pub fn translating(&self) -> bool {
        self.modern() && self.client_legacy.load(Ordering::Relaxed)
    }
}

/// The era state of one remote.
#[derive(Default)]
pub(crate) struct EraState {
    era: Mutex<Option<Era>>,
    /// A modern remote's `server/discover` result.
    discover: Mutex<Option<Value>>,
    /// Held while the era is being found.
    finding: tokio::sync::Mutex<()>,
    /// The era came from the store and has not been confirmed this run.
    remembered: AtomicBool,
    /// The remote is modern but also speaks a legacy revision (its
    /// discover result lists one): a legacy client is served natively.
    dual: AtomicBool,
    /// Who the client is, from its `initialize` or a modern request.
    client: Mutex<Option<ClientIdentity>>,
    /// The client speaks a modern revision (it sent `server/discover` or
    /// `_meta` with a version); None until its first request.
    client_modern: Mutex<Option<bool>>,
    /// A legacy remote's `initialize` result, when the bridge opened the
    /// session for a modern client.
    opened: tokio::sync::Mutex<Option<Value>>,
    /// The resources a legacy client subscribed to.
    subscriptions: Mutex<Vec<String>>,
    /// The bridge's listen stream for a legacy client.
    listening: Mutex<Option<JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What `route` made of a request.
pub(crate) enum Routed {
    /// The bridge answered it (written to the client); the answer.
    Answered(Value),
    /// Relay it as it is.
    AsIs,
    /// Relay this instead (the request translated).
    Translated(Message),
}

impl Remote {
    /// The remote's modern revision, once it is known to speak one.
    pub(crate) fn modern_version(&self) -> Option<String> {
        match &*lock(&self.era.era) {
            Some(Era::Modern { version }) => Some(version.clone()),
            _ => None,
        }
    }

    /// Decide what the remote gets for client request `msg`.
    pub(crate) async fn route(&self, msg: &Message) -> Result<Routed, RemoteError> {
        let method = msg.method().unwrap_or("");
        let client_modern = self.client_era(msg, method);
        // The usual case costs a lock: both legacy, the era known.
        if !client_modern && matches!(*lock(&self.era.era), Some(Era::Legacy)) && method != "initialize" {
            return Ok(Routed::AsIs);
        }
        if client_modern && method == "server/discover" && lock(&self.era.era).is_none() {
            // The client's own discover asks the remote what it is.
            if let Some(routed) = self.client_probe(msg).await? {
                return Ok(routed);
            }
        }
        let era = self.era_for(client_modern).await?;
        match (client_modern, era) {
            (false, Era::Legacy) => Ok(Routed::AsIs),
            (true, Era::Modern { .. }) => Ok(Routed::AsIs),
            (false, Era::Modern { version }) => self.legacy_client(msg, method, &version).await,
            (true, Era::Legacy) => self.modern_client(msg, method).await,
        }
    }

    /// The era the remote is spoken to in for a client of this era.
    async fn era_for(&self, client_modern: bool) -> Result<Era, RemoteError> {
        let era = self.settle_era().await?;
        if !client_modern && era.is_modern() && self.era.dual.load(Ordering::Relaxed) {
            // A remote that speaks both eras serves a legacy client in its
            // own revision: nothing to translate, nothing lost.
            self.set_era(Era::Legacy);
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
    pub(crate) async fn replayed_initialize(&self, msg: &Message) -> Result<Option<Value>, RemoteError> {
        let client_modern = self.client_era(msg, "initialize");
        let (Era::Modern { version }, Some(tree)) = (self.era_for(client_modern).await?, msg.tree()) else {
            return Ok(None);
        };
        let result = self.initialize_from_discover(tree, &version).await;
        Ok(Some(json!({"jsonrpc": "2.0", "id": msg.id(), "result": result})))
    }

    /// A legacy client's `initialize` answered from a modern remote's
    /// discover result.
    async fn initialize_from_discover(&self, init: &Value, version: &str) -> Value {
        self.remember_initialize(init);
        let discover = self.discover_result(version).await;
        let requested = init.pointer("/params/protocolVersion").and_then(Value::as_str);
        handshake::initialize_result(&discover, requested, self.server())
    }

    /// Whether the client speaks a modern revision, judged by its first
    /// request (`initialize` is legacy; `server/discover` or a request
    /// whose `_meta` names a version is modern).
    fn client_era(&self, msg: &Message, method: &str) -> bool {
        if let Some(known) = *lock(&self.era.client_modern)
            && method != "initialize"
            && method != "server/discover"
        {
            return known;
        }
        let modern = match method {
            "initialize" => false,
            "server/discover" => true,
            _ => msg
                .tree()
                .and_then(era::meta::protocol_version)
                .is_some_and(era::is_modern),
        };
        *lock(&self.era.client_modern) = Some(modern);
        self.era_shared.client_legacy.store(!modern, Ordering::Relaxed);
        self.era_shared.client_modern.store(modern, Ordering::Relaxed);
        let who = if modern {
            msg.tree().map(ClientIdentity::from_request)
        } else if method == "initialize" {
            msg.tree().map(ClientIdentity::from_initialize)
        } else {
            None
        };
        if let Some(who) = who {
            let mut client = lock(&self.era.client);
            let level = client.as_ref().and_then(|c| c.log_level.clone());
            *client = Some(ClientIdentity {
                log_level: who.log_level.or(level),
                ..who
            });
        }
        modern
    }

    /// The remote's era: known, pinned, remembered, or asked now.
    pub(crate) async fn settle_era(&self) -> Result<Era, RemoteError> {
        if let Some(era) = lock(&self.era.era).clone() {
            return Ok(era);
        }
        let _one = self.era.finding.lock().await;
        if let Some(era) = lock(&self.era.era).clone() {
            return Ok(era);
        }
        let ep = &self.ctx.endpoint;
        let found = match (&ep.protocol, ep.transport) {
            (_, Transport::Sse) => Era::Legacy,
            (Protocol::Pinned(v), _) if era::is_legacy(v) => Era::Legacy,
            (Protocol::Pinned(v), _) => Era::Modern { version: v.clone() },
            (Protocol::Auto, _) => match self.recall().await {
                Some(era) => {
                    self.era.remembered.store(true, Ordering::Relaxed);
                    era
                }
                None => self.ask(era::LATEST_MODERN, true).await?,
            },
        };
        self.set_era(found.clone());
        Ok(found)
    }

    fn set_era(&self, found: Era) {
        let modern = found.is_modern();
        self.era_shared.remote_modern.store(modern, Ordering::Relaxed);
        self.era_shared.remote_legacy.store(!modern, Ordering::Relaxed);
        tracing::debug!(server = self.server(), era = ?found, "protocol era");
        *lock(&self.era.era) = Some(found);
    }

    /// Ask the remote with `server/discover` at `version` (and once more at
    /// a version it names). `remember`: keep the verdict in the store.
    async fn ask(&self, version: &str, remember: bool) -> Result<Era, RemoteError> {
        let who = lock(&self.era.client).clone().unwrap_or_default();
        let mut version = version.to_string();
        for _ in 0..2 {
            let verdict = self.modern.discover(&who, &version).await?;
            match verdict {
                Verdict::Modern { version, discover } => {
                    self.note_discover(discover);
                    let era = Era::Modern { version };
                    if remember {
                        self.remember(&era).await;
                    }
                    return Ok(era);
                }
                Verdict::AskAgain { version: v } => version = v,
                Verdict::Legacy => {
                    if remember {
                        self.remember(&Era::Legacy).await;
                    }
                    return Ok(Era::Legacy);
                }
                Verdict::Inconclusive { why } => {
                    tracing::debug!(
                        server = self.server(),
                        "server/discover said nothing of the era ({why}); using initialize"
                    );
                    return Ok(Era::Legacy);
                }
                Verdict::NoCommonVersion { supported } => {
                    return Err(RemoteError::Protocol(format!(
                        "the server speaks only protocol {} and the bridge speaks {} and {}",
                        supported.join(", "),
                        era::MODERN_VERSIONS.join(", "),
                        era::LEGACY_VERSIONS.join(", ")
                    )));
                }
                Verdict::Refused { message } => {
                    return Err(RemoteError::Protocol(format!(
                        "the server refused server/discover: {message}"
                    )));
                }
            }
        }
        Err(RemoteError::Protocol(
            "the server kept naming protocol versions it then refused".into(),
        ))
    }

    /// Keep a modern remote's discover result, and whether it also speaks
    /// a legacy revision.
    fn note_discover(&self, discover: Value) {
        let dual = discover
            .get("supportedVersions")
            .and_then(Value::as_array)
            .is_some_and(|v| v.iter().filter_map(Value::as_str).any(era::is_legacy));
        self.era.dual.store(dual, Ordering::Relaxed);
        *lock(&self.era.discover) = Some(discover);
    }

    /// A modern client's `server/discover`, sent as it is while the
    /// remote's era is not known yet: a success or a modern error makes
    /// the remote modern, and the answer goes to the client unchanged;
    /// anything else makes it legacy (None: the caller opens the session).
    async fn client_probe(&self, msg: &Message) -> Result<Option<Routed>, RemoteError> {
        let _one = self.era.finding.lock().await;
        if lock(&self.era.era).is_some() {
            return Ok(None);
        }
        let tree = msg.tree();
        let version = tree
            .and_then(era::meta::protocol_version)
            .filter(|v| era::is_modern(v))
            .unwrap_or(era::LATEST_MODERN)
            .to_string();
        let heads = Heads {
            version: &version,
            method: "server/discover",
            name: None,
            arguments: None,
        };
        let (status, answer) = self.modern.exchange(msg.text(), &heads, msg.id()).await?;
        let verdict = probe::judge(status, answer.as_ref(), &version);
        let mut answer = match (verdict, answer) {
            (Verdict::Modern { version, discover }, Some(answer)) => {
                self.note_discover(discover);
                let found = Era::Modern { version };
                self.set_era(found.clone());
                self.remember(&found).await;
                answer
            }
            // A modern refusal the client can act on (another version, a
            // capability): its own to read; the era is asked again with its
            // next discover.
            (
                Verdict::AskAgain { .. } | Verdict::NoCommonVersion { .. } | Verdict::Refused { .. },
                Some(mut answer),
            ) => {
                super::modern::explain_in_place(&mut answer, self.server());
                answer
            }
            (Verdict::Inconclusive { why }, _) if status >= 500 => {
                return Err(RemoteError::Status { status, body: why });
            }
            _ => {
                self.set_era(Era::Legacy);
                self.remember(&Era::Legacy).await;
                return Ok(None);
            }
        };
        if answer.get("id").is_none_or(Value::is_null) {
            answer["id"] = msg.id().clone();
        }
        self.ctx.inbound.to_client(answer.clone());
        Ok(Some(Routed::Answered(answer)))
    }

    /// The discover result of a modern remote, asked for now if the era
    /// was pinned rather than found.
    pub(crate) async fn discover_result(&self, version: &str) -> Value {
        if let Some(d) = lock(&self.era.discover).clone() {
            return d;
        }
        let who = lock(&self.era.client).clone().unwrap_or_default();
        match self.modern.discover(&who, version).await {
            Ok(Verdict::Modern { discover, .. }) => {
                self.note_discover(discover.clone());
                discover
            }
            other => {
                tracing::warn!(
                    server = self.server(),
                    "server/discover gave no result to answer initialize from: {other:?}"
                );
                json!({})
            }
        }
    }

    /// The remote no longer accepts the remembered era: forget it and ask.
    pub(crate) async fn era_changed(&self) -> Result<Era, RemoteError> {
        tracing::info!(
            server = self.server(),
            "the server no longer speaks the protocol era remembered for it; asking again"
        );
        self.era.remembered.store(false, Ordering::Relaxed);
        *lock(&self.era.era) = None;
        let era = self.ask(era::LATEST_MODERN, true).await?;
        self.set_era(era.clone());
        Ok(era)
    }

    /// Whether the era in use came from the store, unconfirmed.
    pub(crate) fn era_remembered(&self) -> bool {
        self.era.remembered.load(Ordering::Relaxed)
    }

    /// The era remembered for this server's URL, if any.
    async fn recall(&self) -> Option<Era> {
        let store = self.ctx.endpoint.store.as_ref()?;
        let record = store.load(self.server()).ok().flatten()?;
        let memory = record.extra.get(MEMORY_KEY)?;
        if memory.get("url").and_then(Value::as_str) != Some(&self.url_key()) {
            return None;
        }
        let era: Era = serde_json::from_value(memory.get("era")?.clone()).ok()?;
        if era.is_modern() {
            let discover = memory.get("discover").filter(|d| d.is_object())?.clone();
            self.note_discover(discover);
        }
        Some(era)
    }

    async fn remember(&self, era: &Era) {
        let Some(store) = &self.ctx.endpoint.store else { return };
        let memory = json!({
            "url": self.url_key(),
            "era": era,
            "discover": lock(&self.era.discover).clone(),
            "checked_at": crate::store::now(),
        });
        if let Err(e) = store
            .update(self.server(), |r| {
                r.extra.insert(MEMORY_KEY.into(), memory);
            })
            .await
        {
            tracing::debug!(server = self.server(), "could not remember the protocol era: {e}");
        }
    }

    /// The URL the memory is for, as a digest (a URL may hold a secret).
    fn url_key(&self) -> String {
        let digest = Sha256::digest(self.ctx.endpoint.url.as_str().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A legacy client's request to a modern remote.
    async fn legacy_client(&self, msg: &Message, method: &str, version: &str) -> Result<Routed, RemoteError> {
        let Some(tree) = msg.tree() else {
            return Ok(Routed::AsIs);
        };
        let id = msg.id().clone();
        let ok = |result: Value| -> Routed {
            let answer = json!({"jsonrpc": "2.0", "id": id, "result": result});
            self.ctx.inbound.to_client(answer.clone());
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
                if let Some(client) = lock(&self.era.client).as_mut() {
                    client.log_level = level;
                }
                Ok(ok(json!({})))
            }
            "resources/subscribe" | "resources/unsubscribe" => {
                if let Some(uri) = tree.pointer("/params/uri").and_then(Value::as_str) {
                    let mut subs = lock(&self.era.subscriptions);
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
                let who = lock(&self.era.client).clone().unwrap_or_default();
                who.stamp(&mut tree, version);
                Ok(Routed::Translated(Message::from_value(tree)))
            }
        }
    }

    /// (Re)open the listen stream that brings a legacy client the
    /// notifications it takes, when the remote announces any.
    pub(crate) fn listen_for_legacy_client(&self) {
        let Some(version) = self.modern_version() else { return };
        let caps = lock(&self.era.discover)
            .as_ref()
            .and_then(|d| d.get("capabilities").cloned())
            .unwrap_or_else(|| json!({}));
        let subs = lock(&self.era.subscriptions).clone();
        let mut listening = lock(&self.era.listening);
        if let Some(old) = listening.take() {
            old.abort();
        }
        let Some(filter) = listen::filter(&caps, &subs) else {
            return;
        };
        let who = lock(&self.era.client).clone().unwrap_or_default();
        let inbound = self.ctx.inbound.clone();
        let modern = self.modern.clone();
        *listening = Some(tokio::spawn(async move {
            modern
                .listen(filter, who, version, move |note| inbound.to_client(note))
                .await;
        }));
    }

    /// Stop the listen stream (the client is gone, or the bridge stops).
    pub(crate) fn stop_listening(&self) {
        if let Some(task) = lock(&self.era.listening).take() {
            task.abort();
        }
    }

    /// A modern client's request to a legacy remote: the session the
    /// bridge opens for it, and `server/discover` answered from it.
    async fn modern_client(&self, msg: &Message, method: &str) -> Result<Routed, RemoteError> {
        let init = self.open_for_modern_client().await?;
        if method != "server/discover" {
            return Ok(Routed::AsIs);
        }
        let requested = msg.tree().and_then(era::meta::protocol_version);
        let result = handshake::discover_result(&init, requested);
        let answer = json!({"jsonrpc": "2.0", "id": msg.id(), "result": result});
        self.ctx.inbound.to_client(answer.clone());
        Ok(Routed::Answered(answer))
    }

    /// The legacy session opened on a modern client's behalf (once).
    async fn open_for_modern_client(&self) -> Result<Value, RemoteError> {
        let mut opened = self.era.opened.lock().await;
        if let Some(init) = &*opened {
            return Ok(init.clone());
        }
        let who = lock(&self.era.client).clone().unwrap_or_default();
        let init = who.initialize(crate::ids::next_id("initialize"), era::LATEST_LEGACY);
        let answer = self.request_internal(init).await?;
        if let Some(error) = answer.get("error") {
            return Err(RemoteError::SessionLost(format!(
                "the server refused initialize: {error}"
            )));
        }
        let result = answer.get("result").cloned().unwrap_or_else(|| json!({}));
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        self.send(note.into()).await;
        *opened = Some(result.clone());
        Ok(result)
    }

    /// After the era changed to legacy: the session a legacy client's
    /// `initialize` opened is opened again (the client's own, replayed),
    /// or the one the bridge opens for a modern client.
    pub(crate) async fn open_legacy_session(&self) -> Result<(), RemoteError> {
        if lock(&self.era.client_modern).unwrap_or(false) {
            return self.open_for_modern_client().await.map(|_| ());
        }
        let Some(mut init) = self.ctx.init_request() else {
            return Ok(());
        };
        init["id"] = crate::ids::next_id("initialize");
        let answer = self.request_internal(init).await?;
        if let Some(error) = answer.get("error") {
            return Err(RemoteError::SessionLost(format!(
                "the server refused initialize: {error}"
            )));
        }
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).into())
            .await;
        Ok(())
    }

    /// The headers of a modern POST for `msg` (the remote speaks `version`).
    pub(crate) fn modern_heads<'m>(&self, msg: &'m Message, method: &'m str, version: &'m str) -> Heads<'m> {
        let tree = msg.tree();
        let own = tree.and_then(era::meta::protocol_version).filter(|v| era::is_modern(v));
        let name = match era::headers::name_member(method) {
            Some("uri") => msg.uri(),
            Some(_) => msg.name(),
            None => None,
        };
        let arguments = match name {
            Some(tool) if method == "tools/call" && self.era_shared.declares(tool) => {
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
