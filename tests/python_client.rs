//! The official Python MCP SDK (`mcp` from tests/peers/.venv) as the desktop
//! client: its stdio client launches `mcp-bridge --config F serve sandbox`
//! (tests/clients/sdk_client.py), the bridge relays to an in-process sandbox,
//! and the script's JSON summary is checked field by field here.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use mcp_bridge::sandbox::SERVER_NAME;
use serde_json::{Value, json};

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs tests/clients/sdk_client.py with `spec` and returns its stdout as JSON.
async fn run_sdk_client(spec: &Value) -> Value {
    let script = support::repo_root().join("tests/clients/sdk_client.py");
    let mut cmd = tokio::process::Command::new(support::python());
    cmd.arg(script).arg(spec.to_string());
    support::run_for_json(cmd, SCRIPT_TIMEOUT, "sdk_client.py").await
}

/// The tool names the sandbox lists, asked through a bridge driven by the
/// Rust test client (the reference for what the SDK should see).
async fn tool_names_via_rust_client(config: &str) -> BTreeSet<String> {
    let mut bridge = support::Bridge::serve(config, "sandbox");
    bridge.initialize(json!({})).await;
    let tools = bridge.request_ok("tools/list", json!({})).await;
    let names = tools["tools"].as_array().expect("tools").iter();
    names.map(|t| t["name"].as_str().expect("name").to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_stdio_client_works_through_the_bridge() {
    let sandbox = support::sandbox().await;
    let config = support::remote_config("sandbox", &sandbox.url());
    let (_dir, config_path) = support::write_config(&config);
    let spec = json!({
        "command": support::bridge_bin(),
        "args": ["--config", config_path, "serve", "sandbox"],
        "channel": "random",
        "text": "hello from the Python SDK",
        "question": "Which colour should the button be?",
        "answer": "teal",
        "prompt": "Summarise the #random channel",
        "reply": "Nothing much happened in #random.",
        "model": "sdk-test-model",
        "steps": 3,
    });

    let summary = run_sdk_client(&spec).await;

    // initialize and tools/list
    assert_eq!(summary["server_info"]["name"], SERVER_NAME, "{summary:#}");
    assert!(
        summary["protocol_version"].as_str().is_some_and(|v| !v.is_empty()),
        "{summary:#}"
    );
    let tools = summary["tools"].as_array().expect("tools").iter();
    let names: BTreeSet<String> = tools.map(|t| t["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, tool_names_via_rust_client(&config).await);

    // chat_send_message really posted to the sandbox
    let sent = &summary["send_message"];
    assert_ne!(sent["isError"], true, "{sent:#}");
    let messages = sandbox.messages(spec["channel"].as_str().unwrap());
    let posted = messages.last().expect("a message in the channel");
    assert_eq!(posted.text, spec["text"]);
    assert_eq!(sent["structuredContent"]["message_id"], posted.id.as_str());
    assert_eq!(sent["structuredContent"]["channel"], spec["channel"]);

    // ask_user: elicitation/create reached the SDK's callback, its answer came back
    let elicitations = summary["elicitations"].as_array().expect("elicitations");
    assert_eq!(elicitations.len(), 1, "{elicitations:#?}");
    assert_eq!(elicitations[0]["message"], spec["question"]);
    assert!(elicitations[0]["requestedSchema"]["properties"]["answer"].is_object());
    let asked = &summary["ask_user"];
    assert_ne!(asked["isError"], true, "{asked:#}");
    let expected = json!({"question": spec["question"], "action": "accept", "answer": spec["answer"]});
    assert_eq!(asked["structuredContent"], expected);

    // sample_llm: sampling/createMessage reached the SDK's callback, its reply came back
    let samplings = summary["samplings"].as_array().expect("samplings");
    assert_eq!(samplings.len(), 1, "{samplings:#?}");
    assert_eq!(samplings[0]["messages"][0]["content"]["text"], spec["prompt"]);
    let sampled = &summary["sample_llm"];
    assert_ne!(sampled["isError"], true, "{sampled:#}");
    assert_eq!(
        sampled["structuredContent"],
        json!({"model": spec["model"], "text": spec["reply"]})
    );

    // progress_demo: every notifications/progress reached the SDK's progress callback
    let steps = spec["steps"].as_u64().unwrap();
    let progress: Vec<(f64, f64)> = (summary["progress"].as_array().expect("progress").iter())
        .map(|p| (p["progress"].as_f64().unwrap(), p["total"].as_f64().unwrap()))
        .collect();
    let expected: Vec<(f64, f64)> = (1..=steps).map(|i| (i as f64, steps as f64)).collect();
    assert_eq!(progress, expected);
    assert_eq!(summary["progress_demo"]["structuredContent"]["steps"], steps);

    sandbox.shutdown().await;
}
