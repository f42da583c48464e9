//! Helpers for the `tests/cli_*.rs` suites: run the bridge binary with a
//! throw-away home, config dir and token store, and collect its output.
#![allow(dead_code)] // each suite uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

/// What one run of the binary left behind.
pub struct Run {
    pub code: i32,
    pub out: String,
    pub err: String,
}

impl Run {
    /// Both streams, for assertion messages and secret checks.
    pub fn all(&self) -> String {
        format!("--- stdout ---\n{}\n--- stderr ---\n{}", self.out, self.err)
    }
}

/// A private home: `$HOME`, `$XDG_CONFIG_HOME`, `$APPDATA` and the token
/// store all live inside it, so no test touches the real ones.
pub struct Home {
    pub dir: TempDir,
}

impl Home {
    pub fn new() -> Home {
        Home {
            dir: tempfile::Builder::new().prefix("mcp-bridge-cli-").tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn xdg(&self) -> PathBuf {
        self.path().join("xdg")
    }

    /// Write `toml` to `name` inside the home and return its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcp-bridge"));
        cmd.args(args)
            .env_remove("MCP_BRIDGE_CONFIG")
            .env_remove("RUST_LOG")
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.xdg())
            .env("APPDATA", self.path().join("appdata"))
            .env("MCP_BRIDGE_DATA_DIR", self.path().join("tokens"))
            .stdin(std::process::Stdio::null());
        cmd
    }

    /// Run the binary to completion.
    pub fn run(&self, args: &[&str]) -> Run {
        finish(self.command(args).output().unwrap())
    }

    /// Run the binary to completion from async code (keeps the runtime free,
    /// e.g. for an in-process sandbox).
    pub async fn run_async(&self, args: &[&str]) -> Run {
        let cmd = tokio::process::Command::from(self.command(args));
        let mut cmd = cmd;
        finish(cmd.output().await.unwrap())
    }
}

fn finish(out: std::process::Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A config with one in-process sandbox server named `sb`.
pub const SANDBOX: &str = "[servers.sb]\nprovider = \"sandbox\"\n";
