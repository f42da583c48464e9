//! `mcp-bridge demo`: the bridge's main job, shown end to end. It starts
//! `mcp-bridge serve <name>` as a child process exactly as a desktop client
//! would, speaks MCP to it over stdio, and narrates each exchange: the
//! handshake, the tool list, a few tool calls with progress, and a question
//! the server asks the person (answered by the demo). Against the sandbox it
//! needs no account.

use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// The longest the demo waits for any one answer.
const WAIT: Duration = Duration::from_secs(30);
/// How `serve` begins its answers when the config keeps it from starting.
const CANNOT_START: &str = "mcp-bridge cannot start:";
/// The demo's error when `serve` could not start and has said why itself:
/// the config is wrong, and nothing more is to be said.
pub const SAID_BY_SERVE: &str = "";

/// The server or bundle the demo would drive, checked before anything
/// starts: a wrong name or a broken config is said once, as a config error.
pub fn check_target(config: Option<&Path>, name: Option<&str>) -> Result<(), crate::config::ConfigError> {
    let config = crate::config::Config::load(config)?;
    match name {
        Some(n) => config.server_or_bundle(n).map(drop),
        None => config.default_name().map(drop),
    }
}

struct Client {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    next_id: u64,
}

impl Client {
    async fn send(&mut self, msg: &Value) -> Result<(), String> {
        let line = format!("{msg}\n");
        self.stdin
            .write_all(line.as_bytes())
            .await
            .map_err(|e| format!("bridge stdin: {e}"))?;
        self.stdin.flush().await.map_err(|e| format!("bridge stdin: {e}"))
    }

    /// Send a request and wait for its response, handling what the server
    /// sends meanwhile (progress, questions for the person).
    async fn call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await?;
        loop {
            let line = tokio::time::timeout(WAIT, self.lines.next_line())
                .await
                .map_err(|_| format!("no answer to {method} within {WAIT:?}"))?
                .map_err(|e| format!("bridge stdout: {e}"))?
                .ok_or("the bridge exited (see its messages above)")?;
            let msg: Value = serde_json::from_str(&line).map_err(|e| format!("bridge sent a bad line ({e})"))?;
            if msg.get("id") == Some(&json!(id)) && msg.get("method").is_none() {
                if let Some(err) = msg.get("error") {
                    let message = err["message"].as_str().unwrap_or("?");
                    if message.starts_with(CANNOT_START) {
                        // `serve` has said why on stderr already.
                        return Err(SAID_BY_SERVE.to_string());
                    }
                    let message = message.strip_prefix("mcp-bridge: ").unwrap_or(message);
                    return Err(format!("{method} failed: {message}"));
                }
                return Ok(msg["result"].clone());
            }
            self.on_server_message(msg).await?;
        }
    }

    async fn on_server_message(&mut self, msg: Value) -> Result<(), String> {
        match msg["method"].as_str() {
            Some("notifications/progress") => {
                let p = &msg["params"];
                crate::outln!(
                    "    progress {}/{}  {}",
                    p["progress"],
                    p["total"],
                    p["message"].as_str().unwrap_or("")
                );
            }
            Some("elicitation/create") => {
                crate::outln!(
                    "  ? the server asks the person: {}",
                    msg["params"]["message"].as_str().unwrap_or("")
                );
                crate::outln!("    (the demo answers \"teal\" for them)");
                let answer = json!({"jsonrpc": "2.0", "id": msg["id"], "result": {"action": "accept", "content": {"answer": "teal"}}});
                self.send(&answer).await?;
            }
            Some("roots/list") => {
                self.send(&json!({"jsonrpc": "2.0", "id": msg["id"], "result": {"roots": []}}))
                    .await?;
            }
            Some(other) => crate::outln!("    (server sent {other})"),
            None => {}
        }
        Ok(())
    }
}

pub async fn run(config: Option<&Path>, name: Option<&str>, log: Option<&str>) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find my own binary: {e}"))?;
    let mut cmd = Command::new(exe);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    if let Some(l) = log {
        cmd.arg("--log").arg(l);
    } else if crate::logging::default_in_force(None) {
        // Each failed answer is narrated here: `serve` need not log it too.
        cmd.arg("--log").arg(crate::logging::quiet_filter());
    }
    cmd.arg("serve");
    if let Some(n) = name {
        cmd.arg(n);
    }
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start `mcp-bridge serve`: {e}"))?;
    let stdin = child.stdin.take().ok_or("no stdin")?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut c = Client {
        child,
        stdin,
        lines: BufReader::new(stdout).lines(),
        next_id: 0,
    };

    crate::outln!("→ initialize (as a desktop client would, over stdio)");
    let init = c
        .call(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {"elicitation": {}, "roots": {}},
                   "clientInfo": {"name": "mcp-bridge-demo", "version": env!("CARGO_PKG_VERSION")}}),
        )
        .await?;
    crate::outln!(
        "  connected to {} (protocol {})",
        init["serverInfo"]["name"].as_str().unwrap_or("?"),
        init["protocolVersion"].as_str().unwrap_or("?")
    );
    c.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await?;

    crate::outln!("→ tools/list");
    let tools = c.call("tools/list", json!({})).await?;
    let names: Vec<&str> = tools["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str())
        .collect();
    crate::outln!(
        "  {}: {}",
        crate::console::plural(names.len(), "tool"),
        names.join(", ")
    );

    let script: &[(&str, Value)] = &[
        ("chat_list_channels", json!({})),
        (
            "chat_send_message",
            json!({"channel": "general", "text": "Hello from mcp-bridge"}),
        ),
        ("progress_demo", json!({"steps": 3, "delay_ms": 100})),
        (
            "ask_user",
            json!({"question": "Which colour should the release banner be?"}),
        ),
    ];
    for (tool, args) in script {
        // In a bundle the tool is `<server>__<tool>`: the first server's.
        let bundled = format!("__{tool}");
        let Some(tool) = names.iter().find(|n| *n == tool || n.ends_with(&bundled)) else {
            continue;
        };
        crate::outln!("→ tools/call {tool} {args}");
        let meta = json!({"progressToken": format!("demo-{tool}")});
        let result = c
            .call("tools/call", json!({"name": tool, "arguments": args, "_meta": meta}))
            .await?;
        let flag = if result["isError"] == json!(true) {
            " (tool error)"
        } else {
            ""
        };
        for line in crate::jsonrpc::result_text(&result).lines() {
            crate::outln!("  {line}{flag}");
        }
    }

    drop(c.stdin);
    let status = tokio::time::timeout(WAIT, c.child.wait())
        .await
        .map_err(|_| "the bridge did not exit after stdin closed")?;
    crate::outln!(
        "✓ stdin closed; the bridge exited with {}",
        status.map_err(|e| e.to_string())?
    );
    Ok(())
}
