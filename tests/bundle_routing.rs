//! Several remotes behind one stdio server: `serve a b` and
//! `[bundles.<name>]` merge the servers' tools with `<server>__` prefixes,
//! answer `initialize` from a merged view, route each call to its owner
//! (prefix stripped), apply each server's filters, and keep the ids of
//! server→client requests from two servers apart.

mod support;

use mcp_bridge::sandbox::Sandbox;
use serde_json::{Value, json};
use std::time::Duration;
use support::{Bridge, rpc_count, sandbox, toml_string, wait_for_rpc};

fn config(a: &Sandbox, b: &Sandbox, extra_a: &str) -> String {
    format!(
        "[servers.alpha]\nurl = {}\n{extra_a}\n[servers.beta]\nurl = {}\n\n[bundles.both]\nservers = [\"alpha\", \"beta\"]\n",
        toml_string(&a.url()),
        toml_string(&b.url())
    )
}

fn serve_many(config: &str, names: &[&str]) -> Bridge {
    let (dir, path) = support::write_config(config);
    let mut cmd = Bridge::command();
    cmd.arg("--config").arg(&path).arg("serve").args(names);
    let mut b = Bridge::spawn(cmd);
    b.keep(dir);
    b
}

fn names(list: &Value) -> Vec<String> {
    list["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| t["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn calls(sbx: &Sandbox) -> usize {
    sbx.requests()
        .iter()
        .filter(|r| r.rpc_method.as_deref() == Some("tools/call"))
        .count()
}

#[tokio::test]
async fn serve_two_names_merges_prefixed_tools_and_routes_calls() {
    let (a, b) = (sandbox().await, sandbox().await);
    let mut bridge = serve_many(&config(&a, &b, ""), &["alpha", "beta"]);
    let init = bridge.initialize(json!({})).await;
    assert_eq!(init["serverInfo"]["name"], "mcp-bridge", "{init}");
    assert_eq!(init["capabilities"]["tools"]["listChanged"], true, "{init}");
    assert_eq!(init["protocolVersion"], support::PROTOCOL_VERSION);
    let list = names(&bridge.request_ok("tools/list", json!({})).await);
    for want in [
        "alpha__chat_send_message",
        "beta__chat_send_message",
        "alpha__slow_echo",
    ] {
        assert!(list.iter().any(|n| n == want), "{want} missing from {list:?}");
    }
    assert!(
        list.iter().all(|n| n.starts_with("alpha__") || n.starts_with("beta__")),
        "{list:?}"
    );

    let sent = bridge
        .request_ok(
            "tools/call",
            json!({"name": "beta__chat_send_message", "arguments": {"channel": "general", "text": "to beta"}}),
        )
        .await;
    assert_eq!(sent["isError"], false, "{sent}");
    assert!(b.messages("general").iter().any(|m| m.text == "to beta"));
    assert!(a.messages("general").iter().all(|m| m.text != "to beta"));
    assert_eq!((calls(&a), calls(&b)), (0, 1));

    let echoed = bridge
        .request_ok(
            "tools/call",
            json!({"name": "alpha__slow_echo", "arguments": {"text": "hi"}}),
        )
        .await;
    assert_eq!(echoed["content"][0]["text"], "hi");
    assert_eq!((calls(&a), calls(&b)), (1, 1));

    let unknown = bridge
        .request("tools/call", json!({"name": "gamma__slow_echo", "arguments": {}}))
        .await;
    assert!(
        unknown["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("<server>__"),
        "{unknown}"
    );
}

#[tokio::test]
async fn a_bundle_entry_applies_each_servers_filters() {
    let (a, b) = (sandbox().await, sandbox().await);
    let mut bridge = serve_many(&config(&a, &b, "deny_tools = [\"chat_send_*\"]"), &["both"]);
    bridge.initialize(json!({})).await;
    let list = names(&bridge.request_ok("tools/list", json!({})).await);
    assert!(!list.iter().any(|n| n == "alpha__chat_send_message"), "{list:?}");
    assert!(list.iter().any(|n| n == "beta__chat_send_message"), "{list:?}");
    let refused = bridge
        .request(
            "tools/call",
            json!({"name": "alpha__chat_send_message", "arguments": {"channel": "general", "text": "x"}}),
        )
        .await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("deny_tools"),
        "{refused}"
    );
    assert_eq!(calls(&a), 0);
}

/// `default = "<bundle>"`: a bare `serve` (what `install` writes with no
/// name) serves the bundle.
#[tokio::test]
async fn a_bundle_named_by_default_is_what_serve_with_no_name_serves() {
    let (a, b) = (sandbox().await, sandbox().await);
    let mut bridge = serve_many(&format!("default = \"both\"\n{}", config(&a, &b, "")), &[]);
    bridge.initialize(json!({})).await;
    let list = names(&bridge.request_ok("tools/list", json!({})).await);
    assert!(list.iter().any(|n| n == "alpha__slow_echo"), "{list:?}");
    assert!(list.iter().any(|n| n == "beta__slow_echo"), "{list:?}");
}

#[tokio::test]
async fn server_requests_from_two_remotes_get_distinct_ids_and_answers_go_back() {
    let (a, b) = (sandbox().await, sandbox().await);
    let mut bridge = serve_many(&config(&a, &b, ""), &["alpha", "beta"]);
    bridge.initialize(json!({"elicitation": {}})).await;
    let (ida, idb) = (json!(101), json!(102));
    for (id, tool) in [(&ida, "alpha__ask_user"), (&idb, "beta__ask_user")] {
        bridge
            .send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                          "params": {"name": tool, "arguments": {"question": tool}}}))
            .await;
    }
    let mut asked = Vec::new();
    while asked.len() < 2 {
        let m = bridge.next_other_timeout(Duration::from_secs(10)).await;
        if m["method"] == "elicitation/create" {
            asked.push(m);
        }
    }
    assert_ne!(asked[0]["id"], asked[1]["id"], "{asked:?}");
    for q in &asked {
        // Answer each with the question it asked, so a mix-up shows.
        let question = q["params"]["message"].as_str().unwrap().to_string();
        bridge
            .respond(&q["id"], json!({"action": "accept", "content": {"answer": question}}))
            .await;
    }
    let ra = bridge.wait_response(&ida, Duration::from_secs(10)).await;
    let rb = bridge.wait_response(&idb, Duration::from_secs(10)).await;
    assert_eq!(
        ra["result"]["content"][0]["text"], "The user answered: alpha__ask_user",
        "{ra}"
    );
    assert_eq!(
        rb["result"]["content"][0]["text"], "The user answered: beta__ask_user",
        "{rb}"
    );
}

