//! Waiting on signals, not on time: [`wait_until`] polls a condition the
//! test can observe (a request the remote logged, a line in a log, a count)
//! and fails, naming what it waited for, only when it never comes. The
//! in-process sandbox's starters and its request log live here too, since
//! that log is the signal most tests wait on.

use std::time::{Duration, Instant};

use mcp_bridge::sandbox::{Sandbox, SandboxOptions};

/// How long [`wait_until`] waits before it calls a signal missing. It bounds
/// a hang; it measures nothing (the wait ends as soon as the signal comes),
/// so it is generous for a loaded 2-core machine.
pub const SIGNAL_TIMEOUT: Duration = Duration::from_secs(30);

/// How often [`wait_until`] looks again.
const POLL: Duration = Duration::from_millis(10);

/// Waits until `done()` holds; panics with `what` (and `context()`, to show
/// the state it saw last) after [`SIGNAL_TIMEOUT`].
pub async fn wait_until_with(what: &str, mut done: impl FnMut() -> bool, context: impl Fn() -> String) {
    let deadline = Instant::now() + SIGNAL_TIMEOUT;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "waited {SIGNAL_TIMEOUT:?} for {what}; it never happened: {}",
            context()
        );
        tokio::time::sleep(POLL).await;
    }
}

/// [`wait_until_with`] without context.
pub async fn wait_until(what: &str, done: impl FnMut() -> bool) {
    wait_until_with(what, done, String::new).await;
}

/// [`wait_until`] for a condition that must be awaited (an async look at
/// the sandbox, say).
pub async fn wait_until_async<F: Future<Output = bool>>(what: &str, mut done: impl FnMut() -> F) {
    let deadline = Instant::now() + SIGNAL_TIMEOUT;
    while !done().await {
        assert!(
            Instant::now() < deadline,
            "waited {SIGNAL_TIMEOUT:?} for {what}; it never happened"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// A free port on 127.0.0.1 (bound and released: a peer told to listen on
/// it can take it; nothing else on the machine is told to).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free loopback port")
        .port()
}

/// The sandbox provider in this process, on a free port, with no token.
pub async fn sandbox() -> Sandbox {
    sandbox_with(None, None).await
}

/// The sandbox provider in this process, requiring `token` as its bearer
/// and expiring sessions idle for `ttl`, when given.
pub async fn sandbox_with(token: Option<&str>, ttl: Option<Duration>) -> Sandbox {
    Sandbox::start(SandboxOptions {
        port: 0,
        token: token.map(str::to_string),
        session_ttl: ttl,
    })
    .await
    .expect("start the sandbox")
}

/// How many JSON-RPC messages with `method` the sandbox has received. A
/// request is logged once the sandbox has started its answer: for a
/// `tools/call`, once the tool is running (its SSE stream is open).
pub fn rpc_count(sbx: &Sandbox, method: &str) -> usize {
    sbx.requests()
        .iter()
        .filter(|r| r.rpc_method.as_deref() == Some(method))
        .count()
}

/// Waits until the sandbox has received `n` messages with `method`.
pub async fn wait_for_rpc(sbx: &Sandbox, method: &str, n: usize) {
    wait_until_with(
        &format!("{n} `{method}` at the sandbox"),
        || rpc_count(sbx, method) >= n,
        || format!("{:#?}", sbx.requests()),
    )
    .await;
}
