//! Per-server timeouts: progress restarts a request's clock; an expired
//! request is answered with a timeout error (-32001) naming the server, the
//! time and the `timeout` key, and cancelled at the remote; a request the
//! client cancels is cancelled at the remote and gets no answer.
//!
//! No test here waits a fixed time: each waits for a signal (a request or a
//! cancellation in the sandbox's log, an answer), and each "no answer" is
//! checked once a twin call of the same length has been answered, then
//! again over the whole rest of the session. The `server/discover` that
//! finds a server's protocol era keeps the same timeout.

mod support;

use mcp_bridge::sandbox::Sandbox;
use serde_json::{Value, json};
use std::time::Duration;
use support::{Bridge, sandbox, toml_string, wait_for_rpc};

fn bridge(sbx: &Sandbox, timeout: &str) -> Bridge {
    Bridge::serve(
        &format!(
            "[servers.slow]\nurl = {}\ntimeout = {timeout}\n",
            toml_string(&sbx.url())
        ),
        "slow",
    )
}

/// A `tools/call` of `progress_demo`: `steps` steps of `delay_ms`, sending
/// progress when `token` is given.
fn progress_call(id: &Value, steps: u32, delay_ms: u64, token: Option<&str>) -> Value {
    let mut params = json!({"name": "progress_demo", "arguments": {"steps": steps, "delay_ms": delay_ms}});
    if let Some(token) = token {
        params["_meta"] = json!({"progressToken": token});
    }
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})
}

fn slow_echo(id: &Value, text: &str, delay_ms: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": "slow_echo", "arguments": {"text": text, "delay_ms": delay_ms}}})
}

