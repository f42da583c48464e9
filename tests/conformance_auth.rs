//! The 17 `auth/*` client scenarios of the official MCP conformance suite
//! (`@modelcontextprotocol/conformance`, pinned in tests/peers), run against
//! mcp-bridge as the client under test.
//!
//! For each scenario the suite starts an authorization server and a
//! protected MCP server, then runs `tests/peers/.venv/bin/python tests/conformance/auth_driver.py
//! <mcp-url>`. The driver (stdlib only) writes a config with `auth =
//! "oauth"` for that URL, starts `mcp-bridge serve`, plays the desktop
//! client over stdio and the person at the browser (the bridge's
//! `MCP_BRIDGE_BROWSER` points back at the driver, which follows the
//! authorize redirect to the loopback callback).
//!
//! A scenario passes only if the suite exits 0, prints "OVERALL: PASSED",
//! and its checks.json has at least one SUCCESS and no FAILURE or WARNING.
//!
//! Debug one by hand (from the repo root, after `cargo build`):
//!   tests/peers/node_modules/.bin/conformance client --scenario auth/scope-step-up \
//!     --command "tests/peers/.venv/bin/python tests/conformance/auth_driver.py"

mod support;

use serde_json::Value;
use std::process::Command;
use std::sync::Mutex;

/// One scenario at a time: each starts node, python and the bridge.
static SERIAL: Mutex<()> = Mutex::new(());

fn run(scenario: &str) {
    let _one = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let results = tempfile::tempdir().unwrap();
    let driver = support::repo_root().join("tests/conformance/auth_driver.py");
    let driver = driver.to_str().unwrap();
    assert!(
        !driver.contains(' '),
        "the suite splits the command on spaces: {driver}"
    );
    let output = Command::new(support::node_bin("conformance"))
        .args(["client", "--scenario", &format!("auth/{scenario}")])
        .args(["--command", &format!("{} {driver}", support::python().display())])
        .args(["--timeout", "60000"])
        .arg("--output-dir")
        .arg(results.path())
        .env("MCP_BRIDGE_BIN", support::bridge_bin())
        .current_dir(results.path())
        .output()
        .expect("run the conformance CLI");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = format!(
        "auth/{scenario} (exit {:?})\n--- suite stdout ---\n{}\n--- suite stderr ---\n{stderr}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout)
    );
    let files = support::conformance_checks(results.path());
    assert_eq!(files.len(), 1, "expected one checks.json\n{report}");
    let checks: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    let bad: Vec<String> = checks
        .iter()
        .filter(|c| c["status"] == "FAILURE" || c["status"] == "WARNING")
        .map(|c| format!("{} {}: {}", c["status"], c["id"], c["description"]))
        .collect();
    assert!(output.status.success(), "suite failed: {bad:#?}\n{report}");
    assert!(stderr.contains("OVERALL: PASSED"), "{report}");
    assert!(bad.is_empty(), "failing checks: {bad:#?}\n{report}");
    assert!(
        checks.iter().any(|c| c["status"] == "SUCCESS"),
        "no SUCCESS check\n{report}"
    );
}

macro_rules! scenarios {
    ($($test:ident => $name:literal;)*) => {
        $(#[test] fn $test() { run($name); })*
    };
}

scenarios! {
    metadata_default => "metadata-default";
    metadata_var1 => "metadata-var1";
    metadata_var2 => "metadata-var2";
    metadata_var3 => "metadata-var3";
    basic_cimd => "basic-cimd";
    scope_from_www_authenticate => "scope-from-www-authenticate";
    scope_from_scopes_supported => "scope-from-scopes-supported";
    scope_omitted_when_undefined => "scope-omitted-when-undefined";
    scope_step_up => "scope-step-up";
    scope_retry_limit => "scope-retry-limit";
    token_endpoint_auth_basic => "token-endpoint-auth-basic";
    token_endpoint_auth_post => "token-endpoint-auth-post";
    token_endpoint_auth_none => "token-endpoint-auth-none";
    resource_mismatch => "resource-mismatch";
    pre_registration => "pre-registration";
    backcompat_2025_03_26_oauth_metadata => "2025-03-26-oauth-metadata-backcompat";
    backcompat_2025_03_26_oauth_endpoint_fallback => "2025-03-26-oauth-endpoint-fallback";
}
