//! Small helpers over raw JSON-RPC messages (`serde_json::Value`).
//!
//! The relay never converts a message into a typed struct: it only peeks at
//! `id` and `method` to route it, so every field the client or the remote
//! sends travels through unchanged.

use serde_json::{Value, json};

/// The standard JSON-RPC error codes the bridge itself produces.
pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const INTERNAL_ERROR: i64 = -32603;
/// Server-defined range: the remote could not be reached or answered badly.
pub const REMOTE_ERROR: i64 = -32000;
/// Server-defined range: the request timed out waiting for the remote.
pub const TIMEOUT_ERROR: i64 = -32001;

/// What a message is, judged by its `id` and `method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Request,
    Notification,
    Response,
    Invalid,
}

pub fn kind(msg: &Value) -> Kind {
    let Some(obj) = msg.as_object() else {
        return Kind::Invalid;
    };
    let has_method = obj.get("method").is_some_and(Value::is_string);
    let has_id = obj.get("id").is_some_and(|id| !id.is_null());
    match (has_method, has_id) {
        (true, true) => Kind::Request,
        (true, false) => Kind::Notification,
        (false, _) if obj.contains_key("result") || obj.contains_key("error") => Kind::Response,
        _ => Kind::Invalid,
    }
}

pub fn method(msg: &Value) -> Option<&str> {
    msg.get("method").and_then(Value::as_str)
}

/// The member at `path` (object keys), e.g. `at(msg, &["params", "name"])`.
/// For the per-message path: `Value::pointer` allocates for every segment.
pub fn at<'a>(msg: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(msg, |v, key| v.get(*key))
}

/// A hashable key for a JSON-RPC id (or progress token): `1` and `"1"`
/// stay distinct, and an integer, the usual id, is kept without text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IdKey {
    Int(i64),
    Str(Box<str>),
    /// Any other JSON (a float, a huge integer, null, …) as its text.
    Other(Box<str>),
}

/// The key of id `id`.
pub fn id_key(id: &Value) -> IdKey {
    match id {
        Value::String(s) => IdKey::Str(s.as_str().into()),
        Value::Number(n) if n.is_i64() => IdKey::Int(n.as_i64().unwrap_or_default()),
        other => IdKey::Other(other.to_string().into()),
    }
}

/// Build an error response for `id`.
pub fn error(id: Value, code: i64, message: impl Into<String>, data: Option<Value>) -> Value {
    let mut err = json!({ "code": code, "message": message.into() });
    if let Some(d) = data {
        err["data"] = d;
    }
    json!({ "jsonrpc": "2.0", "id": id, "error": err })
}

/// Serialise one message as a single line (no trailing newline).
pub fn to_line(msg: &Value) -> String {
    // A Value always serialises; serde_json never emits raw newlines.
    serde_json::to_string(msg).unwrap_or_default()
}

/// The text blocks of a tool result, joined by line breaks.
pub fn result_text(result: &Value) -> String {
    result["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_follows_object_keys_like_pointer() {
        let m = json!({"params": {"name": "t", "a/b": 1, "_meta": {"progressToken": 7}}, "list": [1]});
        assert_eq!(at(&m, &["params", "name"]), m.pointer("/params/name"));
        assert_eq!(at(&m, &["params", "_meta", "progressToken"]), Some(&json!(7)));
        assert_eq!(at(&m, &["params", "a/b"]), Some(&json!(1)));
        assert_eq!(at(&m, &["params", "name", "x"]), None);
        assert_eq!(at(&m, &["list", "0"]), None);
        assert_eq!(at(&m, &[]), Some(&m));
    }

    #[test]
    fn kinds() {
        assert_eq!(kind(&json!({"jsonrpc":"2.0","id":1,"method":"x"})), Kind::Request);
        assert_eq!(kind(&json!({"jsonrpc":"2.0","method":"x"})), Kind::Notification);
        assert_eq!(kind(&json!({"jsonrpc":"2.0","id":1,"result":{}})), Kind::Response);
        assert_eq!(kind(&json!({"jsonrpc":"2.0","id":null,"error":{}})), Kind::Response);
        assert_eq!(kind(&json!([1])), Kind::Invalid);
        assert_eq!(kind(&json!({"id":1})), Kind::Invalid);
    }

    #[test]
    fn numbers_keep_their_value_through_the_relay() {
        // Found by fuzz/stdin_line: without serde_json's `float_roundtrip`
        // a 39-digit number came out one ULP off.
        let line = r#"{"id":1,"method":"m","params":{"n":222222222222222222222222222222222222222}}"#;
        let once: Value = serde_json::from_str(line).unwrap();
        let twice: Value = serde_json::from_str(&to_line(&once)).unwrap();
        assert_eq!(once, twice);
    }

    #[test]
    fn id_keys_keep_types_apart() {
        assert_ne!(id_key(&json!(1)), id_key(&json!("1")));
        assert_ne!(id_key(&json!(1)), id_key(&json!(1.0)));
        assert_ne!(id_key(&json!(u64::MAX)), id_key(&json!(-1)));
        assert_ne!(id_key(&json!(null)), id_key(&json!("null")));
        for id in [
            json!(7),
            json!(-7),
            json!("a"),
            json!(2.5),
            json!(u64::MAX),
            json!(null),
        ] {
            assert_eq!(id_key(&id), id_key(&id.clone()), "{id}");
        }
    }
}
