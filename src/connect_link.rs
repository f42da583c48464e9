//! Connect links: when a provider answers a tool call with "connect your
//! account first" and a link (Pipedream Connect's `connect.html?…&
//! connectLink=true&app=…`, or a result carrying `accountRequired` and
//! `connectUrl`), the bridge shows that link to the person clearly, once per
//! app, instead of leaving it buried in tool output:
//!
//! - a client that supports URL-mode elicitation gets an `elicitation/create`
//!   with the link, which it shows to the person (its answer stays here);
//! - the tool result gets a first content block saying what to do, so any
//!   client's model can relay it.
//!
//! The link holds a one-time token, so it is never logged.

use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Prefix of ids of requests the bridge itself sends to the client.
pub const BRIDGE_ID_PREFIX: &str = "mcp-bridge-";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectLink {
    pub url: String,
    pub app: Option<String>,
}

/// Find a connect link in a `tools/call` result.
pub fn find(result: &Value) -> Option<ConnectLink> {
    for holder in [Some(result), result.get("structuredContent"), result.get("_meta")]
        .into_iter()
        .flatten()
    {
        let url = holder
            .get("connectUrl")
            .or_else(|| holder.get("connect_url"))
            .and_then(Value::as_str);
        if let Some(url) = url.filter(|u| u.starts_with("https://") || u.starts_with("http://")) {
            let app = holder
                .get("app")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| app_of(url));
            return Some(ConnectLink {
                url: url.to_string(),
                app,
            });
        }
    }
    let texts = result
        .get("content")?
        .as_array()?
        .iter()
        .filter_map(|c| c.get("text").and_then(Value::as_str));
    for text in texts {
        for word in
            text.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '(' | ')' | '[' | ']'))
        {
            let url = word.trim_end_matches(['.', ',', ';']);
            if url.starts_with("https://")
                && (url.contains("connectLink=true") || url.contains("/_static/connect.html"))
            {
                return Some(ConnectLink {
                    url: url.to_string(),
                    app: app_of(url),
                });
            }
        }
    }
    None
}

fn app_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    parsed
        .query_pairs()
        .find(|(k, _)| k == "app")
        .map(|(_, v)| v.into_owned())
}

/// Surfaces each app's connect link once per bridge process.
#[derive(Default)]
pub struct ConnectLinks {
    shown: Mutex<HashSet<String>>,
    next: AtomicU64,
}

impl ConnectLinks {
    /// Look at a `tools/call` response on its way to the client. Returns a
    /// URL-mode elicitation to send first, when the client supports it.
    pub fn surface(&self, response: &mut Value, client_caps: Option<&Value>) -> Option<Value> {
        let link = find(response.get("result")?)?;
        let key = link.app.clone().unwrap_or_else(|| link.url.clone());
        if !self.shown.lock().unwrap_or_else(|e| e.into_inner()).insert(key) {
            return None;
        }
        let app = link.app.as_deref().unwrap_or("the app");
        tracing::info!(
            app,
            "the remote asked the person to connect an account; surfacing its connect link"
        );
        let notice = format!(
            "Action needed: connect your {app} account.\nOpen this link in your browser and finish connecting: {}\nThen ask again.",
            link.url
        );
        if let Some(content) = response.pointer_mut("/result/content").and_then(Value::as_array_mut) {
            content.insert(0, json!({"type": "text", "text": notice}));
        }
        let url_mode = client_caps.and_then(|c| c.pointer("/elicitation/url")).is_some();
        url_mode.then(|| {
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            json!({"jsonrpc": "2.0", "id": format!("{BRIDGE_ID_PREFIX}connect-{n}"), "method": "elicitation/create",
                   "params": {"mode": "url", "elicitationId": format!("mcp-bridge-connect-{n}"), "url": link.url,
                              "message": format!("Connect your {app} account so the assistant can use it.")}})
        })
    }
}

impl crate::remote::inbound::Transform for ConnectLinks {
    fn response(
        &self,
        reply: &crate::remote::inbound::Reply<'_>,
        response: &mut Value,
        out: &crate::remote::inbound::Outbox,
    ) {
        if reply.method != "tools/call" {
            return;
        }
        if let Some(ask) = self.surface(response, reply.client_caps) {
            let _ = out.send(ask);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PD: &str = "https://pipedream.com/_static/connect.html?token=ctok_abc&connectLink=true&app=slack";

    #[test]
    fn finds_pipedream_text_links_and_fields() {
        let text = json!({"content": [{"type": "text", "text": format!("Go to: {PD} to connect your account.")}]});
        assert_eq!(
            find(&text),
            Some(ConnectLink {
                url: PD.into(),
                app: Some("slack".into())
            })
        );
        let field = json!({"content": [], "accountRequired": true, "connectUrl": PD});
        assert_eq!(find(&field).unwrap().app.as_deref(), Some("slack"));
        assert_eq!(
            find(&json!({"content": [{"type": "text", "text": "see https://example.com/docs"}]})),
            None
        );
    }

    #[test]
    fn surfaces_once_per_app() {
        let links = ConnectLinks::default();
        let mk = || json!({"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": format!("Go to: {PD}")}]}});
        let caps = json!({"elicitation": {"url": {}}});
        let mut first = mk();
        let ask = links.surface(&mut first, Some(&caps)).expect("elicitation");
        assert_eq!(ask["params"]["url"], PD);
        assert!(
            first["result"]["content"][0]["text"]
                .as_str()
                .unwrap()
                .starts_with("Action needed: connect your slack")
        );
        let mut second = mk();
        assert!(links.surface(&mut second, Some(&caps)).is_none());
        assert_eq!(second, mk(), "shown once: later results are left alone");
        let mut no_caps = json!({"id": 2, "result": {"connectUrl": "https://x.example/c?app=github", "content": []}});
        assert!(links.surface(&mut no_caps, Some(&json!({"elicitation": {}}))).is_none());
        assert_eq!(no_caps["result"]["content"].as_array().unwrap().len(), 1);
    }
}
