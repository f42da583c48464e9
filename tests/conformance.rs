//! The official MCP conformance suite (`@modelcontextprotocol/conformance`,
//! pinned in tests/peers) run against mcp-bridge as the *client under test*.
//!
//! For each scenario the suite starts a scenario server on loopback and runs
//! `python tests/conformance/driver.py <server-url>` with
//! `MCP_CONFORMANCE_SCENARIO` set. The driver (a desktop MCP client built on
//! the official Python SDK) writes a config whose `[servers.remote] url` is
//! that server and talks to `mcp-bridge --config FILE serve remote` over
//! stdio, so everything the scenario server checks went through the bridge.
//!
//! A scenario passes only if the CLI exits 0, prints "OVERALL: PASSED", and
//! its checks.json holds at least one SUCCESS and no FAILURE or WARNING.
//!
//! Debug one by hand (from the repo root, after `cargo build`):
//!   tests/peers/node_modules/.bin/conformance client --scenario sse-retry \
//!     --command "tests/peers/.venv/bin/python tests/conformance/driver.py"
//! Add `--direct` after driver.py to bypass the bridge, `--verbose` for JSON
//! checks; `RUST_LOG` is forwarded to the bridge.

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use serde_json::Value;

/// Scenarios run one at a time: sse-retry checks reconnection timing to
/// within ~200 ms, which parallel node/python/bridge startups on a 2-core CI
/// machine could disturb.
static SERIAL: Mutex<()> = Mutex::new(());

/// The suite kills the client after this long (its default is 30 s).
const SUITE_TIMEOUT_MS: u32 = 60_000;
/// The driver gives up a little earlier, so it reports why.
const DRIVER_TIMEOUT_S: u32 = 50;

fn shell_quote(path: &Path) -> String {
    let s = path.to_str().expect("UTF-8 path");
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn run_scenario(scenario: &str) {
    let _serial = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());

    let results = tempfile::Builder::new()
        .prefix("mcp-bridge-conformance-")
        .tempdir()
        .expect("temp dir");
    let driver = support::repo_root().join("tests/conformance/driver.py");
    assert!(driver.is_file(), "missing {}", driver.display());
    // The suite appends the server URL to this command and runs it with a shell.
    let client_command = format!(
        "{} {} --timeout {DRIVER_TIMEOUT_S}",
        shell_quote(&support::python()),
        shell_quote(&driver)
    );

    let output = Command::new(support::node_bin("conformance"))
        .arg("client")
        .args(["--scenario", scenario])
        .args(["--command", &client_command])
        .args(["--timeout", &SUITE_TIMEOUT_MS.to_string()])
        .arg("--output-dir")
        .arg(results.path())
        .env("MCP_BRIDGE_BIN", support::bridge_bin())
        .current_dir(results.path())
        .output()
        .expect("run the conformance CLI");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = format!(
        "conformance scenario `{scenario}` (exit {:?})\n--- suite stdout ---\n{stdout}\n--- suite stderr ---\n{stderr}",
        output.status.code()
    );

    let checks_files = support::conformance_checks(results.path());
    assert_eq!(
        checks_files.len(),
        1,
        "expected one checks.json under {}\n{report}",
        results.path().display()
    );
    let checks: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&checks_files[0]).expect("read checks.json"))
            .expect("checks.json is a JSON array");
    let count = |status: &str| checks.iter().filter(|c| c["status"] == status).count();
    let bad: Vec<String> = checks
        .iter()
        .filter(|c| c["status"] == "FAILURE" || c["status"] == "WARNING")
        .map(|c| {
            format!(
                "{} {}: {} {}",
                c["status"].as_str().unwrap_or("?"),
                c["id"].as_str().unwrap_or("?"),
                c["description"].as_str().unwrap_or(""),
                c["errorMessage"].as_str().unwrap_or("")
            )
        })
        .collect();

    assert!(
        output.status.success(),
        "suite reported failure; failing checks: {bad:#?}\n{report}"
    );
    assert!(
        stderr.contains("OVERALL: PASSED"),
        "suite did not print OVERALL: PASSED\n{report}"
    );
    assert!(bad.is_empty(), "failing checks: {bad:#?}\n{report}");
    assert!(
        count("SUCCESS") >= 1,
        "no SUCCESS check recorded (the scenario did not run?)\n{report}"
    );
}

/// Handshake through the bridge: the scenario server validates the
/// `initialize` it receives (protocolVersion 2025-06-18/2025-11-25,
/// clientInfo name and version). Its URL has no path
/// (`http://localhost:PORT`) and it answers plain JSON without a session.
#[test]
fn conformance_initialize() {
    run_scenario("initialize");
}

/// tools/list then tools/call `add_numbers` {a, b} against a stateless
/// (no session id) SDK server; passes when the call reaches the server.
#[test]
fn conformance_tools_call() {
    run_scenario("tools_call");
}

/// SEP-1699: the tools/call response stream sends a priming event
/// (`id`, `retry: 500`) and closes; the bridge must reconnect with GET and
/// `Last-Event-ID` after 450–700 ms and deliver the result arriving there.
#[test]
fn conformance_sse_retry() {
    run_scenario("sse-retry");
}

/// SEP-1034: during tools/call the server sends `elicitation/create` with
/// defaults for every field; the driver's callback answers with the defaults
/// and the server checks the response the bridge relays back.
#[test]
fn conformance_elicitation_sep1034_client_defaults() {
    run_scenario("elicitation-sep1034-client-defaults");
}
