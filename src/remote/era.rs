//! Which era each side speaks: the remote's, found once and remembered, and
//! the client's, judged from its first request.
//!
//! The remote's era is found once per process, before the first request
//! that needs it (concurrent requests wait for the one answer): pinned by
//! `protocol`, legacy for `transport = "sse"`, remembered in the store from
//! an earlier run for the same URL, or asked with `server/discover`
//! (`era::probe` says what an answer means); a modern client's own
//! `server/discover` is that question (`client_probe`; on a warm start the
//! list cache answers the client first, and it is asked behind). A remembered era
//! that the remote no longer accepts is forgotten and asked again
//! (`era_changed`). What a request becomes when the two sides differ is
//! `translation`'s.

use super::era_memory;
use super::era_shared::EraShared;
use super::error::RemoteError;
use super::exchange::Exchange;
use super::inbound::Hints;
use super::modern::{self, Heads, Modern};
use crate::config::{Protocol, Transport};
use crate::era::meta::ClientIdentity;
use crate::era::probe::{self, Verdict};
use crate::era::{self, Era};
use crate::message::Message;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The eras of one remote and its client.
pub(crate) struct Eras {
    ex: Arc<Exchange>,
    modern: Arc<Modern>,
    pub shared: Arc<EraShared>,
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
}

impl Eras {
    pub fn new(ex: Arc<Exchange>, modern: Arc<Modern>, shared: Arc<EraShared>) -> Eras {
        Eras {
            ex,
            modern,
            shared,
            era: Mutex::new(None),
            discover: Mutex::new(None),
            finding: tokio::sync::Mutex::new(()),
            remembered: AtomicBool::new(false),
            dual: AtomicBool::new(false),
            client: Mutex::new(None),
            client_modern: Mutex::new(None),
        }
    }

    fn server(&self) -> &str {
        &self.ex.endpoint.server
    }

    /// The remote's modern revision, once it is known to speak one.
    pub fn modern_version(&self) -> Option<String> {
        match &*lock(&self.era) {
            Some(Era::Modern { version }) => Some(version.clone()),
            _ => None,
        }
    }

    /// The remote's era, if known.
    pub fn known(&self) -> Option<Era> {
        lock(&self.era).clone()
    }

    /// The remote's revision is pinned by `protocol`: spoken as it is, even
    /// to a remote that speaks both eras.
    pub fn pinned(&self) -> bool {
        matches!(self.ex.endpoint.protocol, Protocol::Pinned(_))
    }

    /// The remote speaks a legacy revision besides its modern one.
    pub fn dual(&self) -> bool {
        self.dual.load(Ordering::Relaxed)
    }

    /// Whether the client speaks a modern revision, as its first request
    /// showed (false until then).
    pub fn client_modern(&self) -> bool {
        lock(&self.client_modern).unwrap_or(false)
    }

    /// Who the client is (the defaults until it said).
    pub fn client(&self) -> ClientIdentity {
        lock(&self.client).clone().unwrap_or_default()
    }

    /// The log level a legacy client set, for later requests' `_meta`.
    pub fn set_log_level(&self, level: Option<String>) {
        if let Some(client) = lock(&self.client).as_mut() {
            client.log_level = level;
        }
    }

    /// The capabilities in a modern remote's discover result.
    pub fn remote_capabilities(&self) -> Value {
        lock(&self.discover)
            .as_ref()
            .and_then(|d| d.get("capabilities").cloned())
            .unwrap_or_else(|| json!({}))
    }

    /// Whether the client speaks a modern revision, judged by its first
    /// request (`initialize` is legacy; `server/discover` or a request
    /// whose `_meta` names a version is modern).
    pub fn client_era(&self, msg: &Message, method: &str) -> bool {
        if let Some(known) = *lock(&self.client_modern)
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
        *lock(&self.client_modern) = Some(modern);
        self.shared.set_client(modern);
        let who = if modern {
            msg.tree().map(ClientIdentity::from_request)
        } else if method == "initialize" {
            msg.tree().map(ClientIdentity::from_initialize)
        } else {
            None
        };
        if let Some(who) = who {
            let mut client = lock(&self.client);
            let level = client.as_ref().and_then(|c| c.log_level.clone());
            *client = Some(ClientIdentity {
                log_level: who.log_level.or(level),
                ..who
            });
        }
        modern
    }

    /// The remote's era: known, pinned, remembered, or asked now.
    pub async fn settle_era(&self) -> Result<Era, RemoteError> {
        if let Some(era) = lock(&self.era).clone() {
            return Ok(era);
        }
        let _one = self.finding.lock().await;
        if let Some(era) = lock(&self.era).clone() {
            return Ok(era);
        }
        let ep = &self.ex.endpoint;
        let found = match (&ep.protocol, ep.transport) {
            (_, Transport::Sse) => Era::Legacy,
            (Protocol::Pinned(v), _) if era::is_legacy(v) => Era::Legacy,
            (Protocol::Pinned(v), _) => Era::Modern { version: v.clone() },
            (Protocol::Auto, _) => match era_memory::recall(ep) {
                Some((era, discover)) => {
                    if let Some(discover) = discover {
                        self.note_discover(discover);
                    }
                    self.remembered.store(true, Ordering::Relaxed);
                    era
                }
                None => self.ask(era::LATEST_MODERN, true).await?,
            },
        };
        self.set_era(found.clone());
        Ok(found)
    }

