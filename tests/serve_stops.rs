//! `serve` stops when told to, even while a call is in flight (issue 19,
//! item 2): on SIGTERM, SIGINT or stdin closing, the bridge answers every
//! request still waiting with an error, tells the remote to cancel it, ends
//! the session (DELETE) and exits 0, within about a second; a second
//! signal exits at once. Desktop clients kill a server that does not stop.
//!
//! Each call here is held by a loopback remote that would answer only after
//! a minute (the sandbox's `slow_echo`) under a ten-minute `timeout`, so
//! nothing but the stop can end it. `STOP_BOUND` is generous for a loaded
//! CI machine: it bounds a hang, it measures nothing.

#[cfg(unix)]
mod fault_proxy;
mod support;

#[cfg(unix)]
use axum::http::Method;
#[cfg(unix)]
use fault_proxy::{Fault, FaultProxy, Match, base_of};
use mcp_bridge::sandbox::Sandbox;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{Bridge, rpc_count, sandbox, toml_string, wait_for_rpc};

/// The longest a stop may take here (it takes about a second).
const STOP_BOUND: Duration = Duration::from_secs(5);

/// One server `slow` at `url`, with a timeout no test waits for.
fn config(url: &str) -> String {
    format!("[servers.slow]\nurl = {}\ntimeout = \"10m\"\n", toml_string(url))
}

/// `serve slow` at `url`, logging at info (the stop says when it begins).
#[cfg(unix)]
fn serve_logged(url: &str) -> Bridge {
    let (dir, path) = support::write_config(&config(url));
    let mut cmd = Bridge::command();
    cmd.env("RUST_LOG", "mcp_bridge=info")
        .arg("--config")
        .arg(&path)
        .args(["serve", "slow"]);
    let mut b = Bridge::spawn(cmd);
    b.keep(dir);
    b
}

/// Starts a `slow_echo` call of `tool` that the remote would answer only
/// after a minute, and waits until the remote is running it.
async fn call_held(b: &mut Bridge, sbx: &Sandbox, tool: &str) -> Value {
    let id = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                   "params": {"name": tool, "arguments": {"text": "never", "delay_ms": 60_000}}}))
        .await;
    wait_for_rpc(sbx, "tools/call", 1).await;
    id
}

/// Sends `signal` (`TERM`, `INT`) to the bridge.
#[cfg(unix)]
fn kill(b: &Bridge, signal: &str) {
    let pid = b.pid().expect("the bridge is running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-s", signal, &pid])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -s {signal} {pid}");
}

/// What is left of `STOP_BOUND` since `since`.
fn left(since: Instant) -> Duration {
    STOP_BOUND.saturating_sub(since.elapsed())
}

