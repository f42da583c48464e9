//! What a server says behind an answer from the list cache (its refusal
//! of the real `initialize`, of a list fetched again) is logged with the
//! server's secrets hidden, even when the server repeats them.
//!
//! The remote is a small Streamable HTTP server started here: it answers
//! a first start, then refuses everything, quoting the caller's
//! `Authorization` header back in its error.

mod support;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use support::{Bridge, list_cache_text as cache_text, remote_config_file as config, wait_until};

const TOKEN: &str = "sk-behind-0123456789abcdef";

/// Answers while `refusing` is false; then quotes the caller's token.
async fn answer(State(refusing): State<Arc<AtomicBool>>, headers: HeaderMap, body: String) -> Response {
    let msg: Value = serde_json::from_str(&body).unwrap_or_default();
    let Some(id) = msg.get("id").cloned() else {
        return StatusCode::ACCEPTED.into_response();
    };
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    if refusing.load(Ordering::SeqCst) {
        let error = json!({"code": -32001, "message": format!("who is {auth}?")});
        return axum::Json(json!({"jsonrpc": "2.0", "id": id, "error": error})).into_response();
    }
    let result = match msg["method"].as_str() {
        Some("initialize") => {
            let result = json!({"protocolVersion": msg["params"]["protocolVersion"],
                "capabilities": {"tools": {}}, "serverInfo": {"name": "behind", "version": "1"}});
            let mut response = axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response();
            response.headers_mut().insert("mcp-session-id", "s-1".parse().unwrap());
            return response;
        }
        // No session: a 2025 server (the bridge's era question).
        _ if !headers.contains_key("mcp-session-id") => {
            let error = json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32600, "message": "no session"}});
            return (StatusCode::BAD_REQUEST, axum::Json(error)).into_response();
        }
        Some("tools/list") => json!({"tools": [{"name": "alpha", "inputSchema": {"type": "object"}}]}),
        _ => json!({}),
    };
    axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response()
}

#[tokio::test]
async fn a_server_quoting_the_token_behind_a_cached_answer_is_logged_without_it() {
    let refusing = Arc::new(AtomicBool::new(false));
    let url = support::mcp_remote(post(answer), refusing.clone()).await;
    let data = tempfile::tempdir().unwrap();
    let (_dir, config) = config(&url, &format!("bearer = \"{TOKEN}\"\n"));

    let mut b = Bridge::serve_remote_with_data(&config, data.path());
    b.initialize(json!({})).await;
    b.request_ok("tools/list", json!({})).await;
    wait_until("the list cache to be written", || {
        cache_text(data.path()).contains("alpha")
    })
    .await;
    b.close_and_read_rest().await;

    // The next start is answered from the cache; behind it, the server
    // refuses the real initialize and the list, quoting the token.
    refusing.store(true, Ordering::SeqCst);
    let mut b = Bridge::serve_remote_with_data(&config, data.path());
    b.initialize(json!({})).await;
    b.request_ok("tools/list", json!({})).await;
    wait_until("both refusals behind the cached answers to be logged", || {
        let stderr = b.stderr_text();
        stderr.contains("refused initialize behind the cached answer")
            && stderr.contains("tools/list behind the cached")
    })
    .await;
    let stderr = b.stderr_text();
    assert!(stderr.contains("who is Bearer [redacted]?"), "{stderr}");
    assert!(!stderr.contains(TOKEN), "{stderr}");
}
