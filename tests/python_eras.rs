//! Both protocol eras with the official Python SDK (`mcp==2.3.0` from
//! tests/peers/.venv), which implements 2026-07-28 on both sides. The SDK's
//! stdio client (tests/clients/eras_client.py) launches
//! `mcp-bridge --config F serve NAME` as a desktop client would, and the
//! bridge relays to a loopback server:
//!
//! * tests/clients/modern_server.py: the SDK's `MCPServer` over Streamable
//!   HTTP, 2026-07-28 only (it refuses `initialize` with -32022), logging one
//!   `EVENT {json}` line per POST so the test sees what reached it and how;
//! * server-everything, a 2025-only server.
//!
//! The client's JSON summary and the server's events are checked here.

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use support::{PeerProcess, Stream};
use tempfile::TempDir;

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);
const MODERN: &str = "2026-07-28";

/// Starts tests/clients/modern_server.py and returns it with its endpoint.
fn spawn_modern_server() -> (PeerProcess, String) {
    let mut cmd = Command::new(support::python());
    cmd.arg(support::repo_root().join("tests/clients/modern_server.py"))
        .current_dir(std::env::temp_dir());
    let mut peer = PeerProcess::spawn("modern_server.py", cmd);
    let url = peer
        .wait_for_line(Stream::Stdout, support::STARTUP_TIMEOUT, |_| true)
        .trim()
        .to_string();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "modern_server.py: first stdout line is not its URL: {url:?}\n{}",
        peer.output_text()
    );
    (peer, url)
}

/// The `EVENT` lines the modern server has printed so far, parsed.
fn events(server: &PeerProcess) -> Vec<Value> {
    let output = server.output_text();
    output
        .lines()
        .filter_map(|line| line.strip_prefix("EVENT "))
        .map(|event| serde_json::from_str(event).unwrap_or_else(|e| panic!("bad EVENT line ({e}): {event}")))
        .collect()
}

/// Runs tests/clients/eras_client.py as an `era` desktop client of
/// `mcp-bridge serve remote` (remote: `url`), making `calls` and answering
/// elicitations with `answers`; returns its JSON summary.
async fn run_client(url: &str, era: &str, answers: Value, calls: Value) -> Value {
    let (dir, config) = support::write_config(&support::remote_config("remote", url));
    let data: TempDir = tempfile::tempdir().expect("data dir");
    let spec = json!({
        "command": support::bridge_bin(),
        "args": ["--config", config, "serve", "remote"],
        "env": {"MCP_BRIDGE_DATA_DIR": data.path()},
        "era": era,
        "answers": answers,
        "calls": calls,
    });
    let mut cmd = tokio::process::Command::new(support::python());
    cmd.arg(support::repo_root().join("tests/clients/eras_client.py"))
        .arg(spec.to_string());
    let summary = support::run_for_json(cmd, SCRIPT_TIMEOUT, "eras_client.py").await;
    drop(dir);
    summary
}