/// The request `id` was answered with the stop's error, in server `server`'s
/// name, and the bridge then exited 0 (all within `STOP_BOUND` of `told`).
async fn answered_and_exited(b: &mut Bridge, id: &Value, server: &str, told: Instant) {
    let r = b.wait_response(id, left(told)).await;
    let message = r["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("mcp-bridge is stopping"), "{r}");
    assert!(message.contains(&format!("server `{server}`")), "{r}");
    let status = b.wait_exit(left(told)).await;
    assert!(status.success(), "{status:?}\n{}", b.stderr_text());
}

/// Before it exited, the bridge told the remote to cancel the call and
/// ended each of its `sessions` sessions.
fn cancelled_and_closed(sbx: &Sandbox, sessions: usize) {
    assert_eq!(rpc_count(sbx, "notifications/cancelled"), 1, "{:#?}", sbx.requests());
    let deletes = sbx.requests().iter().filter(|r| r.http_method == "DELETE").count();
    assert_eq!(deletes, sessions, "{:#?}", sbx.requests());
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_during_a_long_call_answers_it_cancels_it_and_exits() {
    let sbx = sandbox().await;
    let mut b = Bridge::serve(&config(&sbx.url()), "slow");
    b.initialize(json!({})).await;
    let id = call_held(&mut b, &sbx, "slow_echo").await;
    let told = Instant::now();
    kill(&b, "TERM");
    answered_and_exited(&mut b, &id, "slow", told).await;
    cancelled_and_closed(&sbx, 1);
}

#[cfg(unix)]
#[tokio::test]
async fn ctrl_c_during_a_long_call_answers_it_cancels_it_and_exits() {
    let sbx = sandbox().await;
    let mut b = Bridge::serve(&config(&sbx.url()), "slow");
    b.initialize(json!({})).await;
    let id = call_held(&mut b, &sbx, "slow_echo").await;
    let told = Instant::now();
    kill(&b, "INT");
    answered_and_exited(&mut b, &id, "slow", told).await;
    cancelled_and_closed(&sbx, 1);
}

#[tokio::test]
async fn the_client_closing_stdin_during_a_long_call_does_not_wait_for_it() {
    let sbx = sandbox().await;
    let mut b = Bridge::serve(&config(&sbx.url()), "slow");
    b.initialize(json!({})).await;
    let id = call_held(&mut b, &sbx, "slow_echo").await;
    let told = Instant::now();
    b.close_stdin();
    answered_and_exited(&mut b, &id, "slow", told).await;
    cancelled_and_closed(&sbx, 1);
}

#[cfg(unix)]
#[tokio::test]
async fn a_bundle_stops_on_sigterm_with_a_call_in_flight_at_one_server() {
    let sbx = sandbox().await;
    let url = toml_string(&sbx.url());
    let toml = format!(
        "[servers.a]\nurl = {url}\ntimeout = \"10m\"\n[servers.b]\nurl = {url}\ntimeout = \"10m\"\n\
         [bundles.both]\nservers = [\"a\", \"b\"]\n"
    );
    let mut b = Bridge::serve(&toml, "both");
    b.initialize(json!({})).await;
    let id = call_held(&mut b, &sbx, "a__slow_echo").await;
    let told = Instant::now();
    kill(&b, "TERM");
    answered_and_exited(&mut b, &id, "a", told).await;
    cancelled_and_closed(&sbx, 2);
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_while_the_remote_holds_initialize_still_stops() {
    let sbx = sandbox().await;
    let proxy = FaultProxy::start(&base_of(&sbx.url())).await;
    proxy.on(Match::rpc("initialize"), Fault::Hold, 1);
    let mut b = Bridge::serve(&config(&format!("{}/mcp", proxy.url)), "slow");
    let id = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
        "protocolVersion": support::PROTOCOL_VERSION, "capabilities": {},
        "clientInfo": {"name": "serve_stops", "version": "0"}}}))
        .await;
    support::wait_until("the proxy to hold initialize", || proxy.seen("initialize") == 1).await;
    let told = Instant::now();
    kill(&b, "TERM");
    answered_and_exited(&mut b, &id, "slow", told).await;
    // The spec: initialize is never cancelled.
    assert_eq!(proxy.seen("notifications/cancelled"), 0, "{:#?}", proxy.log());
}

#[cfg(unix)]
#[tokio::test]
async fn a_second_sigterm_while_the_first_stop_waits_exits_at_once() {
    let sbx = sandbox().await;
    let proxy = FaultProxy::start(&base_of(&sbx.url())).await;
    // The stop would wait here too: for the call (a second), then for
    // its DELETE, which the proxy holds (another second).
    proxy.on(Match::http(Method::DELETE), Fault::Hold, 1);
    let mut b = serve_logged(&format!("{}/mcp", proxy.url));
    b.initialize(json!({})).await;
    call_held(&mut b, &sbx, "slow_echo").await;
    kill(&b, "TERM");
    support::wait_until_with(
        "the bridge to begin its stop",
        || b.stderr_text().contains("told to stop by a signal; stopping"),
        || b.stderr_text(),
    )
    .await;
    let told = Instant::now();
    kill(&b, "TERM");
    let status = b.wait_exit(left(told)).await;
    assert_eq!(
        status.code(),
        Some(1),
        "not the status of a stop cut short\n{}",
        b.stderr_text()
    );
    assert!(
        b.stderr_text().contains("told to stop again: exiting now"),
        "{}",
        b.stderr_text()
    );
}
