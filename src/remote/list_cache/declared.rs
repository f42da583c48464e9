//! What a 2025 client is told it can expect while the list cache is on: a
//! list answered from the cache may turn out to have changed, and the
//! bridge then sends the matching `list_changed`. A client that follows the
//! specification reads that notification only when the `initialize` result
//! declared `listChanged` for the list, so every `initialize` result the
//! client gets (the remote's, the cache's, or the one made from a
//! 2026-07-28 server's discover result) declares it for each list the
//! server offers. A 2026-07-28 client is told nothing: it keeps a list for
//! the `ttlMs` it was served with, counted down from when it was fetched.

use crate::client::Outbox;
use crate::hooks::{Asked, Transform};
use serde_json::{Value, json};

/// Declare `listChanged` for the tools, prompts and resources an
/// `initialize` result offers (a capability that is an object).
pub(crate) fn declare_list_changed(result: &mut Value) {
    for kind in ["tools", "prompts", "resources"] {
        if let Some(offered) = result
            .get_mut("capabilities")
            .and_then(|c| c.get_mut(kind))
            .and_then(Value::as_object_mut)
        {
            offered.insert("listChanged".into(), json!(true));
        }
    }
}

/// The `Transform` that declares it on the `initialize` answers that reach
/// the client through the remote's inbound (live or from the cache).
pub(crate) struct DeclaresListChanged;

impl Transform for DeclaresListChanged {
    fn wants(&self, method: &str, _text: &[u8]) -> bool {
        method == "initialize"
    }

    fn response(&self, asked: &Asked<'_>, response: &mut Value, _out: &Outbox) {
        if asked.method == "initialize"
            && let Some(result) = response.get_mut("result")
        {
            declare_list_changed(result);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::declare_list_changed;
    use serde_json::json;

    #[test]
    fn each_offered_list_is_declared_and_nothing_is_offered_anew() {
        let mut result = json!({"capabilities": {"tools": {}, "prompts": {"listChanged": false},
            "resources": {"subscribe": true}, "logging": {}}, "serverInfo": {"name": "s"}});
        declare_list_changed(&mut result);
        assert_eq!(
            result["capabilities"],
            json!({"tools": {"listChanged": true}, "prompts": {"listChanged": true},
                "resources": {"subscribe": true, "listChanged": true}, "logging": {}})
        );
        let mut bare = json!({"capabilities": {}});
        declare_list_changed(&mut bare);
        assert_eq!(bare, json!({"capabilities": {}}));
        let mut odd = json!({"capabilities": "none"});
        declare_list_changed(&mut odd);
        assert_eq!(odd, json!({"capabilities": "none"}));
    }
}
