//! Shared checks of the fault suite (`tests/fault_*.rs`): start the bridge
//! at `RUST_LOG=trace`, send requests and prove each got exactly one answer
//! (a result or a JSON-RPC error) within its timeout, prove the bridge still
//! serves, and prove no secret of the test's config reached stderr.
#![allow(dead_code)] // each fault test crate uses a different subset

use crate::support::{Bridge, toml_string, write_config};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// The client capabilities the fault tests offer.
pub fn caps() -> Value {
    json!({"elicitation": {}, "sampling": {}, "roots": {"listChanged": true}})
}

/// `[servers.remote]` at `url` with a bearer secret and a timeout.
pub fn config(url: &str, bearer: &str, timeout: &str) -> String {
    format!(
        "[servers.remote]\nurl = {}\nbearer = {}\ntimeout = {}\n",
        toml_string(url),
        toml_string(bearer),
        toml_string(timeout)
    )
}

/// `mcp-bridge --config FILE serve SERVER` at `RUST_LOG=trace`, with `env`.
pub fn serve_traced(config_toml: &str, server: &str, env: &[(&str, &Path)]) -> Bridge {
    let (dir, path) = write_config(config_toml);
    let mut cmd = Bridge::command();
    cmd.arg("--config")
        .arg(&path)
        .arg("serve")
        .arg(server)
        .env("RUST_LOG", "trace");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut b = Bridge::spawn(cmd);
    b.keep(dir);
    b
}

/// Fails if any of `secrets` appears in the bridge's stderr; also checks
/// that trace logging was really on (so the check can fail).
pub fn assert_no_secrets(b: &Bridge, secrets: &[&str]) {
    let err = b.stderr_text();
    assert!(
        err.contains("TRACE") || err.contains("DEBUG"),
        "stderr has no trace/debug lines, so the secret check proves nothing:\n{err}"
    );
    for s in secrets {
        assert!(!s.is_empty());
        assert!(!err.contains(s), "secret {s:?} appears in stderr:\n{err}");
    }
}

/// A `tools/call` request message with `id`.
pub fn call_msg(id: &Value, tool: &str, args: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": args}})
}

/// Sends `tools/call slow_echo` with a fresh id; returns the id.
pub async fn send_echo(b: &mut Bridge, text: &str, delay_ms: u64) -> Value {
    let id = b.next_id();
    b.send(&call_msg(&id, "slow_echo", json!({"text": text, "delay_ms": delay_ms})))
        .await;
    id
}

/// Waits up to `within` for one answer to each of `ids`, then sends a ping
/// and reads up to its answer (see `Bridge::fence`), and fails on a
/// missing answer, a second answer to the same id, or an answer that is
/// neither a result nor an error with a code and message. Returns the
/// answers by id.
pub async fn exactly_one_answer_each(b: &mut Bridge, ids: &[Value], within: Duration) -> HashMap<String, Value> {
    let got = answers_within(b, ids, within).await;
    no_second_answer(b, ids, got).await
}

/// The first answer to each of `ids`, waiting up to `within` (a second
/// answer to one id, or an unclear error, fails).
pub async fn answers_within(b: &mut Bridge, ids: &[Value], within: Duration) -> HashMap<String, Value> {
    let mut got: HashMap<String, Value> = HashMap::new();
    let deadline = Instant::now() + within;
    while got.len() < ids.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "answers missing after {within:?}: have {:?} of {ids:?}",
            got.keys()
        );
        let Some(msg) = b.try_recv_timeout(left).await else {
            continue;
        };
        absorb(&mut got, ids, msg);
    }
    got
}

/// Fails if a second answer to one of `ids` reaches the client before the
/// answer to a ping sent now; returns `got`.
pub async fn no_second_answer(
    b: &mut Bridge,
    ids: &[Value],
    mut got: HashMap<String, Value>,
) -> HashMap<String, Value> {
    for msg in b.fence().await {
        absorb(&mut got, ids, msg);
    }
    got
}

/// Exactly one answer to each of `ids` among `messages` (a whole session's,
/// say, from `Bridge::close_and_read_rest`). Returns them by id.
pub fn one_answer_each_in(messages: Vec<Value>, ids: &[Value]) -> HashMap<String, Value> {
    let mut got = HashMap::new();
    for msg in messages {
        absorb(&mut got, ids, msg);
    }
    let missing: Vec<_> = ids.iter().filter(|id| !got.contains_key(&id.to_string())).collect();
    assert!(missing.is_empty(), "no answer to {missing:?}: have {got:?}");
    got
}

fn absorb(got: &mut HashMap<String, Value>, ids: &[Value], msg: Value) {
    let is_answer = msg.get("method").is_none() && (msg.get("result").is_some() || msg.get("error").is_some());
    let Some(id) = msg.get("id").filter(|id| is_answer && ids.contains(id)) else {
        return; // a notification, a server→client request, another answer
    };
    if let Some(err) = msg.get("error") {
        assert!(
            err["code"].is_i64() && err["message"].as_str().is_some_and(|m| !m.is_empty()),
            "not a clear JSON-RPC error: {msg}"
        );
    }
    let prev = got.insert(id.to_string(), msg.clone());
    assert!(prev.is_none(), "id {id} answered twice: {prev:?} then {msg}");
}

/// The text of the first content block of a `tools/call` answer's result.
pub fn text(answer: &Value) -> &str {
    answer["result"]["content"][0]["text"].as_str().unwrap_or_default()
}

/// The bridge still serves: a quick echo comes back as a result.
pub async fn still_serves(b: &mut Bridge) {
    let id = send_echo(b, "still here", 0).await;
    let r = b.wait_response(&id, Duration::from_secs(15)).await;
    assert_eq!(text(&r), "still here", "the bridge stopped serving: {r}");
}