    pub fn set_era(&self, found: Era) {
        let modern = found.is_modern();
        self.shared.set_remote(modern);
        tracing::debug!(server = self.server(), era = ?found, "protocol era");
        *lock(&self.era) = Some(found);
    }

    /// Ask the remote with `server/discover` at `version` (and once more at
    /// a version it names). `remember`: keep the verdict in the store.
    async fn ask(&self, version: &str, remember: bool) -> Result<Era, RemoteError> {
        let who = self.client();
        let mut version = version.to_string();
        for _ in 0..2 {
            let verdict = self.bounded(self.modern.discover(&who, &version)).await?;
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
                    return Err(RemoteError::NoCommonVersion(format!(
                        "the server speaks only {}; the bridge speaks {}, {}",
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

    /// `asking` the remote, within the server's `timeout`: a remote that
    /// takes the request and never answers must not hold the era's finding,
    /// and every client request waiting on it, for ever.
    async fn bounded<T>(
        &self,
        asking: impl std::future::Future<Output = Result<T, RemoteError>>,
    ) -> Result<T, RemoteError> {
        let timeout = self.ex.endpoint.timeout;
        tokio::time::timeout(timeout, asking)
            .await
            .unwrap_or(Err(RemoteError::Timeout(timeout)))
    }

    /// Keep a modern remote's discover result, and whether it also speaks
    /// a legacy revision.
    fn note_discover(&self, discover: Value) {
        let dual = discover
            .get("supportedVersions")
            .and_then(Value::as_array)
            .is_some_and(|v| v.iter().filter_map(Value::as_str).any(era::is_legacy));
        self.dual.store(dual, Ordering::Relaxed);
        *lock(&self.discover) = Some(discover);
    }

    /// A modern client's `server/discover`, sent as it is while the
    /// remote's era is not known yet: a success or a modern error makes
    /// the remote modern, and the answer goes to the client unchanged (and
    /// is returned; a success is kept in the list cache first); anything
    /// else makes it legacy (None: the caller opens the session).
    pub async fn client_probe(&self, msg: &Message) -> Result<Option<Value>, RemoteError> {
        let _one = self.finding.lock().await;
        if lock(&self.era).is_some() {
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
        let (status, answer) = self.bounded(self.modern.exchange(msg.text(), &heads, msg.id())).await?;
        let verdict = probe::judge(status, answer.as_ref(), &version);
        let mut answer = match (verdict, answer) {
            (Verdict::Modern { version, discover }, Some(answer)) => {
                let params = tree.and_then(|t| t.get("params")).cloned().unwrap_or_else(|| json!({}));
                self.ex
                    .inbound
                    .record("server/discover", &params, &answer, Hints::Remote);
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
                modern::explain_in_place(&mut answer, self.server());
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
        // The answer to the client's one request, whatever id the remote
        // wrote in it: a stray id would leave the request unanswered.
        if let Some(answer) = answer.as_object_mut() {
            answer.insert("id".into(), msg.id().clone());
        }
        self.ex.inbound.to_client(answer.clone());
        Ok(Some(answer))
    }

    /// The discover result of a modern remote, asked for now if the era
    /// was pinned rather than found, or remembered without a discover
    /// result still good for this identity (then remembered with it).
    pub async fn discover_result(&self, version: &str) -> Value {
        if let Some(d) = lock(&self.discover).clone() {
            return d;
        }
        let who = self.client();
        match self.bounded(self.modern.discover(&who, version)).await {
            Ok(Verdict::Modern { discover, .. }) => {
                self.note_discover(discover.clone());
                let found = lock(&self.era).clone().filter(|_| !self.pinned());
                if let Some(era) = found {
                    self.remember(&era).await;
                }
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
    pub async fn era_changed(&self) -> Result<Era, RemoteError> {
        tracing::info!(
            server = self.server(),
            "the server no longer speaks the protocol era remembered for it; asking again"
        );
        self.remembered.store(false, Ordering::Relaxed);
        *lock(&self.era) = None;
        let era = self.ask(era::LATEST_MODERN, true).await?;
        self.set_era(era.clone());
        Ok(era)
    }

    /// Keep `era` (and the discover result) in the store.
    async fn remember(&self, era: &Era) {
        let discover = lock(&self.discover).clone();
        era_memory::remember(&self.ex.endpoint, era, discover).await;
    }

    /// Whether the era in use came from the store, unconfirmed.
    pub fn era_remembered(&self) -> bool {
        self.remembered.load(Ordering::Relaxed)
    }
}
