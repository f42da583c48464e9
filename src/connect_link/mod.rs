//! Connect links: when a provider answers a tool call with "connect your
//! account first" and a link (Pipedream Connect's `connect.html?token=ctok_…`,
//! Zapier's authorize link, Integration.app's connection link, or a
//! `connect_link_pattern` from the config), the bridge makes that moment
//! clear to the person instead of leaving the link buried in tool output.
//!
//! - `mod.rs`: what a link is, the helpers the providers' recognisers share
//!   (each provider's `recognise` lives next to its code in `src/provider/`),
//!   and `ConnectLinks`, the per-server `Transform` on `tools/call` answers;
//! - `surface.rs`: the ways a link is shown (notice and `_meta`, warn log,
//!   `notifications/message`, URL-mode elicitation, the browser once);
//! - `follow.rs`: holding an answer to retry it (a false `accountRequired`,
//!   or once the person accepted the elicitation and connected);
//! - `settings.rs`: `[servers.<name>.connect]`.
//!
//! The link carries a one-time token: it is logged in the one warn line that
//! surfacing asks for, and nowhere else.

mod follow;
mod recognise;
mod settings;
mod surface;

pub use recognise::{account_required, field_url, glob, holders, pattern_recogniser, query_param, text_urls};
pub use settings::ConnectSettings;
pub use surface::{META_KEY, decorate, lead};

/// A connect link by any provider's recogniser (Pipedream, Zapier,
/// Integration.app), for callers that do not know the server.
pub fn find(result: &Value) -> Option<ConnectLink> {
    crate::provider::recognise_any(result)
}

use crate::remote::inbound::{Outbox, Reply, Transform};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// Prefix of ids of requests the bridge itself sends (to the client or the
/// remote); the client's answers to them are not for the remote.
pub const BRIDGE_ID_PREFIX: &str = "mcp-bridge-";

/// A link the person must open to connect an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectLink {
    pub url: String,
    /// The app's slug or key (`slack`), when the link names it.
    pub app: Option<String>,
}

/// Finds a connect link in a `tools/call` result.
pub type Recogniser = Arc<dyn Fn(&Value) -> Option<ConnectLink> + Send + Sync>;

/// Answers the client owes to the bridge's own elicitations, by id.
static ASKED: LazyLock<Mutex<HashMap<String, oneshot::Sender<Value>>>> = LazyLock::new(Default::default);

fn asked() -> std::sync::MutexGuard<'static, HashMap<String, oneshot::Sender<Value>>> {
    ASKED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Wait for the client's answer to the bridge's request `id`.
pub(crate) fn expect_answer(id: &str) -> oneshot::Receiver<Value> {
    let (tx, rx) = oneshot::channel();
    asked().insert(id.to_string(), tx);
    rx
}

/// The client answered a request the bridge sent (an id starting with
/// `BRIDGE_ID_PREFIX`): hand the answer to whoever waits for it.
pub fn answered(msg: &Value) {
    if let Some(id) = msg.get("id").and_then(Value::as_str)
        && let Some(tx) = asked().remove(id)
    {
        let _ = tx.send(msg.clone());
    }
}

/// The client is gone: nobody will answer, so stop every wait at once.
pub fn client_gone() {
    asked().clear();
}

/// Answers held by `follow`, by request id: a cancel drops one unanswered.
static HELD: LazyLock<Mutex<HashMap<crate::jsonrpc::IdKey, Arc<tokio::sync::Notify>>>> =
    LazyLock::new(Default::default);

fn held() -> std::sync::MutexGuard<'static, HashMap<crate::jsonrpc::IdKey, Arc<tokio::sync::Notify>>> {
    HELD.lock().unwrap_or_else(|e| e.into_inner())
}

/// The client cancelled request `id`: if its answer is held here, it is
/// dropped (a cancelled request gets no answer).
pub fn cancelled(id: &Value) {
    if let Some(n) = held().get(&crate::jsonrpc::id_key(id)) {
        n.notify_one();
    }
}

/// What a server's transform remembers between answers.
#[derive(Default)]
struct State {
    /// Tools whose answer asked for a connect, with the app: a later
    /// success of one means the account now exists.
    awaiting: HashMap<String, String>,
    /// Apps with an elicitation out, or declined in this process.
    asking: HashSet<String>,
    declined: HashSet<String>,
    /// The client's `logging/setLevel` lets warnings through.
    wants_logs: Option<bool>,
}

