//! The ways a connect link reaches the person, each switched by
//! `[servers.<name>.connect]`:
//! 1. `notice`: the result leads with `Connect your Slack account to
//!    continue:` and the link whole on its own line; the provider's own
//!    content follows, and the link also goes under `_meta`;
//! 2. `log`: one warn line on stderr with the app and the link;
//! 3. `notify`: a `notifications/message` when the client takes log messages;
//! 4. `elicit`: a URL-mode `elicitation/create` (built here, sent by `follow`);
//! 5. `open_browser`: the link opened once per app and token, however many
//!    calls and bridge processes meet it (a mark in the token store, under
//!    its lock).

use super::{Call, ConnectLink, Inner};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The `_meta` key holding the link for clients that read it.
pub const META_KEY: &str = "mcp-bridge/connectLink";

/// How long a browser-open mark is kept (Pipedream's tokens live 4 hours).
const MARK_LIFETIME: u64 = 5 * 3600;

/// `slack` → `Slack`, `google_calendar` → `Google Calendar`.
pub fn display_app(slug: &str) -> String {
    slug.split(['-', '_', ' '])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The line the result leads with, before the link.
pub fn lead(link: &ConnectLink) -> String {
    match link.app.as_deref().map(display_app).filter(|a| !a.is_empty()) {
        Some(app) => format!("Connect your {app} account to continue:"),
        None => "Connect your account to continue:".to_string(),
    }
}

/// Every way but the elicitation, as the settings say.
pub(super) fn show(inner: &Inner, call: &Call, response: &mut Value, link: &ConnectLink) {
    let s = &inner.settings;
    if s.notice {
        decorate(response, link);
    }
    if s.log {
        tracing::warn!(
            server = %inner.server,
            app = link.app.as_deref().unwrap_or("unknown"),
            link = %link.url,
            "the person must connect an account before this tool works; the link is single-use"
        );
    }
    if s.notify && call.logs {
        let _ = call.out.send(message(&inner.server, link));
    }
    if s.open_browser
        && let Some(store) = inner.store.clone()
    {
        let (server, link) = (inner.server.clone(), link.clone());
        tokio::spawn(async move { open_once(&store, &server, &link).await });
    }
    inner.state().awaiting.insert(call.tool.clone(), super::app_key(link));
}

/// Lead the result with the notice and put the link under `_meta`.
pub fn decorate(response: &mut Value, link: &ConnectLink) {
    let Some(result) = response.get_mut("result").and_then(Value::as_object_mut) else {
        return;
    };
    let notice = json!({"type": "text", "text": format!("{}\n{}", lead(link), link.url)});
    match result.get_mut("content").and_then(Value::as_array_mut) {
        Some(content) => content.insert(0, notice),
        None => {
            result.insert("content".into(), json!([notice]));
        }
    }
    let meta = result.entry("_meta").or_insert_with(|| json!({}));
    if let Some(meta) = meta.as_object_mut() {
        meta.insert(META_KEY.into(), json!({"url": link.url, "app": link.app}));
    }
}

/// A `notifications/message` at warning level carrying the notice.
pub fn message(server: &str, link: &ConnectLink) -> Value {
    json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {
        "level": "warning",
        "logger": format!("mcp-bridge/{server}"),
        "data": {"message": format!("{} {}", lead(link), link.url), "url": link.url, "app": link.app},
    }})
}

/// A URL-mode `elicitation/create` (MCP 2025-11-25) for `link`.
pub fn elicitation(id: &str, elicitation_id: &str, link: &ConnectLink) -> Value {
    let app = link.app.as_deref().map(display_app);
    let what = app.map_or("an account".to_string(), |a| format!("your {a} account"));
    json!({"jsonrpc": "2.0", "id": id, "method": "elicitation/create", "params": {
        "mode": "url",
        "elicitationId": elicitation_id,
        "url": link.url,
        "message": format!("Connect {what} so the assistant can use it, then come back here."),
    }})
}

/// The mark that says `link` was opened (a hash: the token stays secret).
fn mark(link: &ConnectLink) -> String {
    let token = super::query_param(&link.url, "token").unwrap_or_else(|| link.url.clone());
    let digest = Sha256::digest(format!("{}\n{token}", super::app_key(link)).as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Open `link` in the browser unless this app and token were opened
/// already, here or in another bridge process.
pub async fn open_once(store: &crate::store::Store, server: &str, link: &ConnectLink) {
    let record = format!("{server}.connect-links");
    let Ok(_lock) = store.lock(&record).await else {
        tracing::warn!(server, "cannot lock the token store; not opening the browser");
        return;
    };
    let mut rec = store.load(&record).ok().flatten().unwrap_or_default();
    let now = crate::store::now();
    let marks = rec.extra.entry("opened").or_insert_with(|| json!({}));
    let Some(marks) = marks.as_object_mut() else {
        return;
    };
    marks.retain(|_, at| at.as_u64().is_some_and(|t| t.saturating_add(MARK_LIFETIME) > now));
    let key = mark(link);
    if marks.contains_key(&key) {
        tracing::debug!(server, "connect link already opened");
        return;
    }
    marks.insert(key, json!(now));
    if let Err(e) = store.save(&record, &rec) {
        tracing::warn!(server, "cannot record the opened connect link ({e})");
    }
    if let Err(e) = crate::browser::open(&link.url) {
        tracing::warn!(server, "{e}");
    }
}
