//! A warm start from cached lists: the server's last `tools/list`,
//! `prompts/list`, `resources/list` and `resources/templates/list`, and
//! the start of each era of client (a 2025 client's `initialize` result,
//! a 2026-07-28 client's `server/discover` result), kept between runs
//! (`file`), answer the client at once when it starts again; the bridge
//! then opens the real session (or asks the real discover) and fetches
//! each list it answered from the cache behind the answer, and when a
//! list changed it keeps the new one and sends the client the matching
//! `list_changed` (a changed discover result is kept for the next start:
//! that revision has no notification for it).
//!
//! What is kept is the remote's own result (recorded in `Inbound` before
//! any transform), so an answer from the cache passes the same transforms
//! (the tool filter, the era's) a live one does. A discover result is
//! recorded where it is answered (`Inbound::record`): the client's probe
//! or a modern remote's answer as the remote sent it; for a 2025 remote,
//! the one the translation makes from its `initialize` result, whose
//! `ttlMs: 0` is the bridge's, so it is kept as a 2025 result is (`Hints`).
//! A legacy client's list to a modern remote is kept and answered as the
//! translation makes it: what is kept is the remote's answer to the
//! translated request, and the fetch behind the answer is that request. A
//! modern client's list to a legacy remote is answered before the session
//! the bridge opens for that client exists; the fetch behind waits for it.
//! A cache answers:
//! - only the first of each request in a run, and only a first page (no
//!   `cursor`); `initialize` and `server/discover` only for the same
//!   client params;
//! - only for the same server URL, headers, tool filter, transport,
//!   protocol and identity (the
//!   credential's: the token's subject, the key itself; Pipedream's
//!   `external_user_id` is a header): a cache written for one person is
//!   never read for another, and none is kept when the credential cannot
//!   tell who it is;
//! - while fresh: a result with `ttlMs` (2026-07-28 servers must give
//!   one, discover results included) within it (0: never from the cache),
//!   and answered with what is left of it, its `cacheScope` honoured
//!   by the identity rule above (a private list is never read for another
//!   identity, nor is a public one); a result without (a 2025 server's)
//!   within the server's `list_cache` (a week by default). `list_cache =
//!   "0"` turns the cache off.
//!
//! `tools/call`, `resources/read` and `prompts/get` are never answered from
//! it. A cache that cannot be read is ignored with a warn line.

mod behind;
mod declared;
mod file;

pub(crate) use behind::serve;
pub(crate) use declared::{DeclaresListChanged, declare_list_changed};
pub use file::{clear, describe};

use super::endpoint::Endpoint;
use super::inbound::{Hints, Recorder};
use crate::credential::Credential;
use crate::hooks::Upstream;
use crate::message::Message;
use crate::redact::Redactor;
use file::{CacheFile, Entry, Saved};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The methods whose results are kept.
const KEPT: &[&str] = &[
    "initialize",
    "server/discover",
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
];

/// How far in the future an entry's fetch time may lie (clocks drift a
/// little) before the entry is taken as written by a wrong clock.
const CLOCK_SLACK_MS: u64 = 60_000;

/// One server's list cache.
pub(crate) struct ListCache {
    server: String,
    /// None: the cache is off (`list_cache = "0"`, or no data dir).
    file: Option<CacheFile>,
    max_age: Duration,
    /// The URL, headers and filter, for the key (the identity is added at
    /// each use: a signed-in person can change).
    base: String,
    credential: Arc<dyn Credential>,
    /// What the file held at the first look, then as recorded since.
    saved: OnceLock<Mutex<Option<Saved>>>,
    /// The methods the client has asked for in this run.
    asked: Mutex<Vec<String>>,
    /// Held while the real `initialize` goes out behind a cached answer.
    handshake: Arc<tokio::sync::RwLock<()>>,
    /// The server's remote, for the fetches behind an answer.
    upstream: OnceLock<Weak<dyn Upstream>>,
    /// The server's secrets, hidden from what the fetches behind an
    /// answer log of the remote's words.
    redactor: Redactor,
}

