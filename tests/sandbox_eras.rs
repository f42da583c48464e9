//! The sandbox in the 2026-07-28 era: `mcp-bridge demo` shows both eras,
//! its second pass really speaking 2026-07-28 (no initialize, no session on
//! the wire), and a server of both eras that the config pins to 2026-07-28
//! is spoken to in that revision.

mod support;

use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;
use support::{Bridge, bridge_bin, sandbox_with, toml_string};

const MODERN: &str = "2026-07-28";

/// The numbers in "on the wire: N requests (…); M with MCP-Protocol-Version
/// 2026-07-28, S with a session id", and the list in the brackets.
fn wire(line: &str) -> (usize, String, usize, usize) {
    let rest = line
        .trim()
        .strip_prefix("on the wire: ")
        .unwrap_or_else(|| panic!("{line}"));
    let (total, rest) = rest.split_once(" requests (").unwrap_or_else(|| panic!("{line}"));
    let (list, rest) = rest.split_once("); ").unwrap_or_else(|| panic!("{line}"));
    let (versioned, rest) = rest
        .split_once(&format!(" with MCP-Protocol-Version {MODERN}, "))
        .unwrap_or_else(|| panic!("{line}"));
    let sessions = rest
        .strip_suffix(" with a session id")
        .unwrap_or_else(|| panic!("{line}"));
    let n = |s: &str| s.parse::<usize>().unwrap_or_else(|_| panic!("`{s}` in {line}"));
    (n(total), list.to_string(), n(versioned), n(sessions))
}

#[test]
fn demo_shows_both_eras_and_its_second_pass_speaks_2026_07_28_on_the_wire() {
    let data = tempfile::tempdir().unwrap();
    let example = support::repo_root().join("config.example.toml");
    let out = Command::new(bridge_bin())
        .env_remove("MCP_BRIDGE_CONFIG")
        .env("MCP_BRIDGE_DATA_DIR", data.path())
        .args(["--config", example.to_str().unwrap(), "demo"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}{stderr}");
    let (first, second) = stdout
        .split_once(&format!("2. The same client, the bridge speaking MCP {MODERN}"))
        .unwrap_or_else(|| panic!("no second pass: {stdout}"));
    assert!(
        first.starts_with("1. A desktop client speaking MCP 2025-11-25"),
        "{stdout}"
    );
    for pass in [first, second] {
        assert!(
            pass.contains("connected to mcp-bridge-sandbox (protocol 2025-11-25)"),
            "{stdout}"
        );
        assert!(pass.contains("The user answered: teal"), "{stdout}");
        assert!(pass.contains("exited with exit status: 0"), "{stdout}");
    }
    let line = second
        .lines()
        .find(|l| l.trim_start().starts_with("on the wire:"))
        .unwrap_or_else(|| panic!("no wire line: {stdout}"));
    let (total, list, versioned, sessions) = wire(line);
    assert!(total >= 3 && versioned == total && sessions == 0, "{line}");
    assert!(
        list.contains("server/discover") && list.contains("tools/call ×2") && !list.contains("initialize"),
        "the question was not asked by input_required and a retry, or a handshake went out: {line}"
    );
    assert!(!stderr.contains("ERROR") && !stderr.contains("WARN"), "{stderr}");
}

#[tokio::test]
async fn a_server_of_both_eras_pinned_to_2026_07_28_is_spoken_to_in_2026_07_28() {
    let sbx = sandbox_with(Some("tok-pinned"), None).await;
    let data = tempfile::tempdir().unwrap();
    let (dir, config) = support::write_config(&format!(
        "[servers.pinned]\nurl = {}\nbearer = \"tok-pinned\"\nprotocol = \"{MODERN}\"\n",
        toml_string(&sbx.url())
    ));
    let mut cmd = Bridge::command();
    cmd.env("MCP_BRIDGE_DATA_DIR", data.path())
        .arg("--config")
        .arg(&config)
        .args(["serve", "pinned"]);
    let mut b = Bridge::spawn(cmd);
    b.keep(dir);
    let init = b.initialize(json!({"elicitation": {"form": {}}})).await;
    assert_eq!(init["protocolVersion"], "2025-11-25", "{init}");
    // The sandbox's tools never change: a 2026-07-28 client (the bridge
    // here, for its list cache) may keep them an hour.
    let tools = b.request_ok("tools/list", json!({})).await;
    assert_eq!(
        (&tools["ttlMs"], &tools["cacheScope"]),
        (&json!(3_600_000), &json!("public"))
    );
    let id = json!("ask-1");
    b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "ask_user", "arguments": {"question": "Colour?"}}}))
        .await;
    let question = b.next_other_timeout(Duration::from_secs(30)).await;
    assert_eq!(question["method"], "elicitation/create", "{question}");
    b.respond(
        &question["id"],
        json!({"action": "accept", "content": {"answer": "blue"}}),
    )
    .await;
    let answer = b.wait_response(&id, Duration::from_secs(30)).await;
    let text = answer.pointer("/result/content/0/text").and_then(Value::as_str);
    assert_eq!(text, Some("The user answered: blue"), "{answer}");
    let seen = sbx.requests();
    assert!(
        seen.iter().all(|r| r.protocol_version.as_deref() == Some(MODERN)
            && r.session_id.is_none()
            && r.rpc_method.as_deref() != Some("initialize")),
        "{seen:#?}"
    );
    let calls = seen
        .iter()
        .filter(|r| r.rpc_method.as_deref() == Some("tools/call"))
        .count();
    assert_eq!(calls, 2, "the call and its retry with the answer: {seen:#?}");
}
