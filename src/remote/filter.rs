//! `allow_tools` / `deny_tools`: per-server globs (`*` any run, `?` one
//! character) that hide tools. A hidden tool is taken out of every
//! `tools/list` result (`ListFilter`, a response `Transform`) and a call to it
//! is refused before it is forwarded (`ToolFilter::refusal`).

use crate::client::Outbox;
use crate::hooks::{Asked, Transform};
use crate::jsonrpc;
use crate::message::Message;
use serde_json::{Value, json};

/// Which tools of one server the client may see and call.
#[derive(Debug, Clone, Default)]
pub struct ToolFilter {
    allow: Option<Vec<String>>,
    deny: Vec<String>,
}

impl ToolFilter {
    pub fn new(allow: Option<Vec<String>>, deny: Option<Vec<String>>) -> Self {
        Self {
            allow,
            deny: deny.unwrap_or_default(),
        }
    }

    /// True when no tool is hidden (the fast path).
    pub fn is_empty(&self) -> bool {
        self.allow.is_none() && self.deny.is_empty()
    }

    /// The config key that hides `tool`, or None when it is shown.
    pub fn hidden_by(&self, tool: &str) -> Option<&'static str> {
        if let Some(allow) = &self.allow
            && !allow.iter().any(|g| glob(g, tool))
        {
            return Some("allow_tools");
        }
        self.deny.iter().any(|g| glob(g, tool)).then_some("deny_tools")
    }

    /// Remove hidden tools from a `tools/list` result in place.
    pub fn apply_to_list(&self, result: &mut Value) {
        if self.is_empty() {
            return;
        }
        if let Some(tools) = result.get_mut("tools").and_then(Value::as_array_mut) {
            tools.retain(|t| {
                t.get("name")
                    .and_then(Value::as_str)
                    .is_none_or(|n| self.hidden_by(n).is_none())
            });
        }
    }

    /// The error answering `request` when it calls a hidden tool of `server`.
    pub fn refusal(&self, server: &str, request: &Message) -> Option<Value> {
        if self.is_empty() || request.method() != Some("tools/call") {
            return None;
        }
        let tool = request.name()?;
        let key = self.hidden_by(tool)?;
        let id = request.id().clone();
        tracing::info!(server, tool, key, "refused a call to a hidden tool");
        Some(jsonrpc::error(
            id,
            INVALID_PARAMS,
            format!(
                "mcp-bridge: tool `{tool}` of server `{server}` is hidden by `{key}` in [servers.{server}] of the config; \
                 change `{key}` to use it"
            ),
            Some(json!({ "server": server, "tool": tool, "key": key })),
        ))
    }
}

/// JSON-RPC "invalid params": the tool name is not one the client may call.
pub const INVALID_PARAMS: i64 = -32602;

/// The `Transform` taking hidden tools out of `tools/list` results.
pub struct ListFilter(pub ToolFilter);

impl Transform for ListFilter {
    fn wants(&self, method: &str, _text: &[u8]) -> bool {
        method == "tools/list"
    }

    fn response(&self, asked: &Asked<'_>, response: &mut Value, _out: &Outbox) {
        if asked.method == "tools/list"
            && let Some(result) = response.get_mut("result")
        {
            self.0.apply_to_list(result);
        }
    }
}

/// Whether `text` matches `pattern` (`*` any run, `?` one character).
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("chat_*", "chat_send_message"));
        assert!(glob("*", ""));
        assert!(glob("slow_ech?", "slow_echo"));
        assert!(!glob("slow_ech?", "slow_ech"));
        assert!(glob("*_message", "chat_send_message"));
        assert!(!glob("chat_*", "ask_user"));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
    }

    #[test]
    fn allow_then_deny() {
        let f = ToolFilter::new(Some(vec!["chat_*".into()]), Some(vec!["chat_send_*".into()]));
        assert_eq!(f.hidden_by("chat_list_channels"), None);
        assert_eq!(f.hidden_by("chat_send_message"), Some("deny_tools"));
        assert_eq!(f.hidden_by("slow_echo"), Some("allow_tools"));
        let mut list = json!({"tools": [{"name": "chat_list_channels"}, {"name": "slow_echo"}]});
        f.apply_to_list(&mut list);
        assert_eq!(list, json!({"tools": [{"name": "chat_list_channels"}]}));
    }
}