impl ListCache {
    pub fn new(ep: &Endpoint) -> ListCache {
        let file = ep
            .store
            .as_ref()
            .filter(|_| on_for(ep))
            .map(|store| CacheFile::new(store, &ep.server));
        let mut base = format!("{}\n", ep.url);
        let mut headers: Vec<String> = ep
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {}", String::from_utf8_lossy(v.as_bytes())))
            .collect();
        headers.sort();
        base.push_str(&headers.join("\n"));
        base.push_str(&format!("\n{:?}\n", ep.tools));
        // How the server is spoken to: a cache kept under another
        // transport or protocol era is not this one's.
        base.push_str(&format!("{:?} {:?}\n", ep.transport, ep.protocol));
        ListCache {
            server: ep.server.clone(),
            file,
            max_age: ep.list_cache.max_age().unwrap_or_default(),
            base,
            credential: ep.credential.clone(),
            saved: OnceLock::new(),
            asked: Mutex::new(Vec::new()),
            handshake: Arc::default(),
            upstream: OnceLock::new(),
            redactor: ep.redactor.clone(),
        }
    }

    /// Once the real `initialize` behind a cached answer has been answered
    /// (at once when there is none).
    pub async fn settled(&self) {
        drop(self.handshake.read().await);
    }

    /// The key of the cache for whom the requests are made as now; None
    /// when the credential cannot tell.
    fn key(&self) -> Option<String> {
        let who = self.credential.identity()?;
        Some(hex(&Sha256::digest(format!("{}{who}", self.base).as_bytes())))
    }

    fn saved(&self) -> std::sync::MutexGuard<'_, Option<Saved>> {
        let slot = self.saved.get_or_init(|| Mutex::new(self.read()));
        slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The file, read once; an unreadable one is ignored with a warn line.
    fn read(&self) -> Option<Saved> {
        let file = self.file.as_ref()?;
        match file.load() {
            Ok(saved) => saved,
            Err(why) => {
                tracing::warn!(
                    "server `{}`: ignoring its list cache {}: {why}; the lists come from the server",
                    self.server,
                    file.path().display()
                );
                None
            }
        }
    }

    /// The cached answer to `msg`, if the cache may give it (see the module
    /// docs); its `id` is the request's.
    pub fn answer(&self, msg: &Message) -> Option<Value> {
        let method = msg.method()?;
        if !self.keeps(method) {
            return None;
        }
        let params = params_of(msg);
        if params.get("cursor").is_some() {
            return None;
        }
        {
            // Only the first of each in a run, answered from here or not:
            // after it, the client asks again because something changed.
            let mut asked = lock(&self.asked);
            if asked.iter().any(|m| m == method) {
                return None;
            }
            asked.push(method.to_string());
        }
        let key = self.key()?;
        let entry = {
            let saved = self.saved();
            let saved = saved.as_ref().filter(|s| s.key == key)?;
            saved.entries.get(method)?.clone()
        };
        if handshake(method) && entry.params.as_deref() != Some(&digest(&params)) {
            return None;
        }
        if entry.fetched_at_ms > now_ms() + CLOCK_SLACK_MS {
            // Written by a clock that was ahead: how old it is cannot be told.
            return None;
        }
        let age = now_ms().saturating_sub(entry.fetched_at_ms);
        let fresh = match entry.ttl_ms {
            Some(ttl) => age < ttl,
            None => Duration::from_millis(age) < self.max_age,
        };
        if !fresh {
            return None;
        }
        tracing::debug!(server = %self.server, method, age_ms = age, "answered from the list cache");
        let mut result = entry.result;
        // The time it may still be kept, counted from when it was fetched.
        if let (Some(ttl), Some(hint)) = (entry.ttl_ms, result.get_mut("ttlMs")) {
            *hint = json!(ttl.saturating_sub(age));
        }
        Some(json!({"jsonrpc": "2.0", "id": msg.id(), "result": result}))
    }

