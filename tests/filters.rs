//! `allow_tools` / `deny_tools`: hidden tools are absent from `tools/list`,
//! and a call to one is answered with an error naming the config key and is
//! never forwarded to the remote (the sandbox records what it received).

mod support;

use mcp_bridge::sandbox::Sandbox;
use serde_json::{Value, json};
use support::{Bridge, sandbox, toml_string};

fn names(list: &Value) -> Vec<String> {
    list["tools"]
        .as_array()
        .expect("tools array")
        .iter()
        .map(|t| t["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn tool_calls(sbx: &Sandbox) -> usize {
    sbx.requests()
        .iter()
        .filter(|r| r.rpc_method.as_deref() == Some("tools/call"))
        .count()
}

#[tokio::test]
async fn hidden_tools_are_absent_and_refused_without_forwarding() {
    let sbx = sandbox().await;
    let config = format!(
        "[servers.chat]\nurl = {}\nallow_tools = [\"chat_*\", \"slow_ech?\"]\ndeny_tools = [\"chat_send_*\"]\n",
        toml_string(&sbx.url())
    );
    let mut b = Bridge::serve(&config, "chat");
    b.initialize(json!({})).await;
    let list = names(&b.request_ok("tools/list", json!({})).await);
    for shown in ["chat_list_channels", "chat_read_messages", "slow_echo"] {
        assert!(list.iter().any(|n| n == shown), "{shown} missing from {list:?}");
    }
    for hidden in ["chat_send_message", "progress_demo", "ask_user"] {
        assert!(!list.iter().any(|n| n == hidden), "{hidden} listed: {list:?}");
    }

    // A shown tool is forwarded.
    b.request_ok("tools/call", json!({"name": "chat_list_channels", "arguments": {}}))
        .await;
    assert_eq!(tool_calls(&sbx), 1);

    // Denied by deny_tools.
    let resp = b
        .request(
            "tools/call",
            json!({"name": "chat_send_message", "arguments": {"channel": "general", "text": "no"}}),
        )
        .await;
    let msg = resp["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("deny_tools") && msg.contains("chat_send_message"),
        "{resp}"
    );
    assert_eq!(resp["error"]["data"]["key"], "deny_tools", "{resp}");

    // Not matched by allow_tools.
    let resp = b
        .request(
            "tools/call",
            json!({"name": "progress_demo", "arguments": {"steps": 1}}),
        )
        .await;
    let msg = resp["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("allow_tools") && msg.contains("`chat`"), "{resp}");

    // Neither refused call reached the remote.
    assert_eq!(tool_calls(&sbx), 1, "{:?}", sbx.requests());
    assert!(sbx.messages("general").iter().all(|m| m.text != "no"));
}

#[tokio::test]
async fn without_filters_every_tool_is_listed() {
    let sbx = sandbox().await;
    let mut b = Bridge::serve(&format!("[servers.chat]\nurl = {}\n", toml_string(&sbx.url())), "chat");
    b.initialize(json!({})).await;
    let list = names(&b.request_ok("tools/list", json!({})).await);
    assert!(list.iter().any(|n| n == "chat_send_message"), "{list:?}");
}

#[tokio::test]
async fn hosted_providers_accept_the_filter_keys() {
    let (_dir, path) = support::write_config(
        "[servers.z]\nprovider = \"zapier\"\ntoken = \"t\"\ndeny_tools = [\"*\"]\nallow_tools = [\"x\"]\n",
    );
    let out = std::process::Command::new(support::bridge_bin())
        .arg("--config")
        .arg(&path)
        .arg("check")
        .output()
        .expect("run check");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !err.contains("does not use"), "{err}");
}
