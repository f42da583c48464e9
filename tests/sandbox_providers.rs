//! `mcp-bridge sandbox --provider <name>` starts a provider emulator and
//! prints a config entry for it; that entry, as printed, lets `serve` reach
//! the emulator with the provider's own credential flow.

mod support;

use serde_json::json;
use std::time::Duration;
use support::{Bridge, PeerProcess, Stream};

/// Start the emulator and collect the config entry it prints.
fn emulator(kind: &str) -> (PeerProcess, String) {
    let mut cmd = std::process::Command::new(support::bridge_bin());
    cmd.args(["sandbox", "--provider", kind]);
    let mut p = PeerProcess::spawn(kind, cmd);
    let url = p.wait_for_line(Stream::Stdout, Duration::from_secs(20), |_| true);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    p.wait_for_line(Stream::Stdout, Duration::from_secs(5), |l| {
        l.starts_with("# A config entry")
    });
    let mut config = String::new();
    loop {
        let line = p.wait_for_line(Stream::Stdout, Duration::from_secs(5), |_| true);
        if line.trim().is_empty() {
            break;
        }
        config.push_str(&line);
        config.push('\n');
    }
    (p, config)
}

fn serve(config: &str, name: &str, data: &tempfile::TempDir) -> Bridge {
    let (dir, file) = support::write_config(config);
    let mut cmd = Bridge::command();
    // `true` stands in for the browser: nothing opens on the machine running the tests.
    cmd.env("MCP_BRIDGE_DATA_DIR", data.path())
        .env("MCP_BRIDGE_BROWSER", "true")
        .arg("--config")
        .arg(&file)
        .args(["serve", name]);
    let mut b = Bridge::spawn(cmd);
    b.keep(dir);
    b
}

#[tokio::test]
async fn each_provider_emulator_is_reachable_with_the_printed_config() {
    for kind in ["pipedream", "zapier", "integration-app"] {
        let (_emu, config) = emulator(kind);
        assert!(
            config.starts_with(&format!("[servers.{kind}-sandbox]\nprovider = \"{kind}\"")),
            "{config}"
        );
        let data = tempfile::tempdir().unwrap();
        let mut b = serve(&config, &format!("{kind}-sandbox"), &data);
        let init = b.initialize(json!({})).await;
        assert!(init["serverInfo"]["name"].as_str().is_some(), "{kind}: {init}");
        let tools = b.request_ok("tools/list", json!({})).await;
        assert!(!tools["tools"].as_array().unwrap().is_empty(), "{kind}: {tools}");
    }
}

#[tokio::test]
async fn the_oauth_emulator_entry_signs_in_through_the_gate() {
    let (_emu, config) = emulator("oauth");
    assert!(config.contains("auth = \"oauth\""), "{config}");
    let data = tempfile::tempdir().unwrap();
    let mut b = serve(&config, "oauth-sandbox", &data);
    // Signed out: answered at once, and a call says how to sign in.
    b.initialize(json!({})).await;
    let r = b
        .request_ok("tools/call", json!({"name": "anything", "arguments": {}}))
        .await;
    assert!(
        r.to_string().contains("http://127.0.0.1:"),
        "the sign-in link points at the emulator: {r}"
    );
}