#[tokio::test]
async fn cancel_and_progress_route_to_the_owning_remote() {
    let (a, b) = (sandbox().await, sandbox().await);
    let mut bridge = serve_many(&config(&a, &b, ""), &["alpha", "beta"]);
    bridge.initialize(json!({})).await;
    let resp = bridge
        .request(
            "tools/call",
            json!({"name": "beta__progress_demo", "arguments": {"steps": 2, "delay_ms": 10},
                   "_meta": {"progressToken": "pt"}}),
        )
        .await;
    assert_eq!(resp["result"]["structuredContent"]["steps"], 2, "{resp}");
    let mut progress = Vec::new();
    while let Some(m) = bridge.next_other() {
        progress.push(m);
    }
    assert!(
        progress.iter().all(|m| m["method"] == "notifications/progress"),
        "{progress:?}"
    );
    assert_eq!(progress.len(), 2, "{progress:?}");
    // Two alike calls on alpha; the client cancels one once both run there.
    for id in [9, 10] {
        bridge
            .send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                          "params": {"name": "alpha__slow_echo", "arguments": {"text": "x", "delay_ms": 2000}}}))
            .await;
    }
    wait_for_rpc(&a, "tools/call", 2).await;
    bridge.notify("notifications/cancelled", json!({"requestId": 9})).await;
    wait_for_rpc(&a, "notifications/cancelled", 1).await;
    // No answer to a cancelled request, per the spec: none when its twin is
    // answered, at a ping fence, or in the rest of the session.
    let twin = bridge.wait_response(&json!(10), Duration::from_secs(30)).await;
    assert_eq!(twin["result"]["content"][0]["text"], "x", "{twin}");
    let fenced = bridge.fence().await;
    assert!(Bridge::answers_to(&fenced, &json!(9)).is_empty(), "{fenced:?}");
    assert_eq!(rpc_count(&b, "notifications/cancelled"), 0, "beta was told");
    let rest = bridge.close_and_read_rest().await;
    assert!(Bridge::answers_to(&rest, &json!(9)).is_empty(), "{rest:?}");
}

/// The client goes away with calls still running on both servers: each is
/// answered before the bridge exits (an answer reaches the client through
/// its member's feed, which is passed on before the end).
#[tokio::test]
async fn calls_in_flight_when_stdin_closes_are_all_answered() {
    let (a, b) = (sandbox().await, sandbox().await);
    let mut bridge = serve_many(&config(&a, &b, ""), &["both"]);
    bridge.initialize(json!({})).await;
    let mut ids = Vec::new();
    for i in 0..16 {
        let id = json!(format!("call-{i}"));
        let tool = if i % 2 == 0 {
            "alpha__slow_echo"
        } else {
            "beta__slow_echo"
        };
        let args = json!({"text": format!("echo {i}"), "delay_ms": 20 + (i % 4) * 10});
        bridge
            .send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": args}}))
            .await;
        ids.push(id);
    }
    bridge.close_stdin();
    for (i, id) in ids.iter().enumerate() {
        let r = bridge.wait_response(id, Duration::from_secs(20)).await;
        assert_eq!(r["result"]["content"][0]["text"], format!("echo {i}"), "{r}");
    }
    assert!(bridge.wait_exit(Duration::from_secs(10)).await.success());
}
