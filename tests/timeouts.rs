//! Per-server timeouts: progress restarts a request's clock; an expired
//! request is answered with an error naming the server and the `timeout`
//! key and cancelled at the remote; a request the client cancels is
//! cancelled at the remote and gets no answer.

mod support;

use mcp_bridge::sandbox::Sandbox;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{Bridge, sandbox, toml_string};

fn bridge(sbx: &Sandbox, timeout: &str) -> Bridge {
    Bridge::serve(
        &format!(
            "[servers.slow]\nurl = {}\ntimeout = {timeout}\n",
            toml_string(&sbx.url())
        ),
        "slow",
    )
}

fn cancels(sbx: &Sandbox) -> usize {
    sbx.requests()
        .iter()
        .filter(|r| r.rpc_method.as_deref() == Some("notifications/cancelled"))
        .count()
}

/// Waits (up to 5 s) until the sandbox has received a cancellation.
async fn wait_for_cancel(sbx: &Sandbox) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while cancels(sbx) == 0 {
        assert!(
            Instant::now() < deadline,
            "no cancel reached the sandbox: {:?}",
            sbx.requests()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn call(b: &mut Bridge, params: Value) -> Value {
    b.request("tools/call", params).await
}

#[tokio::test]
async fn progress_restarts_the_clock() {
    let sbx = sandbox().await;
    let mut b = bridge(&sbx, "1");
    b.initialize(json!({})).await;
    // 5 steps of 400 ms: 2 s in all, over the 1 s timeout, but never 1 s
    // without progress.
    let resp = call(
        &mut b,
        json!({"name": "progress_demo", "arguments": {"steps": 5, "delay_ms": 400},
               "_meta": {"progressToken": "tok-1"}}),
    )
    .await;
    assert_eq!(resp["result"]["structuredContent"]["steps"], 5, "{resp}");
    assert_eq!(cancels(&sbx), 0);
}

#[tokio::test]
async fn without_progress_the_same_call_times_out() {
    let sbx = sandbox().await;
    let mut b = bridge(&sbx, "1");
    b.initialize(json!({})).await;
    let resp = call(
        &mut b,
        json!({"name": "progress_demo", "arguments": {"steps": 5, "delay_ms": 400}}),
    )
    .await;
    assert!(resp.get("error").is_some(), "{resp}");
}

#[tokio::test]
async fn an_expired_request_is_answered_and_cancelled_at_the_remote() {
    let sbx = sandbox().await;
    let mut b = bridge(&sbx, "\"1s\"");
    b.initialize(json!({})).await;
    let started = Instant::now();
    let resp = call(
        &mut b,
        json!({"name": "slow_echo", "arguments": {"text": "late", "delay_ms": 3000}}),
    )
    .await;
    let elapsed = started.elapsed();
    let msg = resp["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("`slow`") && msg.contains("`timeout`"), "{resp}");
    assert_eq!(resp["error"]["code"], -32001, "{resp}");
    assert!(elapsed < Duration::from_millis(2500), "answered after {elapsed:?}");
    wait_for_cancel(&sbx).await;
    // The remote's late answer is not relayed a second time.
    b.expect_silence(Duration::from_millis(2500)).await;
}

#[tokio::test]
async fn a_client_cancel_reaches_the_remote_and_gets_no_answer() {
    let sbx = sandbox().await;
    let mut b = bridge(&sbx, "30");
    b.initialize(json!({})).await;
    b.send(&json!({"jsonrpc": "2.0", "id": 77, "method": "tools/call",
                   "params": {"name": "slow_echo", "arguments": {"text": "x", "delay_ms": 2000}}}))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.notify(
        "notifications/cancelled",
        json!({"requestId": 77, "reason": "user stopped"}),
    )
    .await;
    wait_for_cancel(&sbx).await;
    b.expect_silence(Duration::from_millis(2500)).await;
    // The bridge still serves.
    let r = call(&mut b, json!({"name": "slow_echo", "arguments": {"text": "next"}})).await;
    assert_eq!(r["result"]["content"][0]["text"], "next", "{r}");
}

#[tokio::test]
async fn the_default_timeout_is_five_minutes() {
    assert_eq!(mcp_bridge::config::DEFAULT_TIMEOUT, Duration::from_secs(300));
    let cfg = mcp_bridge::config::Config::parse("[servers.a]\nurl = \"http://x/mcp\"\n", None).unwrap();
    assert_eq!(cfg.servers["a"].timeout(), Duration::from_secs(300));
}
