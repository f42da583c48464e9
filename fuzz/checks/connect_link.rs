//! Fuzz the connect-link recognisers: arbitrary bytes, as a JSON
//! `tools/call` result and as the text of a result's content block, go
//! through `connect_link::find` (every provider's recogniser), the
//! `connect_link_pattern` recogniser (its glob taken from the input's first
//! line), `text_urls`, `query_param` and `decorate`. Checked: nothing
//! panics, every link found is an http(s) URL that occurs in the input,
//! `glob("*", x)` always matches and a pattern without `*` matches only
//! itself, and `decorate` leads the result with the link.
//!
//! The check itself, shared by the fuzz target and by `tests/fuzz_corpus.rs`,
//! which replays the committed seeds (`fuzz/seeds/connect_link/`) under
//! `cargo test`.

use mcp_bridge::connect_link::{ConnectLink, decorate, glob, pattern_recogniser, query_param, text_urls};
use mcp_bridge::provider::recognise_any as find;
use serde_json::{Value, json};

fn check_link(link: &ConnectLink, input: &str) {
    assert!(link.url.starts_with("http://") || link.url.starts_with("https://"));
    assert!(
        input.contains(link.url.as_str())
            || serde_json::to_string(&link.url).is_ok_and(|q| input.contains(&q[1..q.len() - 1]))
    );
    let mut response = json!({"jsonrpc": "2.0", "id": 1, "result": {"content": []}});
    decorate(&mut response, link);
    let first = response["result"]["content"][0]["text"].as_str().unwrap_or_default();
    assert!(first.contains(link.url.as_str()));
}

fn check_result(result: &Value, pattern: &str, input: &str) {
    if let Some(link) = find(result) {
        check_link(&link, input);
    }
    if let Some(link) = pattern_recogniser(pattern.to_string())(result) {
        check_link(&link, input);
        assert!(glob(pattern, &link.url));
    }
    for url in text_urls(result) {
        let _ = query_param(&url, "app");
    }
}

/// Runs one input; panics when a check fails.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (pattern, rest) = text.split_once('\n').unwrap_or(("https://*connect*", &text));
    assert!(glob("*", rest));
    if !pattern.contains('*') {
        assert_eq!(glob(pattern, rest), pattern == rest);
    }
    if let Ok(value) = serde_json::from_str::<Value>(rest) {
        // Checked against the value as serde_json writes it: the input may
        // spell the URL with escapes (`\/`, `\u0068`).
        check_result(&value, pattern, &value.to_string());
    }
    let result = json!({"content": [{"type": "text", "text": rest}], "isError": true});
    check_result(&result, pattern, rest);
}