    /// Record the remote's `response` to a `method` request with `params`
    /// (a first page, a complete result), in memory and, behind, on disk.
    fn keep(&self, method: &str, params: &Value, response: &Value, hints: Hints) {
        if !self.keeps(method) || params.get("cursor").is_some() {
            return;
        }
        let Some(result) = response.get("result").filter(|r| r.is_object()) else {
            return;
        };
        if result.get("resultType").is_some_and(|t| t != "complete") {
            return;
        }
        let Some(key) = self.key() else {
            return;
        };
        let entry = Entry {
            result: result.clone(),
            fetched_at_ms: now_ms(),
            params: handshake(method).then(|| digest(params)),
            ttl_ms: None,
            scope: None,
        };
        let entry = match hints {
            Hints::Remote => Entry {
                ttl_ms: result.get("ttlMs").and_then(Value::as_u64),
                scope: result.get("cacheScope").and_then(Value::as_str).map(str::to_string),
                ..entry
            },
            Hints::Bridge => entry,
        };
        {
            let mut saved = self.saved();
            let saved = saved.get_or_insert_with(Saved::default);
            if saved.key != key {
                *saved = Saved {
                    key: key.clone(),
                    ..Saved::default()
                };
            }
            saved.entries.insert(method.to_string(), entry.clone());
        }
        let (Some(file), Ok(runtime)) = (self.file.clone(), tokio::runtime::Handle::try_current()) else {
            return;
        };
        let (server, method) = (self.server.clone(), method.to_string());
        runtime.spawn(async move {
            let written = file
                .update(|saved| {
                    if saved.key != key {
                        *saved = Saved {
                            key,
                            ..Saved::default()
                        };
                    }
                    saved.entries.insert(method, entry);
                })
                .await;
            if let Err(e) = written {
                tracing::warn!("server `{server}`: could not write its list cache: {e}");
            }
        });
    }

    /// Drop the entry for `method` (the server now refuses it), in memory
    /// and, behind, on disk.
    fn forget(&self, method: &str) {
        let Some(key) = self.key() else {
            return;
        };
        if let Some(saved) = self.saved().as_mut().filter(|s| s.key == key) {
            saved.entries.remove(method);
        }
        let (Some(file), Ok(runtime)) = (self.file.clone(), tokio::runtime::Handle::try_current()) else {
            return;
        };
        let (server, method) = (self.server.clone(), method.to_string());
        runtime.spawn(async move {
            let forgotten = file.update(|saved| {
                if saved.key == key {
                    saved.entries.remove(&method);
                }
            });
            if let Err(e) = forgotten.await {
                tracing::warn!("server `{server}`: could not write its list cache: {e}");
            }
        });
    }

    /// Whether `result` differs from the cached one for `method` in what a
    /// client reads (not in its hints or `_meta`).
    fn differs(&self, method: &str, result: &Value) -> bool {
        let saved = self.saved();
        let cached = saved.as_ref().and_then(|s| s.entries.get(method)).map(|e| &e.result);
        cached.is_none_or(|c| content(c) != content(result))
    }
}

impl Recorder for ListCache {
    /// Whether the remote's answers to `method` are recorded.
    fn keeps(&self, method: &str) -> bool {
        self.file.is_some() && KEPT.contains(&method)
    }

    fn record(&self, method: &str, params: &Value, response: &Value, hints: Hints) {
        self.keep(method, params, response, hints);
    }

    /// Let the fetches behind an answer reach the server's remote.
    fn bind(&self, upstream: Weak<dyn Upstream>) {
        let _ = self.upstream.set(upstream);
    }
}

/// Whether `ep`'s list cache is on: a `list_cache` age other than 0, and a
/// data dir to keep it in.
pub(crate) fn on_for(ep: &Endpoint) -> bool {
    ep.list_cache.max_age().is_some() && ep.store.is_some()
}

/// Whether `method` is one of the lists the cache keeps.
pub(crate) fn is_list(method: &str) -> bool {
    KEPT.contains(&method) && !handshake(method)
}

/// Whether `method` opens a session or asks what the server is: its
/// cached answer is only for the same client params.
fn handshake(method: &str) -> bool {
    matches!(method, "initialize" | "server/discover")
}

/// The notification that says the list `method` returns changed.
fn changed_notification(method: &str) -> &'static str {
    match method {
        "tools/list" => "notifications/tools/list_changed",
        "prompts/list" => "notifications/prompts/list_changed",
        _ => "notifications/resources/list_changed",
    }
}

/// A result without what does not make it another list: the caching
/// hints, `_meta` and the result type.
fn content(result: &Value) -> Value {
    let mut c = result.clone();
    if let Some(o) = c.as_object_mut() {
        for k in ["ttlMs", "cacheScope", "_meta", "resultType"] {
            o.remove(k);
        }
    }
    c
}

fn params_of(msg: &Message) -> Value {
    msg.tree()
        .and_then(|t| t.get("params"))
        .cloned()
        .unwrap_or_else(|| json!({}))
}

fn digest(v: &Value) -> String {
    hex(&Sha256::digest(v.to_string().as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
