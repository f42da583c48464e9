//! `provider = "integration-app"`: the Integration.app (Membrane) MCP server.
//!
//! What the server does is read in its open-source code
//! (integration-app/mcp-server, membranehq/mcp-server). Its auth middleware
//! takes the token from `?token=` (which wins) or `Authorization: Bearer` on
//! every route, `/mcp` and the legacy `/sse` alike, and decodes it as a JWT
//! wanting an `id`. The bridge sends the token once, as Bearer, on both
//! transports: the legacy transport's `endpoint` event already carries
//! `?token=` (the server builds it so), and a second `token` in a query
//! reaches the server as an array that fails the decode with 401 "Invalid
//! token format". A token already in `url` (`…/sse?token=…`, as the
//! server's README shows) is used as it is, and then `token` must not be
//! set. `auth = "oauth"` signs in with Membrane's OAuth (the server
//! publishes metadata naming api.getmembrane.com, scope `tenant`).
//!
//! `mode` and `apps` become query parameters, `chat_id` the `x-chat-id`
//! header: the server then lists this chat's session at `GET /mcp/sessions`
//! for your own app. The bridge does not resume that session on its next
//! start (see the README's Integration.app section for why). In dynamic
//! mode the server's own `tools/list_changed` is lost when no GET stream is
//! open, so after each successful `enable-tools` call the bridge announces
//! the change to the client itself. A 400 "No valid session ID" is treated
//! as session expiry by the Streamable HTTP transport.

use super::{Prepared, Setup};
use crate::client::Outbox;
use crate::config::ConfigError;
use crate::credential::Static;
use crate::hooks::Hook;
use crate::jsonrpc;
use base64::Engine;
use http::HeaderMap;
use serde_json::{Value, json};
use std::sync::Arc;

/// The keys this provider reads (besides the common ones).
pub const KEYS: &[&str] = &["token", "mode", "apps", "chat_id"];

const MODES: &[&str] = &["static", "dynamic"];
/// The dynamic-mode tool that changes the tool list.
pub const ENABLE_TOOLS: &str = "enable-tools";

/// Whether `token` is what the server's auth middleware accepts: a JWT
/// whose payload has an `id` (src/server/middlewares/auth.ts decodes it
/// without verifying the signature).
fn is_membrane_token(token: &str) -> bool {
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|p| p.get("id").cloned())
        .is_some_and(|id| !matches!(id, Value::Null | Value::Bool(false)) && id != json!("") && id != json!(0))
}

pub fn prepare(setup: &Setup<'_>) -> Result<Prepared, ConfigError> {
    setup.allow_only(KEYS)?;
    let e = setup.entry;
    // Each key on its own (`each`): `check` shows every wrong one.
    let url = setup.each(setup.url(None))?;
    let mode = setup.each(setup.choice("mode", e.mode.as_deref(), MODES))?;
    let apps = setup.each(match &e.apps {
        Some(apps) if apps.is_empty() => Err(setup.error(
            "apps",
            "`apps` is empty; list integration keys, e.g. [\"gmail\", \"slack\"], or remove it",
        )),
        Some(apps) => match apps
            .iter()
            .find(|a| a.trim().is_empty() || a.contains(',') || a.contains(char::is_whitespace))
        {
            Some(bad) => Err(setup.error(
                "apps",
                format!("`{bad}` is not an integration key (no spaces or commas), e.g. \"google-calendar\""),
            )),
            None => Ok(Some(apps)),
        },
        None => Ok(None),
    })?;
    let (Some(mut url), Some(mode), Some(apps)) = (url, mode, apps) else {
        return Err(setup.noted());
    };
    if let Some(apps) = apps {
        url.query_pairs_mut().append_pair("apps", &apps.join(","));
    }
    if let Some(m) = mode {
        url.query_pairs_mut().append_pair("mode", m);
    }
    setup.apply_query(&mut url)?;
    let in_url: Vec<String> = url
        .query_pairs()
        .filter(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .collect();
    if in_url.len() > 1 {
        return Err(setup.error(
            "url",
            "the URL's query carries `token` more than once (in `url` and `query`?); the server reads a repeated \
             key as a list and refuses it (401 \"Invalid token format\"): keep one",
        ));
    }

    let credential = match (&e.token, in_url.first(), e.auth.is_some()) {
        (Some(_), _, true) => {
            return Err(setup.error(
                "token",
                "`auth = \"oauth\"` signs in through the browser; remove `token`",
            ));
        }
        (_, Some(_), true) => {
            return Err(setup.error(
                "url",
                "`auth = \"oauth\"` signs in through the browser; remove ?token= from `url`",
            ));
        }
        // The OAuth layer supplies the credential.
        (None, None, true) => Static::none(),
        (Some(_), Some(_), false) => {
            return Err(setup.error(
                "token",
                "the token is given twice, in the URL's query (?token=) and in `token`; keep `token` (it is sent \
                 as `Authorization: Bearer`) and remove ?token= from `url`",
            ));
        }
        (None, Some(t), false) => {
            setup.redactor.add(t.clone());
            Static {
                auth: Default::default(),
                hint: Some(refused_hint(setup, t, "in `?token=` of `url`", "`url`")),
            }
        }
        (Some(v), None, false) => {
            let token = setup.secret("token", v)?;
            let hint = refused_hint(setup, &token, "as `Authorization: Bearer`", "`token`");
            Static::bearer(&token, hint).map_err(|err| setup.error("token", err.0))?
        }
        (None, None, false) => {
            return Err(setup.error(
                "token",
                "`token` is required for provider `integration-app`: an Integration.app access token for your \
                 customer (a JWT you sign with your workspace key and secret), or `auth = \"oauth\"`",
            ));
        }
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

/// The advice for a 401: how the token was sent (once, and where), and,
/// when it does not look like one, what a Membrane access token is.
fn refused_hint(setup: &Setup<'_>, token: &str, sent: &str, key: &str) -> String {
    let shape = if is_membrane_token(token) {
        String::new()
    } else {
        " It does not look like a Membrane access token: the server reads a JWT whose payload has `id` (your \
         customer's ID), and answers anything else with 401 \"Invalid token format\"."
            .to_string()
    };
    format!(
        "Integration.app refused the token in {key} of [servers.{}] (the bridge sent it once, {sent}).{shape} \
         Generate a fresh access token for the customer and put it in {key}",
        setup.name
    )
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

/// The hosts its connect links are on (and their subdomains).
pub const LINK_DOMAINS: &[&str] = &["integration.app", "getmembrane.com"];

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
        let ours = LINK_DOMAINS
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
