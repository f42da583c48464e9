//! `{ command = [...] }` secrets (a password manager's CLI): one that hangs
//! is stopped at its timeout and `serve` answers every request with the
//! error instead of none; one that fails says why (its stderr, without the
//! secret); each runs once per process, however many times it is needed.

mod cli_support;
mod support;

use cli_support::Home;
use serde_json::json;
use std::time::Duration;
use support::{Bridge, toml_string};

fn entry(script: &str) -> String {
    format!(
        "[servers.s]\nurl = \"http://127.0.0.1:9/mcp\"\nbearer = {{ command = [\"sh\", \"-c\", {}] }}\n",
        toml_string(script)
    )
}

#[tokio::test]
async fn a_hanging_password_manager_is_stopped_and_serve_answers_even_ping_with_why() {
    let (dir, config) = support::write_config(&entry("echo 'waiting for Touch ID' >&2; exec sleep 600"));
    let mut cmd = Bridge::command();
    cmd.env("MCP_BRIDGE_COMMAND_TIMEOUT", "1")
        .arg("--config")
        .arg(&config)
        .args(["serve", "s"]);
    let mut b = Bridge::spawn(cmd);
    b.keep(dir);
    b.timeout = Duration::from_secs(10);
    let init =
        json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}});
    for (method, params) in [("initialize", init), ("ping", json!({}))] {
        let r = b.request(method, params).await;
        let message = r["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("servers.s.bearer")
                && message.contains("did not finish within 1s")
                && message.contains("MCP_BRIDGE_COMMAND_TIMEOUT")
                && message.contains("waiting for Touch ID"),
            "{method}: {r}"
        );
    }
}

#[test]
fn a_failing_command_says_what_it_printed_on_stderr_without_the_secret() {
    let home = Home::new();
    let script = "echo tok-5e5e5e5e; printf 'vault: cannot decrypt tok-5e5e5e5e\\n\\033[31mlocked' >&2; exit 3";
    let p = home.file("c.toml", &entry(script));
    let r = home.run(&["--config", p.to_str().unwrap(), "config", "check"]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.err.contains("vault: cannot decrypt [redacted]\\n\\u{1b}[31mlocked"),
        "stderr shown, escaped: {}",
        r.all()
    );
    assert!(
        !r.all().contains("tok-5e5e5e5e") && !r.err.contains('\u{1b}'),
        "{}",
        r.all()
    );
}

#[test]
fn a_command_runs_once_per_process_even_when_it_fails() {
    let home = Home::new();
    let count = home.path().join("runs");
    let script = format!("echo run >> {}; exit 1", count.display());
    let p = home.file("c.toml", &entry(&script));
    let r = home.run(&["--config", p.to_str().unwrap(), "doctor"]);
    assert_ne!(r.code, 0, "{}", r.all());
    let runs = std::fs::read_to_string(&count).unwrap_or_default().lines().count();
    assert_eq!(runs, 1, "{}", r.all());
}