/// The timeout error the bridge answers an expired request of server
/// `slow` with, after `timeout`.
fn assert_timeout_error(resp: &Value, timeout: &str) {
    assert_eq!(resp["error"]["code"], -32001, "{resp}");
    let msg = resp["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("server `slow`"), "{resp}");
    assert!(msg.contains(&format!("no answer within {timeout}")), "{resp}");
    assert!(msg.contains("raise `timeout`"), "{resp}");
    assert_eq!(resp["error"]["data"]["server"], "slow", "{resp}");
}

// 8 steps of 500 ms: 4 s in all, twice the 2 s timeout, but never 2 s
// without progress. The same call without a progress token times out.
const STEPS: u32 = 8;
const STEP_MS: u64 = 500;

#[tokio::test]
async fn progress_restarts_the_clock() {
    let sbx = sandbox().await;
    let mut b = bridge(&sbx, "2");
    b.initialize(json!({})).await;
    let id = b.next_id();
    b.send(&progress_call(&id, STEPS, STEP_MS, Some("tok-1"))).await;
    let resp = b.wait_response(&id, Duration::from_secs(30)).await;
    assert_eq!(resp["result"]["structuredContent"]["steps"], STEPS, "{resp}");
    let mut progress = 0;
    while let Some(note) = b.next_other() {
        progress += usize::from(note["method"] == "notifications/progress");
    }
    assert_eq!(progress, STEPS as usize);
    assert_eq!(support::rpc_count(&sbx, "notifications/cancelled"), 0);
}

#[tokio::test]
async fn without_progress_the_same_call_times_out() {
    let sbx = sandbox().await;
    let mut b = bridge(&sbx, "2");
    b.initialize(json!({})).await;
    let id = b.next_id();
    b.send(&progress_call(&id, STEPS, STEP_MS, None)).await;
    let resp = b.wait_response(&id, Duration::from_secs(30)).await;
    assert_timeout_error(&resp, "2s");
    wait_for_rpc(&sbx, "notifications/cancelled", 1).await;
}

#[tokio::test]
async fn an_expired_request_is_answered_and_cancelled_at_the_remote() {
    let sbx = sandbox().await;
    let mut b = bridge(&sbx, "\"2s\"");
    b.initialize(json!({})).await;
    // Sent together: a 4 s echo, which expires at 2 s, and a 4 s call that
    // reports progress, which does not. When the twin is answered, the
    // echo's own answer would have come too.
    let (late, twin) = (b.next_id(), b.next_id());
    b.send(&slow_echo(&late, "late", 4000)).await;
    b.send(&progress_call(&twin, STEPS, STEP_MS, Some("twin"))).await;
    let resp = b.wait_response(&late, Duration::from_secs(30)).await;
    assert_timeout_error(&resp, "2s");
    wait_for_rpc(&sbx, "notifications/cancelled", 1).await;
    let done = b.wait_response(&twin, Duration::from_secs(30)).await;
    assert_eq!(done["result"]["structuredContent"]["steps"], STEPS, "{done}");
    // The remote's late answer is not relayed a second time: not by now,
    // nor in the rest of the session.
    let before: Vec<Value> = b.unread().iter().cloned().collect();
    assert!(Bridge::answers_to(&before, &late).is_empty(), "{before:?}");
    let fenced = b.fence().await;
    assert!(Bridge::answers_to(&fenced, &late).is_empty(), "{fenced:?}");
    let rest = b.close_and_read_rest().await;
    assert!(Bridge::answers_to(&rest, &late).is_empty(), "{rest:?}");
}

#[tokio::test]
async fn a_client_cancel_reaches_the_remote_and_gets_no_answer() {
    let sbx = sandbox().await;
    let mut b = bridge(&sbx, "30");
    b.initialize(json!({})).await;
    // Two alike calls; the client cancels one once both run at the remote.
    let (cancelled, twin) = (json!(77), json!(78));
    b.send(&slow_echo(&cancelled, "x", 2000)).await;
    b.send(&slow_echo(&twin, "twin", 2000)).await;
    wait_for_rpc(&sbx, "tools/call", 2).await;
    b.notify(
        "notifications/cancelled",
        json!({"requestId": 77, "reason": "user stopped"}),
    )
    .await;
    wait_for_rpc(&sbx, "notifications/cancelled", 1).await;
    let done = b.wait_response(&twin, Duration::from_secs(30)).await;
    assert_eq!(done["result"]["content"][0]["text"], "twin", "{done}");
    let before: Vec<Value> = b.unread().iter().cloned().collect();
    assert!(Bridge::answers_to(&before, &cancelled).is_empty(), "{before:?}");
    assert!(
        Bridge::answers_to(&b.fence().await, &cancelled).is_empty(),
        "the cancelled call was answered"
    );
    // The bridge still serves.
    let r = b
        .request(
            "tools/call",
            json!({"name": "slow_echo", "arguments": {"text": "next"}}),
        )
        .await;
    assert_eq!(r["result"]["content"][0]["text"], "next", "{r}");
    let rest = b.close_and_read_rest().await;
    assert!(Bridge::answers_to(&rest, &cancelled).is_empty(), "{rest:?}");
}

#[tokio::test]
async fn the_default_timeout_is_five_minutes() {
    assert_eq!(mcp_bridge::config::DEFAULT_TIMEOUT, Duration::from_secs(300));
    let cfg = mcp_bridge::config::Config::parse("[servers.a]\nurl = \"http://x/mcp\"\n", None).unwrap();
    assert_eq!(cfg.servers["a"].timeout(), Duration::from_secs(300));
}

/// A server that takes the bridge's first request (here the
/// `server/discover` that finds its protocol era) and never answers: the
/// client's `initialize` waiting behind it still gets the timeout error when
/// the server's `timeout` ends, not an endless wait.
#[tokio::test]
async fn a_server_that_never_answers_the_era_probe_times_out_the_clients_initialize() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn); // read nothing, answer nothing, close nothing
        }
    });
    let config = format!(
        "[servers.slow]\nurl = {}\ntimeout = 1\n",
        toml_string(&format!("http://{addr}/mcp"))
    );
    let mut b = Bridge::serve_isolated(&config, "slow", &[]);
    let resp = b.initialize_answer().await;
    assert_timeout_error(&resp, "1s");
    silent.abort();
}
