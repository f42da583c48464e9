//! An answer read by its head: a response's id found without building the
//! rest of its tree (`raw_response_id`), and a "method not found" error
//! made to say which method it was (`say_which_method`).

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

/// The id of `text` when it is one valid JSON-RPC response with an id
/// (an object with `result` or `error` and no `method`), read without
/// building the rest of the message. A "method not found" error is left to
/// `dispatch`, which says which method it was (`say_which_method`).
pub(super) fn raw_response_id(text: &[u8]) -> Option<Value> {
    #[derive(Deserialize)]
    struct ErrorHead {
        code: Option<i64>,
    }
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(default)]
        id: Value,
        method: Option<IgnoredAny>,
        result: Option<IgnoredAny>,
        error: Option<ErrorHead>,
    }
    let text = std::str::from_utf8(text).ok()?;
    let env: Envelope = serde_json::from_str(text).ok()?;
    let not_found = env.error.as_ref().is_some_and(|e| e.code == Some(METHOD_NOT_FOUND));
    let is_response = env.method.is_none() && (env.result.is_some() || env.error.is_some()) && !not_found;
    (is_response && !env.id.is_null()).then_some(env.id)
}

/// JSON-RPC "method not found".
const METHOD_NOT_FOUND: i64 = -32601;

/// A "method not found" answer to the client's `method` says which method
/// the server does not offer: servers often give only its name, or a bare
/// "Method not found", which a client shows as it is.
pub(super) fn say_which_method(msg: &mut Value, method: &str) {
    if msg.pointer("/error/code").and_then(Value::as_i64) != Some(METHOD_NOT_FOUND) || method.is_empty() {
        return;
    }
    let Some(message) = msg.pointer_mut("/error/message") else {
        return;
    };
    let said = message.as_str().unwrap_or_default().trim();
    if said.contains("does not offer") {
        return;
    }
    let detail = match said {
        "" => String::new(),
        s if s == method || s.eq_ignore_ascii_case("method not found") => String::new(),
        s => format!(" (it said: {s})"),
    };
    *message = Value::String(format!(
        "the server does not offer `{method}` (method not found){detail}"
    ));
}
