//! `list_changed` in a bundle: a burst of `notifications/tools/list_changed`
//! from several servers reaches the client as one notification, and a
//! later change is announced again. The servers are two Zapier emulators,
//! whose `enable_zapier_action` emits `tools/list_changed` before its result.

mod support;

use mcp_bridge::emulator::zapier::{ZapierEmulator, ZapierOptions};
use serde_json::json;
use std::time::Duration;
use support::Bridge;

async fn zapier() -> ZapierEmulator {
    ZapierEmulator::start(ZapierOptions {
        connection_token: Some("zct_bundle".into()),
        ..Default::default()
    })
    .await
    .expect("start the zapier emulator")
}

/// Several times the bridge's coalescing delay (100 ms): an announcement
/// the bridge makes for a change comes within it.
const QUIET: Duration = Duration::from_millis(600);

/// The list changes announced for what the servers did so far: waits for
/// the first announcement (however long it takes), then counts until no
/// other has come for [`QUIET`]. Each test also has this count see a later
/// change's announcement, which comes the same way after its call's answer:
/// the control that shows the window is long enough to see one.
async fn changes(b: &mut Bridge) -> usize {
    let first = b.next_other_timeout(support::SIGNAL_TIMEOUT).await;
    assert_eq!(first["method"], "notifications/tools/list_changed", "{first}");
    let mut n = 1;
    while let Some(m) = b.next_other() {
        assert_eq!(m["method"], "notifications/tools/list_changed", "{m}");
        n += 1;
    }
    while let Some(m) = b.try_recv_timeout(QUIET).await {
        assert_eq!(m["method"], "notifications/tools/list_changed", "{m}");
        n += 1;
    }
    n
}

#[tokio::test]
async fn a_burst_of_list_changes_reaches_the_client_once() {
    let (z1, z2) = (zapier().await, zapier().await);
    let config = format!(
        "[servers.z1]\nprovider = \"zapier\"\nurl = \"{}\"\ntoken = \"zct_bundle\"\n\
         [servers.z2]\nprovider = \"zapier\"\nurl = \"{}\"\ntoken = \"zct_bundle\"\n\
         [bundles.zaps]\nservers = [\"z1\", \"z2\"]\n",
        z1.connect_url(),
        z2.connect_url()
    );
    let mut b = Bridge::serve(&config, "zaps");
    b.initialize(json!({})).await;
    let list = b.request_ok("tools/list", json!({})).await;
    assert_eq!(list["tools"].as_array().unwrap().len(), 2, "{list}");

    for (id, server) in [(json!("e1"), "z1"), (json!("e2"), "z2")] {
        b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                       "params": {"name": format!("{server}__enable_zapier_action"),
                                  "arguments": {"action": "slack_send"}}}))
            .await;
    }
    b.wait_response(&json!("e1"), Duration::from_secs(10)).await;
    b.wait_response(&json!("e2"), Duration::from_secs(10)).await;
    assert_eq!(changes(&mut b).await, 1, "{:?}", b.unread());

    let list = b.request_ok("tools/list", json!({})).await;
    let names: Vec<&str> = list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"z1__slack_send") && names.contains(&"z2__slack_send"),
        "{names:?}"
    );

    // A later change is announced again, and seen by the same count: the
    // control for the burst's count above.
    b.request_ok(
        "tools/call",
        json!({"name": "z1__enable_zapier_action", "arguments": {"action": "gmail_send"}}),
    )
    .await;
    assert_eq!(changes(&mut b).await, 1, "{:?}", b.unread());
}
