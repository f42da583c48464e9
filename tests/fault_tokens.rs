//! Fault suite, credentials: the bridge reaches the Pipedream emulator (token
//! endpoint and MCP server) through the fault proxy. Scenarios of issue 7:
//! 7 a token that expires mid-session, with calls in flight; 8 two bridge
//! processes refreshing the same token at once (at start, and after the
//! token is revoked under both). Every request gets exactly one answer, the
//! bridges keep serving, and no secret (client secret, access tokens)
//! reaches their trace logs.

mod fault_proxy;
mod fault_support;
mod providers_common;
mod support;

use fault_proxy::{Fault, FaultProxy, Match};
use fault_support::{assert_no_secrets, caps, exactly_one_answer_each};
use mcp_bridge::emulator::pipedream::{PipedreamEmulator, PipedreamOptions};
use providers_common::{data_dir, store_path};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use support::Bridge;

const CLIENT_SECRET: &str = "fault-secret-pd-client-9a7c";

async fn emulator(token_delay: Duration) -> (PipedreamEmulator, FaultProxy) {
    let emu = PipedreamEmulator::start(PipedreamOptions {
        client_id: "pd-fault-client".into(),
        client_secret: CLIENT_SECRET.into(),
        token_delay,
        ..Default::default()
    })
    .await
    .unwrap();
    let proxy = FaultProxy::start(&emu.base()).await;
    (emu, proxy)
}

fn config(proxy: &FaultProxy) -> String {
    format!(
        "[servers.pd]\nprovider = \"pipedream\"\nclient_id = \"pd-fault-client\"\n\
         client_secret = \"{CLIENT_SECRET}\"\nproject_id = \"proj_fault\"\nenvironment = \"development\"\n\
         external_user_id = \"user-1\"\napp = \"slack\"\nbase_url = \"{0}\"\napi_base = \"{0}\"\ntimeout = \"10s\"\n",
        proxy.url
    )
}

fn serve(proxy: &FaultProxy, store: &Path) -> Bridge {
    let mut b = fault_support::serve_traced(&config(proxy), "pd", &[("MCP_BRIDGE_DATA_DIR", store)]);
    b.timeout = Duration::from_secs(15);
    b
}

async fn send_list(b: &mut Bridge) -> Value {
    let id = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"}))
        .await;
    id
}

/// Each of `ids` answered once, with a tool list.
async fn all_listed(b: &mut Bridge, ids: &[Value]) {
    let answers = exactly_one_answer_each(b, ids, Duration::from_secs(15)).await;
    for a in answers.values() {
        assert!(a["result"]["tools"].is_array(), "{a}");
    }
}

fn secrets(emu: &PipedreamEmulator) -> Vec<String> {
    let mut s = emu.issued_tokens();
    s.push(CLIENT_SECRET.to_string());
    s
}

fn check_secrets(b: &Bridge, emu: &PipedreamEmulator) {
    let s = secrets(emu);
    assert_no_secrets(b, &s.iter().map(String::as_str).collect::<Vec<_>>());
}

/// Scenario 7: the token stops being valid while three calls are on their
/// way (held by the proxy): each gets a 401, the bridge refreshes and
/// replays, and the client sees only results.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s07_token_expires_mid_session() {
    let (emu, proxy) = emulator(Duration::ZERO).await;
    let store = data_dir();
    let mut b = serve(&proxy, &store_path(&store));
    b.initialize(caps()).await;
    let first = send_list(&mut b).await;
    all_listed(&mut b, &[first]).await;
    assert_eq!(emu.token_requests().len(), 1);

    proxy.on(Match::rpc("tools/list"), Fault::Hold, 3);
    let mut ids = vec![];
    for _ in 0..3 {
        ids.push(send_list(&mut b).await);
    }
    support::wait_until("the three calls held at the proxy", || proxy.seen("tools/list") == 4).await;
    emu.revoke_tokens();
    proxy.release();
    all_listed(&mut b, &ids).await;
    let refreshed = emu.token_requests().len() - 1;
    assert!((1..=3).contains(&refreshed), "refreshes after the 401s: {refreshed}");
    let denied = emu.mcp_requests().iter().filter(|r| r.status == 401).count();
    assert!(denied >= 3, "the token really expired under the calls: {denied}");
    let again = send_list(&mut b).await;
    all_listed(&mut b, &[again]).await;
    check_secrets(&b, &emu);
}

/// Scenario 8a: two bridges start together on an empty token store; they
/// make one token request between them (the store's lock) and both serve.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s08_two_bridges_starting_together_share_one_token() {
    let (emu, proxy) = emulator(Duration::from_millis(700)).await;
    let store = data_dir();
    let mut a = serve(&proxy, &store_path(&store));
    let mut b = serve(&proxy, &store_path(&store));
    tokio::join!(a.initialize(caps()), b.initialize(caps()));
    assert_eq!(emu.token_requests().len(), 1, "one token request between both");
    let (ia, ib) = (send_list(&mut a).await, send_list(&mut b).await);
    all_listed(&mut a, &[ia]).await;
    all_listed(&mut b, &[ib]).await;
    check_secrets(&a, &emu);
    check_secrets(&b, &emu);
}

/// Scenario 8b: the shared token is revoked under two running bridges that
/// both call at once: both refresh under the store's lock, every call is
/// answered once, and both keep serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s08_two_bridges_refreshing_the_same_token_at_once() {
    let (emu, proxy) = emulator(Duration::from_millis(300)).await;
    let store = data_dir();
    let mut a = serve(&proxy, &store_path(&store));
    a.initialize(caps()).await;
    let mut b = serve(&proxy, &store_path(&store));
    b.initialize(caps()).await;
    assert_eq!(
        emu.token_requests().len(),
        1,
        "the second bridge reuses the stored token"
    );

    emu.revoke_tokens();
    let mut ia = vec![];
    let mut ib = vec![];
    for _ in 0..2 {
        ia.push(send_list(&mut a).await);
        ib.push(send_list(&mut b).await);
    }
    tokio::join!(all_listed(&mut a, &ia), all_listed(&mut b, &ib));
    let refreshes = emu.token_requests().len() - 1;
    assert!(
        (1..=2).contains(&refreshes),
        "two processes, one revoked token: at most one refresh each, got {refreshes}"
    );
    let (na, nb) = (send_list(&mut a).await, send_list(&mut b).await);
    all_listed(&mut a, &[na]).await;
    all_listed(&mut b, &[nb]).await;
    check_secrets(&a, &emu);
    check_secrets(&b, &emu);
}
