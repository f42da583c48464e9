//! `provider = "integration-app"`: the Integration.app (Membrane) MCP server.
//!
//! The access token goes as `Authorization: Bearer` to `/mcp`, and as
//! `?token=` only for the legacy `/sse` transport. `mode` and `apps` become
//! query parameters, `chat_id` the `x-chat-id` header. In dynamic mode the
//! server's own `tools/list_changed` is lost when no GET stream is open, so
//! after each successful `enable-tools` call the bridge announces the change
//! to the client itself. A 400 "No valid session ID" is treated as session
//! expiry by the Streamable HTTP transport.

use super::{Prepared, Setup};
use crate::client::Outbox;
use crate::config::{ConfigError, Transport};
use crate::credential::{Auth, Static};
use crate::hooks::Hook;
use crate::jsonrpc;
use http::HeaderMap;
use serde_json::{Value, json};
use std::sync::Arc;

/// The keys this provider reads (besides the common ones).
pub const KEYS: &[&str] = &["token", "mode", "apps", "chat_id"];

const MODES: &[&str] = &["static", "dynamic"];
/// The dynamic-mode tool that changes the tool list.
pub const ENABLE_TOOLS: &str = "enable-tools";

pub fn prepare(setup: &Setup<'_>) -> Result<Prepared, ConfigError> {
    setup.allow_only(KEYS)?;
    let e = setup.entry;
    let token = setup.required_secret(
        "token",
        e.token.as_ref(),
        "an Integration.app access token for your customer (generated with your workspace key and secret)",
    )?;
    let mut url = setup.url(None)?;
    let mode = setup.choice("mode", e.mode.as_deref(), MODES)?;
    if let Some(apps) = &e.apps {
        if apps.is_empty() {
            return Err(setup.error(
                "apps",
                "`apps` is empty; list integration keys, e.g. [\"gmail\", \"slack\"], or remove it",
            ));
        }
        if let Some(bad) = apps
            .iter()
            .find(|a| a.trim().is_empty() || a.contains(',') || a.contains(char::is_whitespace))
        {
            return Err(setup.error(
                "apps",
                format!("`{bad}` is not an integration key (no spaces or commas), e.g. \"google-calendar\""),
            ));
        }
        url.query_pairs_mut().append_pair("apps", &apps.join(","));
    }
    if let Some(m) = mode {
        url.query_pairs_mut().append_pair("mode", m);
    }
    setup.apply_query(&mut url)?;

    let legacy = e.transport == Transport::Sse || url.path().trim_end_matches('/').ends_with("/sse");
    let hint = format!(
        "Integration.app refused the token in `token` of [servers.{}]; generate a fresh access token",
        setup.name
    );
    let credential = if legacy {
        Static {
            auth: Auth {
                headers: vec![],
                query: vec![("token".into(), token)],
            },
            hint: Some(hint),
        }
    } else {
        Static::bearer(&token, hint).map_err(|err| setup.error("token", err.0))?
    };

    let mut extra = HeaderMap::new();
    if let Some(c) = &e.chat_id {
        let chat = setup.plain("chat_id", c)?;
        setup.put_header(&mut extra, "chat_id", "x-chat-id", &chat)?;
    }
    let mut endpoint = setup.endpoint(url, Arc::new(credential))?;
    endpoint.headers.extend(extra);
    let hooks: Option<Arc<dyn Hook>> = match mode {
        Some("dynamic") => Some(Arc::new(AnnounceEnabledTools)),
        _ => None,
    };
    let mut prepared = Prepared::new(endpoint);
    prepared.hooks = hooks;
    Ok(prepared)
}

/// Sends `notifications/tools/list_changed` to the client after a
/// successful `enable-tools` call.
pub struct AnnounceEnabledTools;

impl Hook for AnnounceEnabledTools {
    fn after_response(&self, request: &Value, response: &Value, out: &Outbox) {
        let enabled = jsonrpc::method(request) == Some("tools/call")
            && request.pointer("/params/name").and_then(Value::as_str) == Some(ENABLE_TOOLS)
            && response.get("result").is_some_and(Value::is_object)
            && response.pointer("/result/isError").and_then(Value::as_bool) != Some(true);
        if enabled {
            tracing::debug!("enable-tools succeeded; announcing the changed tool list");
            let _ = out.send(json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(request: Value, response: Value) -> Vec<Value> {
        let (tx, mut rx) = crate::client::Outbox::channel();
        AnnounceEnabledTools.after_response(&request, &response, &tx);
        drop(tx);
        std::iter::from_fn(|| rx.try_recv().ok().and_then(|m| m.into_value())).collect()
    }

    #[test]
    fn announces_only_successful_enable_tools() {
        let call = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"enable-tools"}});
        let ok = json!({"jsonrpc":"2.0","id":1,"result":{"content":[]}});
        assert_eq!(run(call.clone(), ok.clone()).len(), 1);
        let failed = json!({"jsonrpc":"2.0","id":1,"result":{"content":[],"isError":true}});
        assert!(run(call.clone(), failed).is_empty());
        let error = json!({"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"x"}});
        assert!(run(call, error).is_empty());
        let other = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"gmail_send-email"}});
        assert!(run(other, ok).is_empty());
    }
}

/// Integration.app (Membrane) connection links: a page of its connection UI
/// (`…integration.app/…/integrations/<key>/connect…`, or the same on
/// getmembrane.com), in text or a `connectUrl`/`connectionUrl` field. The
/// app is the integration key.
pub fn recognise(result: &Value) -> Option<crate::connect_link::ConnectLink> {
    use crate::connect_link::{ConnectLink, account_required, field_url, text_urls};
    if account_required(result) == Some(false) {
        return None;
    }
    let key_of = |u: &str| -> Option<String> {
        let p = url::Url::parse(u).ok()?;
        let host = p.host_str()?;
        let ours = ["integration.app", "getmembrane.com"]
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")));
        let segs: Vec<&str> = p.path_segments()?.collect();
        let at = segs.iter().position(|s| *s == "integrations")?;
        let key = segs.get(at + 1).filter(|k| !k.is_empty())?;
        (ours && segs[at + 2..].iter().any(|s| s.starts_with("connect"))).then(|| key.to_string())
    };
    let url = field_url(result, &["connectUrl", "connectionUrl", "connect_url"])
        .filter(|u| key_of(u).is_some())
        .or_else(|| text_urls(result).into_iter().find(|u| key_of(u).is_some()))?;
    Some(ConnectLink { app: key_of(&url), url })
}

#[cfg(test)]
mod recognise_tests {
    use super::recognise;
    use serde_json::json;

    #[test]
    fn connection_links() {
        let link = "https://ui.integration.app/embed/integrations/hubspot/connect?token=eyJhbGciOi";
        let r = json!({"content": [{"type": "text", "text": format!("No connection for hubspot. Create one: {link}")}], "isError": true});
        let l = recognise(&r).unwrap();
        assert_eq!((l.url.as_str(), l.app.as_deref()), (link, Some("hubspot")));
        let m = "https://ui.getmembrane.com/embed/integrations/google-calendar/connection?token=x";
        let r = json!({"content": [], "structuredContent": {"connectionUrl": m}});
        assert_eq!(recognise(&r).unwrap().app.as_deref(), Some("google-calendar"));
    }

    #[test]
    fn no_false_alarms() {
        let r = json!({"content": [{"type": "text", "text": "See https://integration.app/docs/integrations/hubspot and https://example.com/integrations/x/connect"}]});
        assert_eq!(recognise(&r), None);
    }
}
