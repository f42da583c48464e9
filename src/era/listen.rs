//! `subscriptions/listen`, for a legacy client's change notifications.
//!
//! A legacy client takes list changes and resource updates whenever the
//! server sends them. A modern server sends them only on the stream of a
//! `subscriptions/listen` request that asked for them. For a legacy client
//! the bridge opens that stream itself, asking for what the server offers
//! (`filter`), and passes on what comes, minus the acknowledgment and the
//! subscription's tag (`for_legacy_client`).

use super::meta::SUBSCRIPTION_ID;
use serde_json::{Map, Value, json};

/// The notification that opens a listen stream.
pub const ACKNOWLEDGED: &str = "notifications/subscriptions/acknowledged";

/// What to listen for: each list change the server's `capabilities` say it
/// announces, and updates to `resources` (the client's subscriptions)
/// when it offers them. None when there is nothing to listen for.
pub fn filter(capabilities: &Value, resources: &[String]) -> Option<Value> {
    let says = |cap: &str, flag: &str| {
        capabilities
            .get(cap)
            .and_then(|c| c.get(flag))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let mut f = Map::new();
    for (cap, key) in [
        ("tools", "toolsListChanged"),
        ("prompts", "promptsListChanged"),
        ("resources", "resourcesListChanged"),
    ] {
        if says(cap, "listChanged") {
            f.insert(key.into(), json!(true));
        }
    }
    if says("resources", "subscribe") && !resources.is_empty() {
        f.insert("resourceSubscriptions".into(), json!(resources));
    }
    (!f.is_empty()).then_some(Value::Object(f))
}

/// A notification from a listen stream as a legacy client should see it:
/// None for the acknowledgment (the legacy revision has none), else the
/// notification without the subscription's tag.
pub fn for_legacy_client(mut msg: Value) -> Option<Value> {
    if msg.get("method").and_then(Value::as_str) == Some(ACKNOWLEDGED) {
        return None;
    }
    if let Some(meta) = msg.pointer_mut("/params/_meta").and_then(Value::as_object_mut) {
        meta.remove(SUBSCRIPTION_ID);
        if meta.is_empty()
            && let Some(params) = msg.get_mut("params").and_then(Value::as_object_mut)
        {
            params.remove("_meta");
        }
    }
    Some(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bridge_listens_for_what_the_server_announces() {
        let caps = json!({"tools": {"listChanged": true}, "prompts": {}, "resources": {"subscribe": true, "listChanged": false}});
        assert_eq!(filter(&caps, &[]), Some(json!({"toolsListChanged": true})));
        let f = filter(&caps, &["file:///a".to_string()]).unwrap();
        assert_eq!(f["resourceSubscriptions"], json!(["file:///a"]));
        assert_eq!(filter(&json!({"tools": {}}), &["file:///a".to_string()]), None);
    }

    #[test]
    fn a_legacy_client_sees_plain_notifications() {
        let ack = json!({"jsonrpc": "2.0", "method": ACKNOWLEDGED, "params": {"_meta": {SUBSCRIPTION_ID: 1}}});
        assert_eq!(for_legacy_client(ack), None);
        let changed = json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed", "params": {"_meta": {SUBSCRIPTION_ID: 1}}});
        assert_eq!(
            for_legacy_client(changed),
            Some(json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed", "params": {}}))
        );
        let updated = json!({"jsonrpc": "2.0", "method": "notifications/resources/updated",
            "params": {"uri": "file:///a", "_meta": {SUBSCRIPTION_ID: 1, "x": 2}}});
        let out = for_legacy_client(updated).unwrap();
        assert_eq!(out["params"]["uri"], "file:///a");
        assert_eq!(out["params"]["_meta"], json!({"x": 2}));
    }
}
