//! What a 2025 client is told while the list cache is on: every
//! `initialize` result declares `listChanged` for the lists the server
//! offers (the bridge sends it when a list it answered from the cache turns
//! out to have changed), even from a server that declares none; a list the
//! server now refuses is forgotten, and the client told; and a list kept
//! by a clock that ran ahead is not answered from.
//!
//! The remote is a small Streamable HTTP server started here that offers
//! tools without declaring `listChanged`, and refuses `tools/list` once the
//! test says so.

mod support;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use support::{Bridge, list_cache_text as cache_text, remote_config_file as config, wait_until};

/// Answers; refuses `tools/list` while `refusing` is true.
async fn answer(State(refusing): State<Arc<AtomicBool>>, headers: HeaderMap, body: String) -> Response {
    let msg: Value = serde_json::from_str(&body).unwrap_or_default();
    let Some(id) = msg.get("id").cloned() else {
        return StatusCode::ACCEPTED.into_response();
    };
    let reply = |body: Value| axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": body})).into_response();
    match msg["method"].as_str() {
        Some("initialize") => {
            let mut response = reply(json!({"protocolVersion": msg["params"]["protocolVersion"],
                "capabilities": {"tools": {}}, "serverInfo": {"name": "told", "version": "1"}}));
            response.headers_mut().insert("mcp-session-id", "s-1".parse().unwrap());
            response
        }
        // No session: a 2025 server (the bridge's era question).
        _ if !headers.contains_key("mcp-session-id") => {
            let error = json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32600, "message": "no session"}});
            (StatusCode::BAD_REQUEST, axum::Json(error)).into_response()
        }
        Some("tools/list") if refusing.load(Ordering::SeqCst) => {
            let error = json!({"code": -32601, "message": "Method not found"});
            axum::Json(json!({"jsonrpc": "2.0", "id": id, "error": error})).into_response()
        }
        Some("tools/list") => reply(json!({"tools": [{"name": "alpha", "inputSchema": {"type": "object"}}]})),
        _ => reply(json!({})),
    }
}

/// The server, and the switch that makes it refuse `tools/list`.
async fn start() -> (String, Arc<AtomicBool>) {
    let refusing = Arc::new(AtomicBool::new(false));
    (support::mcp_remote(post(answer), refusing.clone()).await, refusing)
}

/// A start that lists the tools and leaves once they are kept.
async fn first_start(config: &std::path::Path, data: &std::path::Path) {
    let mut b = Bridge::serve_remote_with_data(config, data);
    b.initialize(json!({})).await;
    b.request_ok("tools/list", json!({})).await;
    wait_until("the list cache to be written", || cache_text(data).contains("alpha")).await;
    b.close_and_read_rest().await;
}

#[tokio::test]
async fn a_server_that_declares_no_list_changed_has_it_declared_while_the_cache_is_on() {
    let (url, _) = start().await;
    let data = tempfile::tempdir().unwrap();
    let (_dir, cached) = config(&url, "");
    for start in ["live", "from the cache"] {
        let mut b = Bridge::serve_remote_with_data(&cached, data.path());
        let init = b.initialize(json!({})).await;
        assert_eq!(
            init["capabilities"]["tools"],
            json!({"listChanged": true}),
            "{start}: {init}"
        );
        b.request_ok("tools/list", json!({})).await;
        wait_until("the list cache to be written", || {
            cache_text(data.path()).contains("alpha")
        })
        .await;
        b.close_and_read_rest().await;
    }
    // With the cache off the server's own capabilities pass as they are.
    let (_dir, uncached) = config(&url, "list_cache = \"0\"");
    let mut b = Bridge::serve_remote_with_data(&uncached, data.path());
    let init = b.initialize(json!({})).await;
    assert_eq!(init["capabilities"]["tools"], json!({}), "{init}");
}

#[tokio::test]
async fn a_list_the_server_now_refuses_is_forgotten_and_the_client_told() {
    let (url, refusing) = start().await;
    let data = tempfile::tempdir().unwrap();
    let (_dir, config) = config(&url, "");
    first_start(&config, data.path()).await;

    // The server no longer lists tools: the cached list answers the next
    // start, the refusal behind it drops it and tells the client.
    refusing.store(true, Ordering::SeqCst);
    let mut b = Bridge::serve_remote_with_data(&config, data.path());
    b.initialize(json!({})).await;
    let cached = b.request_ok("tools/list", json!({})).await;
    assert_eq!(cached["tools"][0]["name"], "alpha", "{cached}");
    let told = b.next_other_timeout(Duration::from_secs(30)).await;
    assert_eq!(told["method"], "notifications/tools/list_changed", "{told}");
    wait_until("the refused list to be forgotten", || {
        !cache_text(data.path()).contains("alpha")
    })
    .await;
    let asked = b.request("tools/list", json!({})).await;
    assert_eq!(asked["error"]["code"], -32601, "the server's own answer now: {asked}");
    b.close_and_read_rest().await;

    // And the start after that asks the server.
    let mut b = Bridge::serve_remote_with_data(&config, data.path());
    b.initialize(json!({})).await;
    let asked = b.request("tools/list", json!({})).await;
    assert!(asked.get("error").is_some(), "not from the cache: {asked}");
}

/// An entry whose fetch time lies ahead of the clock (written while the
/// clock was wrong) cannot say how old it is: it is not answered from.
#[tokio::test]
async fn a_list_kept_by_a_clock_that_ran_ahead_is_asked_again() {
    let (url, refusing) = start().await;
    let data = tempfile::tempdir().unwrap();
    let (_dir, config) = config(&url, "");
    first_start(&config, data.path()).await;

    // Every entry now says it was fetched a day from now.
    let file = data.path().join("lists").join("remote.json");
    let mut kept: Value = serde_json::from_str(&cache_text(data.path())).unwrap();
    let mut moved = 0;
    let mut ahead = |v: &mut Value| {
        if let Some(at) = v.get_mut("fetched_at_ms") {
            *at = json!(at.as_u64().unwrap() + 86_400_000);
            moved += 1;
        }
    };
    walk(&mut kept, &mut ahead);
    assert!(moved > 0, "no fetch time in {kept}");
    std::fs::write(&file, kept.to_string()).unwrap();

    refusing.store(true, Ordering::SeqCst);
    let mut b = Bridge::serve_remote_with_data(&config, data.path());
    b.initialize(json!({})).await;
    let asked = b.request("tools/list", json!({})).await;
    assert!(asked.get("error").is_some(), "not from the cache: {asked}");
}

/// Calls `f` on every object in `v`.
fn walk(v: &mut Value, f: &mut impl FnMut(&mut Value)) {
    f(v);
    match v {
        Value::Object(o) => o.values_mut().for_each(|x| walk(x, f)),
        Value::Array(a) => a.iter_mut().for_each(|x| walk(x, f)),
        _ => {}
    }
}
