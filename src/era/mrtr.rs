//! Multi round-trip requests (SEP-2322), for a client that does not speak
//! them.
//!
//! A modern server that needs input answers `tools/call`, `prompts/get` or
//! `resources/read` with `resultType: "input_required"`, a map of
//! `inputRequests` and an opaque `requestState`. A modern client answers
//! the requests and retries. A legacy client knows only requests from the
//! server: the bridge sends it each input request as one
//! (`client_request`), gathers the answers, and retries the original
//! request itself (`retry`) with a new id, until a complete result, at most
//! `MAX_ROUNDS` times. The client sees one request and one answer.

use serde_json::{Map, Value, json};

/// How many times one request may come back `input_required` before the
/// bridge ends it with an error (a server that asks forever).
pub const MAX_ROUNDS: usize = 10;

/// The kinds of input a server may ask for.
pub const KINDS: &[&str] = &["elicitation/create", "sampling/createMessage", "roots/list"];

/// What a server asked for before it can complete a request.
#[derive(Debug, Clone, PartialEq)]
pub struct InputRequired {
    /// The server's key for each request, and the request (method, params).
    pub requests: Vec<(String, Value)>,
    /// Echoed on the retry exactly as given; absent stays absent.
    pub state: Option<Value>,
}

/// Whether a result asks for input: None for a complete result, the
/// requests when it asks, or why it cannot be read.
pub fn read(result: &Value) -> Result<Option<InputRequired>, String> {
    match result.get("resultType").and_then(Value::as_str) {
        None | Some("complete") => return Ok(None),
        Some("input_required") => {}
        Some(other) => return Err(format!("the server answered with an unknown resultType `{other}`")),
    }
    let state = result.get("requestState").cloned();
    if state.as_ref().is_some_and(|s| !s.is_string()) {
        return Err("the server's requestState is not a string".into());
    }
    let mut requests = Vec::new();
    match result.get("inputRequests") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (key, request) in map {
                let method = request.get("method").and_then(Value::as_str).unwrap_or("");
                if !KINDS.contains(&method) {
                    return Err(format!(
                        "the server asked for input of a kind the bridge does not know (`{}` for `{}`)",
                        method.escape_debug(),
                        key.escape_debug()
                    ));
                }
                requests.push((key.clone(), request.clone()));
            }
        }
        Some(_) => return Err("the server's inputRequests is not an object".into()),
    }
    if requests.is_empty() && state.is_none() {
        return Err("the server asked for input but named neither inputRequests nor requestState".into());
    }
    Ok(Some(InputRequired { requests, state }))
}

/// The request the client gets for one input request, with the bridge's
/// `id`. A URL-mode elicitation gets the `elicitationId` the legacy
/// revision requires (the modern one dropped it).
pub fn client_request(id: Value, request: &Value) -> Value {
    let method = request.get("method").cloned().unwrap_or(Value::Null);
    let mut msg = json!({"jsonrpc": "2.0", "id": id, "method": method});
    if let Some(params) = request.get("params").filter(|p| !p.is_null()) {
        let mut params = params.clone();
        if method == "elicitation/create"
            && params.get("mode").and_then(Value::as_str) == Some("url")
            && params.get("elicitationId").is_none()
            && let Some(obj) = params.as_object_mut()
        {
            obj.insert("elicitationId".into(), msg["id"].clone());
        }
        msg["params"] = params;
    }
    msg
}

/// The retry of `original` (a request, whole) with the client's answers
/// (`responses`, by the server's keys) and the server's `state`, under the
/// new `id`.
pub fn retry(original: &Value, id: Value, responses: Map<String, Value>, state: Option<&Value>) -> Value {
    let mut msg = original.clone();
    msg["id"] = id;
    if !msg.get("params").is_some_and(Value::is_object) {
        msg["params"] = json!({});
    }
    if let Some(params) = msg.get_mut("params").and_then(Value::as_object_mut) {
        params.remove("requestState");
        params.insert("inputResponses".into(), Value::Object(responses));
        if let Some(s) = state {
            params.insert("requestState".into(), s.clone());
        }
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_complete_result_or_one_from_an_older_server_asks_nothing() {
        assert_eq!(read(&json!({"content": []})), Ok(None));
        assert_eq!(read(&json!({"resultType": "complete", "content": []})), Ok(None));
    }

    #[test]
    fn an_input_required_result_lists_its_requests_and_state() {
        let r = json!({"resultType": "input_required", "requestState": "opaque",
        "inputRequests": {
            "login": {"method": "elicitation/create", "params": {"mode": "form", "message": "Who?",
                "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}}}},
            "roots": {"method": "roots/list"}
        }});
        let ir = read(&r).unwrap().unwrap();
        assert_eq!(ir.state, Some(json!("opaque")));
        let keys: Vec<_> = ir.requests.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["login", "roots"]);
        let ask = client_request(json!("b-1"), &ir.requests[0].1);
        assert_eq!(ask["method"], "elicitation/create");
        assert_eq!(ask["params"]["message"], "Who?");
        let roots = client_request(json!("b-2"), &ir.requests[1].1);
        assert!(roots.get("params").is_none());
    }

    #[test]
    fn bad_input_requests_are_named() {
        let unknown = json!({"resultType": "input_required", "inputRequests": {"k": {"method": "tasks/get"}}});
        assert!(read(&unknown).unwrap_err().contains("tasks/get"));
        let empty = json!({"resultType": "input_required"});
        assert!(read(&empty).unwrap_err().contains("neither"));
        let weird = json!({"resultType": "partial"});
        assert!(read(&weird).unwrap_err().contains("partial"));
        let not_map = json!({"resultType": "input_required", "inputRequests": [1]});
        assert!(read(&not_map).is_err());
    }

    #[test]
    fn a_url_elicitation_gets_the_id_a_legacy_client_needs() {
        let req = json!({"method": "elicitation/create", "params": {"mode": "url", "message": "Sign in", "url": "https://x/y"}});
        let ask = client_request(json!("b-9"), &req);
        assert_eq!(ask["params"]["elicitationId"], "b-9");
    }

    #[test]
    fn the_retry_carries_the_answers_the_state_and_a_new_id() {
        let original = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
            "params": {"name": "t", "arguments": {"a": 1}, "_meta": {"progressToken": 4}}});
        let mut answers = Map::new();
        answers.insert("login".into(), json!({"action": "accept", "content": {"name": "octo"}}));
        let again = retry(&original, json!("b-3"), answers, Some(&json!("opaque")));
        assert_eq!(again["id"], "b-3");
        assert_eq!(again["params"]["arguments"], json!({"a": 1}));
        assert_eq!(again["params"]["_meta"]["progressToken"], 4);
        assert_eq!(again["params"]["inputResponses"]["login"]["content"]["name"], "octo");
        assert_eq!(again["params"]["requestState"], "opaque");
        // A second round without state drops the first round's.
        let third = retry(&again, json!("b-4"), Map::new(), None);
        assert!(third["params"].get("requestState").is_none());
        assert_eq!(original["id"], 4, "the original is untouched");
    }
}
