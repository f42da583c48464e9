//! Helpers shared by the `providers_*` tests: starting the bridge with an
//! isolated token store (and optional extra environment), running
//! `mcp-bridge check`, and reading token files and their modes.
#![allow(dead_code)] // each test crate uses a different subset

use crate::support::{Bridge, write_config};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::TempDir;

/// A throw-away token store directory (`MCP_BRIDGE_DATA_DIR`).
pub fn data_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("mcp-bridge-store-")
        .tempdir()
        .expect("create data dir")
}

/// The store directory inside `dir` the bridge is pointed at (created by
/// the bridge, so its mode is the bridge's doing).
pub fn store_path(dir: &TempDir) -> PathBuf {
    dir.path().join("tokens")
}

/// `mcp-bridge --config <file> serve <server>` with the token store at
/// `store` and `env` added.
pub fn serve(config: &str, server: &str, store: &Path, env: &[(&str, &str)]) -> Bridge {
    let (dir, path) = write_config(config);
    let mut cmd = Bridge::command();
    cmd.arg("--config")
        .arg(&path)
        .arg("serve")
        .arg(server)
        .env("MCP_BRIDGE_DATA_DIR", store)
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut bridge = Bridge::spawn(cmd);
    bridge.keep(dir);
    bridge.timeout = Duration::from_secs(20);
    bridge
}

/// What `mcp-bridge --config <file> check` did.
pub struct Checked {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub config_path: PathBuf,
    _dir: TempDir,
}

/// Run `check` on `config` (store isolated, `env` added).
pub fn check(config: &str, env: &[(&str, &str)]) -> Checked {
    let (dir, path) = write_config(config);
    let store = dir.path().join("store");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-bridge"));
    cmd.arg("--config")
        .arg(&path)
        .arg("check")
        .env("MCP_BRIDGE_DATA_DIR", &store);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run mcp-bridge check");
    Checked {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        config_path: path,
        _dir: dir,
    }
}

/// The token file of `server` in `store`, parsed.
pub fn token_file(store: &Path, server: &str) -> Value {
    let text = std::fs::read_to_string(store.join(format!("{server}.json")))
        .unwrap_or_else(|e| panic!("no token file for {server} in {}: {e}", store.display()));
    serde_json::from_str(&text).expect("token file is JSON")
}

/// Permission bits of `path`.
#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// The names in a `tools/list` result.
pub fn tool_names(result: &Value) -> Vec<String> {
    result["tools"]
        .as_array()
        .expect("tools array")
        .iter()
        .map(|t| t["name"].as_str().expect("tool name").to_string())
        .collect()
}

/// The first text content of a `tools/call` result.
pub fn text_of(result: &Value) -> String {
    result["content"][0]["text"].as_str().unwrap_or_default().to_string()
}

/// Waits until `cond` holds (see `support::wait_until`).
pub async fn wait_for(what: &str, cond: impl Fn() -> bool) {
    crate::support::wait_until(what, cond).await;
}
