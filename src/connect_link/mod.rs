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
//!   or once the person accepted the elicitation and connected).
//!
//! How a link is shown is the server's `[servers.<name>.connect]`
//! (`config::ConnectSettings`). Everything a server's links need (the
//! answers the client owes its elicitations, the answers held for a retry)
//! is that server's `ConnectLinks`; the relay and the remote reach it only
//! as a `hooks::Transform`.
//!
//! The link carries a one-time token: it is logged in the one warn line that
//! surfacing asks for, and nowhere else.

mod follow;
mod recognise;
mod surface;

pub use recognise::{account_required, field_url, glob, holders, on_hosts, pattern_recogniser, query_param, text_urls};
pub use surface::{META_KEY, decorate, lead};

use crate::client::Outbox;
use crate::config::{ConnectSettings, ServerEntry};
use crate::hooks::{Asked, ClientAsks, Transform, Upstream};
use crate::jsonrpc::IdKey;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;
use tokio::sync::{Notify, oneshot};

/// A link the person must open to connect an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectLink {
    pub url: String,
    /// The app's slug or key (`slack`), when the link names it.
    pub app: Option<String>,
}

/// Finds a connect link in a `tools/call` result.
pub type Recogniser = Arc<dyn Fn(&Value) -> Option<ConnectLink> + Send + Sync>;

/// What a server's transform remembers between answers.
#[derive(Default)]
struct Remembered {
    /// Tools whose answer asked for a connect, with the app: a later
    /// success of one means the account now exists.
    awaiting: HashMap<String, String>,
    /// Apps with an elicitation out, or declined in this process.
    asking: HashSet<String>,
    declined: HashSet<String>,
    /// The client's `logging/setLevel` lets warnings through.
    wants_logs: Option<bool>,
}

/// The call whose answer asked for a connect: what surfacing and following
/// that answer need to know.
struct Call {
    /// The client declared `elicitation.url`.
    pub url_mode: bool,
    /// The client takes warning-level log messages.
    pub logs: bool,
    pub tool: String,
    /// The original call's params.
    pub params: Value,
    pub out: Outbox,
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
    state: Mutex<Remembered>,
    /// The server's remote, once bound: a held answer is retried through it.
    upstream: OnceLock<Weak<dyn Upstream>>,
    /// Answers the client owes to this server's elicitations, by id.
    asked: ClientAsks,
    /// Answers held by `follow`, by request id: a cancel drops one unanswered.
    held: Mutex<HashMap<IdKey, Arc<Notify>>>,
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
            state: Mutex::new(Remembered::default()),
            upstream: OnceLock::new(),
            asked: ClientAsks::default(),
            held: Mutex::default(),
        }))
    }
}

/// The connect-link transform for server `name`: its provider's recogniser,
/// after the config's `connect_link_pattern` when there is one. The error
/// is about `connect_link_pattern`.
pub fn for_server(
    name: &str,
    entry: &ServerEntry,
    provider: Option<Recogniser>,
) -> Result<Arc<dyn Transform>, &'static str> {
    let pattern = match entry.connect_link_pattern.as_deref().map(str::trim) {
        Some(p) if !recognise::is_http(p) || p.len() < "https://x".len() => {
            return Err("a connect link pattern is a URL with `*` wildcards, e.g. \"https://example.com/connect?*\"");
        }
        Some(p) => Some(pattern_recogniser(p.to_string())),
        None => None,
    };
    let found: Recogniser = match (pattern, provider) {
        (Some(a), Some(b)) => Arc::new(move |r: &Value| a(r).or_else(|| b(r))),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => Arc::new(|_: &Value| None),
    };
    // Whatever finds it, a link is one the browser gate would open: it is
    // shown as the thing to click, and may be opened.
    let server = name.to_string();
    let recognise: Recogniser = Arc::new(move |r: &Value| {
        found(r).filter(|link| match crate::browser::check(&link.url) {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(server, "a connect link in the answer is not shown as one: {e}");
                false
            }
        })
    });
    let store = crate::store::Store::open_default().ok();
    Ok(Arc::new(ConnectLinks::new(
        name,
        entry.connect.clone(),
        recognise,
        entry.timeout(),
        store,
    )))
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, Remembered> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn held(&self) -> MutexGuard<'_, HashMap<IdKey, Arc<Notify>>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wait for the client's answer to the bridge's request `id`.
    fn expect_answer(&self, id: &str) -> oneshot::Receiver<Value> {
        self.asked.expect(&Value::from(id))
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
static HTTP: LazyLock<memchr::memmem::Finder<'static>> = LazyLock::new(|| memchr::memmem::Finder::new(b"http"));
static ESCAPE: LazyLock<memchr::memmem::Finder<'static>> = LazyLock::new(|| memchr::memmem::Finder::new(b"\\u"));

impl Transform for ConnectLinks {
    fn bind(&self, upstream: &Weak<dyn Upstream>) {
        let _ = self.0.upstream.set(upstream.clone());
    }

    fn answered(&self, answer: &Value) -> bool {
        self.0.asked.answered(answer)
    }

    fn id_taken(&self, id: &Value) {
        if self.0.asked.forget(id) {
            tracing::warn!(server = %self.0.server, "the remote sent a request under the id of the bridge's own elicitation; that elicitation is dropped");
        }
    }

    fn cancelled(&self, id: &Value) {
        if let Some(n) = self.0.held().get(&crate::jsonrpc::id_key(id)) {
            n.notify_one();
        }
    }

    fn client_gone(&self) {
        self.0.asked.clear();
    }

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

    fn response(&self, asked: &Asked<'_>, response: &mut Value, out: &Outbox) {
        let inner = &self.0;
        if asked.method == "logging/setLevel" {
            let level = asked.params.and_then(|p| p.get("level")).and_then(Value::as_str);
            inner.state().wants_logs = level.map(|l| matches!(l, "debug" | "info" | "notice" | "warning"));
            return;
        }
        if asked.method != "tools/call" {
            return;
        }
        let tool = asked
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
        let call = Call {
            url_mode: asked.client_caps.and_then(|c| c.pointer("/elicitation/url")).is_some(),
            logs: {
                let declared = asked.client_caps.is_some_and(|c| c.get("logging").is_some());
                inner.state().wants_logs.unwrap_or(declared)
            },
            tool,
            params: asked.params.cloned().unwrap_or(Value::Null),
            out: out.clone(),
        };
        let upstream = inner.upstream.get().and_then(Weak::upgrade);
        match upstream.filter(|_| follow::worth_holding(inner, &call, response, &link)) {
            Some(upstream) => {
                let held = std::mem::take(response);
                follow::hold(inner.clone(), upstream, call, held, link);
            }
            None => surface::show(inner, &call, response, &link),
        }
    }
}

#[cfg(test)]
mod tests;
