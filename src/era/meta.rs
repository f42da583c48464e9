//! The `_meta` of a modern request, and who the client is.
//!
//! A 2026-07-28 request says in `params._meta` which revision it speaks and
//! who sent it. A legacy client says the same once, in `initialize`; the
//! bridge keeps that (`ClientIdentity`) and stamps it on each request it
//! translates. A modern client's own `_meta` is relayed as it is.

use serde_json::{Map, Value, json};

pub const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
pub const CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
pub const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
pub const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
pub const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
pub const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// Who the client is: what a modern request carries in `_meta`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientIdentity {
    pub info: Option<Value>,
    pub capabilities: Value,
    /// The level a legacy client set with `logging/setLevel`; a modern
    /// server sends log messages only for requests that carry one.
    pub log_level: Option<String>,
}

impl Default for ClientIdentity {
    fn default() -> Self {
        ClientIdentity {
            info: None,
            capabilities: json!({}),
            log_level: None,
        }
    }
}

impl ClientIdentity {
    /// From a legacy client's `initialize` request.
    pub fn from_initialize(request: &Value) -> Self {
        let params = request.get("params");
        ClientIdentity {
            info: params.and_then(|p| p.get("clientInfo")).cloned(),
            capabilities: params
                .and_then(|p| p.get("capabilities"))
                .filter(|c| c.is_object())
                .cloned()
                .unwrap_or_else(|| json!({})),
            log_level: None,
        }
    }

    /// From a modern client's request (its `params._meta`).
    pub fn from_request(request: &Value) -> Self {
        let meta = request.pointer("/params/_meta");
        ClientIdentity {
            info: meta.and_then(|m| m.get(CLIENT_INFO)).cloned(),
            capabilities: meta
                .and_then(|m| m.get(CLIENT_CAPABILITIES))
                .filter(|c| c.is_object())
                .cloned()
                .unwrap_or_else(|| json!({})),
            log_level: meta
                .and_then(|m| m.get(LOG_LEVEL))
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    }

    /// Put this identity and `version` in `request`'s `params._meta`,
    /// keeping every other member (a progress token, say). A `params` that
    /// is not an object is left alone: the remote judges such a request.
    pub fn stamp(&self, request: &mut Value, version: &str) {
        let Some(obj) = request.as_object_mut() else { return };
        let params = obj.entry("params").or_insert_with(|| Value::Object(Map::new()));
        let Some(params) = params.as_object_mut() else { return };
        let meta = params.entry("_meta").or_insert_with(|| Value::Object(Map::new()));
        if !meta.is_object() {
            *meta = Value::Object(Map::new());
        }
        let Some(meta) = meta.as_object_mut() else { return };
        meta.insert(PROTOCOL_VERSION.into(), Value::String(version.into()));
        meta.insert(CLIENT_CAPABILITIES.into(), self.capabilities.clone());
        if let Some(info) = &self.info {
            meta.insert(CLIENT_INFO.into(), info.clone());
        }
        if let Some(level) = &self.log_level {
            meta.insert(LOG_LEVEL.into(), Value::String(level.clone()));
        }
    }

    /// The `initialize` request a legacy remote gets for a modern client
    /// (the bridge opens the session on the client's behalf).
    pub fn initialize(&self, id: Value, version: &str) -> Value {
        json!({
            "jsonrpc": "2.0",
            "id": id,
            "method": "initialize",
            "params": {
                "protocolVersion": version,
                "capabilities": self.capabilities,
                "clientInfo": self.info.clone().unwrap_or_else(|| json!({"name": "mcp-bridge", "version": env!("CARGO_PKG_VERSION")})),
            }
        })
    }
}

/// The protocol version a request declares in `_meta`, if it is modern.
pub fn protocol_version(request: &Value) -> Option<&str> {
    request.get("params")?.get("_meta")?.get(PROTOCOL_VERSION)?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_legacy_clients_initialize_becomes_each_requests_meta() {
        let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
            "protocolVersion":"2025-11-25","capabilities":{"elicitation":{"form":{}},"x-vendor":{"a":1}},
            "clientInfo":{"name":"claude-ai","version":"0.1.0"}}});
        let who = ClientIdentity::from_initialize(&init);
        let mut call = json!({"jsonrpc":"2.0","id":3,"method":"tools/call",
            "params":{"name":"t","arguments":{},"_meta":{"progressToken":"p"}}});
        who.stamp(&mut call, "2026-07-28");
        let meta = &call["params"]["_meta"];
        assert_eq!(meta["progressToken"], "p", "other members kept");
        assert_eq!(meta[PROTOCOL_VERSION], "2026-07-28");
        assert_eq!(
            meta[CLIENT_CAPABILITIES]["x-vendor"]["a"], 1,
            "open capabilities kept whole"
        );
        assert_eq!(meta[CLIENT_INFO]["name"], "claude-ai");
        assert_eq!(protocol_version(&call), Some("2026-07-28"));
    }

    #[test]
    fn a_request_without_params_gets_them_and_odd_params_are_left_alone() {
        let who = ClientIdentity::default();
        let mut list = json!({"jsonrpc":"2.0","id":1,"method":"tools/list"});
        who.stamp(&mut list, "2026-07-28");
        assert_eq!(list["params"]["_meta"][CLIENT_CAPABILITIES], json!({}));
        assert!(list["params"]["_meta"].get(CLIENT_INFO).is_none());
        let mut odd = json!({"jsonrpc":"2.0","id":1,"method":"x","params":[1]});
        who.stamp(&mut odd, "2026-07-28");
        assert_eq!(odd["params"], json!([1]));
        let mut bad_meta = json!({"jsonrpc":"2.0","id":1,"method":"x","params":{"_meta":5}});
        who.stamp(&mut bad_meta, "2026-07-28");
        assert_eq!(protocol_version(&bad_meta), Some("2026-07-28"));
    }

    #[test]
    fn a_modern_request_says_who_sent_it_and_that_opens_a_legacy_session() {
        let discover = json!({"jsonrpc":"2.0","id":"d","method":"server/discover","params":{"_meta":{
            PROTOCOL_VERSION:"2026-07-28", CLIENT_CAPABILITIES:{"sampling":{}},
            CLIENT_INFO:{"name":"py","version":"2.3.0"}, LOG_LEVEL:"debug"}}});
        let who = ClientIdentity::from_request(&discover);
        assert_eq!(who.log_level.as_deref(), Some("debug"));
        let init = who.initialize(json!("b-1"), "2025-11-25");
        assert_eq!(init["params"]["capabilities"], json!({"sampling":{}}));
        assert_eq!(init["params"]["clientInfo"]["name"], "py");
        assert_eq!(init["params"]["protocolVersion"], "2025-11-25");
    }
}
