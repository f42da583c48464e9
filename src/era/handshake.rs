//! One era's opening answered from the other's.
//!
//! A legacy client opens with `initialize`; against a modern remote the
//! bridge answers it from the remote's `server/discover` result. A modern
//! client opens with `server/discover`; against a legacy remote the bridge
//! opens the session itself and answers from the `initialize` result.

use super::meta::SERVER_INFO;
use super::{LATEST_LEGACY, LATEST_MODERN, is_legacy, is_modern};
use serde_json::{Map, Value, json};

/// The legacy revision to answer a client that asked for `requested`: its
/// own when the bridge speaks it, else the newest the bridge speaks (the
/// client then decides, as the handshake's rules say).
pub fn legacy_version(requested: Option<&str>) -> &str {
    match requested {
        Some(v) if is_legacy(v) => v,
        _ => LATEST_LEGACY,
    }
}

/// The modern revision to name for a client that asked for `requested`.
pub fn modern_version(requested: Option<&str>) -> &str {
    match requested {
        Some(v) if is_modern(v) => v,
        _ => LATEST_MODERN,
    }
}

/// The `initialize` result for a legacy client, from a modern remote's
/// `server/discover` result. `server` names the remote when it does not
/// say who it is.
pub fn initialize_result(discover: &Value, requested: Option<&str>, server: &str) -> Value {
    let mut result = Map::new();
    result.insert("protocolVersion".into(), json!(legacy_version(requested)));
    result.insert(
        "capabilities".into(),
        discover
            .get("capabilities")
            .filter(|c| c.is_object())
            .cloned()
            .unwrap_or_else(|| json!({})),
    );
    // Where the revision puts it; some servers put it at the top.
    let info = discover
        .get("_meta")
        .and_then(|m| m.get(SERVER_INFO))
        .or_else(|| discover.get("serverInfo"))
        .filter(|i| i.is_object())
        .cloned()
        .unwrap_or_else(|| json!({"name": server, "version": "unknown"}));
    result.insert("serverInfo".into(), info);
    if let Some(text) = discover.get("instructions").filter(|i| i.is_string()) {
        result.insert("instructions".into(), text.clone());
    }
    Value::Object(result)
}

/// The `server/discover` result for a modern client, from a legacy
/// remote's `initialize` result. Not to be cached by the client: the
/// session behind it is the bridge's.
pub fn discover_result(initialize: &Value, requested: Option<&str>) -> Value {
    let mut result = Map::new();
    result.insert("resultType".into(), json!("complete"));
    result.insert("supportedVersions".into(), json!([modern_version(requested)]));
    result.insert(
        "capabilities".into(),
        initialize
            .get("capabilities")
            .filter(|c| c.is_object())
            .cloned()
            .unwrap_or_else(|| json!({})),
    );
    if let Some(text) = initialize.get("instructions").filter(|i| i.is_string()) {
        result.insert("instructions".into(), text.clone());
    }
    if let Some(info) = initialize.get("serverInfo").filter(|i| i.is_object()) {
        result.insert("_meta".into(), json!({ SERVER_INFO: info }));
    }
    result.insert("ttlMs".into(), json!(0));
    result.insert("cacheScope".into(), json!("private"));
    Value::Object(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_legacy_client_is_answered_from_discover_in_the_version_it_asked_for() {
        let discover = json!({"resultType":"complete","supportedVersions":["2026-07-28"],
            "capabilities":{"tools":{"listChanged":true},"extensions":{"x/y":{}}},
            "instructions":"Use me.","ttlMs":1000,"cacheScope":"public",
            "_meta":{SERVER_INFO:{"name":"modern","version":"2.0"}}});
        let init = initialize_result(&discover, Some("2025-06-18"), "remote");
        assert_eq!(init["protocolVersion"], "2025-06-18");
        assert_eq!(init["capabilities"], discover["capabilities"]);
        assert_eq!(init["serverInfo"]["name"], "modern");
        assert_eq!(init["instructions"], "Use me.");
        assert!(init.get("ttlMs").is_none() && init.get("resultType").is_none());
        let unknown = initialize_result(&json!({}), Some("1999-01-01"), "remote");
        assert_eq!(unknown["protocolVersion"], LATEST_LEGACY);
        assert_eq!(unknown["serverInfo"]["name"], "remote");
        assert_eq!(unknown["capabilities"], json!({}));
    }

    #[test]
    fn a_modern_client_is_answered_from_initialize() {
        let init = json!({"protocolVersion":"2025-11-25","capabilities":{"tools":{}},
            "serverInfo":{"name":"everything","version":"1"},"instructions":"hi"});
        let d = discover_result(&init, Some("2026-07-28"));
        assert_eq!(d["supportedVersions"], json!(["2026-07-28"]));
        assert_eq!(d["capabilities"], json!({"tools":{}}));
        assert_eq!(d["_meta"][SERVER_INFO]["name"], "everything");
        assert_eq!(d["resultType"], "complete");
        assert_eq!(d["cacheScope"], "private");
        assert_eq!(d["ttlMs"], 0);
    }
}
