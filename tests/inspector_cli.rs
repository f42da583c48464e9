//! The MCP Inspector CLI (`@modelcontextprotocol/inspector-cli --cli`) as the
//! client: it launches `mcp-bridge --config F serve sandbox` as a stdio
//! server and runs one method per invocation. Its JSON output through the
//! bridge must equal its output when it talks to the sandbox directly over
//! Streamable HTTP, and agree with the sandbox's own state.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

const CLI_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs the Inspector CLI: `target` is the server (a command line or a URL),
/// `method` the `--method ...` options. Returns its stdout parsed as JSON.
async fn inspector(target: &[&str], method: &[&str]) -> Value {
    let mut cmd = tokio::process::Command::from(support::inspector_cli());
    // Options before `--` are the Inspector's; everything after it is the
    // target, so the bridge's own `--config` is not taken for the Inspector's.
    cmd.args(method).arg("--").args(target);
    support::run_for_json(cmd, CLI_TIMEOUT, &format!("inspector-cli {method:?}")).await
}

fn bridge_target(config: &Path) -> Vec<String> {
    let bin = support::bridge_bin().display().to_string();
    vec![
        bin,
        "--config".into(),
        config.display().to_string(),
        "serve".into(),
        "sandbox".into(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspector_cli_lists_and_calls_tools_through_the_bridge() {
    let sandbox = support::sandbox().await;
    let (_dir, config) = support::write_config(&support::remote_config("sandbox", &sandbox.url()));
    let target = bridge_target(&config);
    let via: Vec<&str> = target.iter().map(String::as_str).collect();
    let url = sandbox.url();
    let direct = [url.as_str()];

    // tools/list: the same tools as a direct connection sees
    let listed = inspector(&via, &["--method", "tools/list"]).await;
    let tools = listed["tools"].as_array().expect("tools array");
    assert!(tools.iter().any(|t| t["name"] == "chat_list_channels"), "{listed:#}");
    assert_eq!(listed, inspector(&direct, &["--method", "tools/list"]).await);

    // tools/call without arguments: the sandbox's channels
    let list_channels = ["--method", "tools/call", "--tool-name", "chat_list_channels"];
    let channels = inspector(&via, &list_channels).await;
    assert_ne!(channels["isError"], true, "{channels:#}");
    let expected = serde_json::to_value(sandbox.channels()).unwrap();
    assert_eq!(channels["structuredContent"]["channels"], expected);
    assert_eq!(channels, inspector(&direct, &list_channels).await);

    // tools/call with arguments: the message lands in the sandbox
    let text = "posted by the MCP Inspector CLI";
    let text_arg = format!("text={text}");
    // `--tool-arg` takes several values: other options must follow it, or
    // it would swallow the target that the CLI appends after them.
    let args = [
        "--tool-arg",
        "channel=engineering",
        &text_arg,
        "--method",
        "tools/call",
        "--tool-name",
        "chat_send_message",
    ];
    let sent = inspector(&via, &args).await;
    assert_ne!(sent["isError"], true, "{sent:#}");
    let messages = sandbox.messages("engineering");
    let posted = messages.last().expect("a message in #engineering");
    assert_eq!(posted.text, text);
    let expected = json!({"message_id": posted.id, "channel": "engineering"});
    assert_eq!(sent["structuredContent"], expected, "{sent:#}");

    sandbox.shutdown().await;
}