/// One server's connect-link handling (a `Transform` on its answers).
pub struct ConnectLinks(Arc<Inner>);

struct Inner {
    server: String,
    settings: ConnectSettings,
    recognise: Recogniser,
    /// Bounds how long an answer is held.
    timeout: Duration,
    store: Option<crate::store::Store>,
    state: Mutex<State>,
}

impl ConnectLinks {
    pub fn new(
        server: &str,
        settings: ConnectSettings,
        recognise: Recogniser,
        timeout: Duration,
        store: Option<crate::store::Store>,
    ) -> Self {
        Self(Arc::new(Inner {
            server: server.to_string(),
            settings,
            recognise,
            timeout,
            store,
            state: Mutex::new(State::default()),
        }))
    }
}

/// The connect-link transform for a server: its provider's recogniser,
/// after the config's `connect_link_pattern` when there is one.
pub fn for_server(
    setup: &crate::provider::Setup<'_>,
    provider: Option<Recogniser>,
) -> Result<Arc<dyn Transform>, crate::config::ConfigError> {
    let e = setup.entry;
    let pattern = match e.connect_link_pattern.as_deref().map(str::trim) {
        Some(p) if !recognise::is_http(p) || p.len() < "https://x".len() => {
            return Err(setup.error(
                "connect_link_pattern",
                "a connect link pattern is a URL with `*` wildcards, e.g. \"https://example.com/connect?*\"",
            ));
        }
        Some(p) => Some(pattern_recogniser(p.to_string())),
        None => None,
    };
    let recognise: Recogniser = match (pattern, provider) {
        (Some(a), Some(b)) => Arc::new(move |r: &Value| a(r).or_else(|| b(r))),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => Arc::new(|_: &Value| None),
    };
    let store = crate::store::Store::open_default().ok();
    Ok(Arc::new(ConnectLinks::new(
        setup.name,
        e.connect.clone(),
        recognise,
        e.timeout(),
        store,
    )))
}

impl Inner {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The link in a response, unless it is an error or has none.
    fn link_in(&self, response: &Value) -> Option<ConnectLink> {
        (self.recognise)(response.get("result")?)
    }
}

/// The key an app is remembered by.
fn app_key(link: &ConnectLink) -> String {
    link.app.clone().unwrap_or_default()
}

/// What `wants` looks for in a result, built once (a searcher per call
/// cost more than the search).
static HTTP: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"http"));
static ESCAPE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\\u"));

impl Transform for ConnectLinks {
    fn wants_params(&self, method: &str) -> bool {
        matches!(method, "tools/call" | "logging/setLevel")
    }

    /// A result can hold a link only if its text has `http` in it (or a
    /// `\u` escape that could spell it); a call for a tool whose app is
    /// being connected is always looked at, to notice the connect.
    fn wants(&self, method: &str, text: &[u8]) -> bool {
        match method {
            "logging/setLevel" => true,
            "tools/call" => {
                !self.0.state().awaiting.is_empty() || HTTP.find(text).is_some() || ESCAPE.find(text).is_some()
            }
            _ => false,
        }
    }

    fn response(&self, reply: &Reply<'_>, response: &mut Value, out: &Outbox) {
        let inner = &self.0;
        if reply.method == "logging/setLevel" {
            let level = reply.params.and_then(|p| p.get("level")).and_then(Value::as_str);
            inner.state().wants_logs = level.map(|l| matches!(l, "debug" | "info" | "notice" | "warning"));
            return;
        }
        if reply.method != "tools/call" {
            return;
        }
        let tool = reply
            .params
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let Some(link) = inner.link_in(response) else {
            if response.get("result").is_some() {
                follow::connected(inner, &tool, out);
            }
            return;
        };
        let ctx = follow::Ctx {
            url_mode: reply.client_caps.and_then(|c| c.pointer("/elicitation/url")).is_some(),
            logs: {
                let declared = reply.client_caps.is_some_and(|c| c.get("logging").is_some());
                inner.state().wants_logs.unwrap_or(declared)
            },
            tool,
            params: reply.params.cloned().unwrap_or(Value::Null),
            out: out.clone(),
        };
        let remote = reply.remote.and_then(std::sync::Weak::upgrade);
        match remote.filter(|_| follow::worth_holding(inner, &ctx, &link)) {
            Some(remote) => {
                let held = std::mem::take(response);
                follow::hold(inner.clone(), remote, ctx, held, link);
            }
            None => surface::show(inner, &ctx, response, &link),
        }
    }
}

#[cfg(test)]
mod tests;