fn text(result: &Value) -> String {
    let blocks = result["content"].as_array().map(Vec::as_slice).unwrap_or_default();
    blocks
        .iter()
        .filter_map(|b| b["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The calls both stories against the modern server make.
fn modern_calls() -> Value {
    json!([
        {"name": "add", "arguments": {"a": 2, "b": 3}},
        {"name": "greet", "arguments": {"name": "Ada"}},
        {"name": "paint", "arguments": {"item": "boat"}},
    ])
}

/// What both eras of client must get from the modern server, and what the
/// server must have seen: every request in the 2026-07-28 form (the version
/// header equal to `_meta`, `Mcp-Method` equal to the method), no
/// `initialize`, and `paint` twice: first plain, answered `input_required`,
/// then retried under a new id with `inputResponses` and the echoed
/// `requestState`.
fn assert_modern_story(summary: &Value, server: &PeerProcess) {
    let context = format!("summary: {summary:#}\n--- server ---\n{}", server.output_text());
    assert_eq!(summary["server_info"]["name"], "modern-test-server", "{context}");
    assert_eq!(summary["tools"], json!(["add", "greet", "paint"]), "{context}");
    let results = &summary["results"];
    assert_eq!(text(&results["add"]), "5", "{context}");
    assert_eq!(text(&results["greet"]), "Hello, Ada!", "{context}");
    assert_eq!(text(&results["paint"]), "The boat will be teal.", "{context}");
    let elicitations = summary["elicitations"].as_array().expect("elicitations");
    assert_eq!(elicitations.len(), 1, "{context}");
    assert_eq!(
        elicitations[0]["message"], "Which colour should the boat be?",
        "{context}"
    );
    assert!(
        elicitations[0]["requestedSchema"]["properties"]["colour"].is_object(),
        "{context}"
    );

    let events = events(server);
    assert!(!events.is_empty(), "{context}");
    for event in &events {
        assert_ne!(event["method"], "initialize", "{event}\n{context}");
        assert_eq!(event["header_version"], MODERN, "{event}\n{context}");
        assert_eq!(event["meta_version"], MODERN, "{event}\n{context}");
        assert_eq!(event["header_method"], event["method"], "{event}\n{context}");
    }
    let paints: Vec<&Value> = events.iter().filter(|e| e["tool"] == "paint").collect();
    assert_eq!(paints.len(), 2, "{context}");
    assert_eq!(
        (&paints[0]["input_responses"], &paints[0]["request_state"]),
        (&json!(false), &json!(false)),
        "{context}"
    );
    assert_eq!(
        (&paints[1]["input_responses"], &paints[1]["request_state"]),
        (&json!(true), &json!(true)),
        "{context}"
    );
    assert_ne!(
        paints[0]["id"], paints[1]["id"],
        "the retry reused the JSON-RPC id\n{context}"
    );
}

/// The SDK's client in its default auto mode probes `server/discover`
/// through the bridge, settles on 2026-07-28, and resolves the paint tool's
/// `input_required` itself: the bridge passes it all through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2026_python_client_talks_2026_through_the_bridge_to_a_2026_server() {
    let (server, url) = spawn_modern_server();
    let summary = run_client(&url, "auto", json!({"colour": "teal"}), modern_calls()).await;
    assert_eq!(
        summary["protocol_version"],
        MODERN,
        "{summary:#}\n{}",
        server.output_text()
    );
    assert_modern_story(&summary, &server);
}

/// A 2025-11-25 client (`initialize`, answers `elicitation/create`) reaches
/// the 2026-07-28-only server: the bridge answers `initialize` itself, and
/// turns the paint tool's `input_required` into an `elicitation/create` to
/// the client, whose answer goes back in the retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2025_python_client_answers_a_2026_servers_input_required_through_the_bridge() {
    let (server, url) = spawn_modern_server();
    let summary = run_client(&url, "2025", json!({"colour": "teal"}), modern_calls()).await;
    assert_eq!(
        summary["protocol_version"],
        support::PROTOCOL_VERSION,
        "{summary:#}\n{}",
        server.output_text()
    );
    assert_modern_story(&summary, &server);
}

/// The same 2025 client against server-everything, a 2025-only server:
/// `initialize`, tool calls and a mid-call `elicitation/create` pass through
/// the bridge as they always have.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2025_python_client_reaches_a_2025_server_unchanged_through_the_bridge() {
    let (server, url) = support::spawn_server_everything();
    let calls = json!([
        {"name": "get-sum", "arguments": {"a": 2, "b": 3}},
        {"name": "echo", "arguments": {"message": "hello"}},
        {"name": "trigger-elicitation-request", "arguments": {}},
    ]);
    let summary = run_client(&url, "2025", json!({"name": "Ada Lovelace"}), calls).await;
    let context = format!("summary: {summary:#}\n--- server ---\n{}", server.output_text());

    assert_eq!(summary["protocol_version"], support::PROTOCOL_VERSION, "{context}");
    assert!(
        summary["server_info"]["name"].as_str().is_some_and(|n| !n.is_empty()),
        "{context}"
    );
    let tools: Vec<&str> = summary["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for tool in ["get-sum", "echo", "trigger-elicitation-request"] {
        assert!(tools.contains(&tool), "{tool} not listed\n{context}");
    }
    let results = &summary["results"];
    assert!(text(&results["get-sum"]).contains('5'), "{context}");
    assert_eq!(text(&results["echo"]), "Echo: hello", "{context}");
    let elicitations = summary["elicitations"].as_array().expect("elicitations");
    assert_eq!(elicitations.len(), 1, "{context}");
    assert_eq!(
        elicitations[0]["message"], "Please provide inputs for the following fields:",
        "{context}"
    );
    assert!(
        text(&results["trigger-elicitation-request"]).contains("Name: Ada Lovelace"),
        "{context}"
    );
}
