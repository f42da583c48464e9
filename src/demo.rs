//! `mcp-bridge demo`: the bridge's main job, shown end to end, in both
//! protocol eras. It starts `mcp-bridge serve <name>` as a child process
//! exactly as a desktop client would, speaks MCP 2025-11-25 to it over
//! stdio, and narrates each exchange: the handshake, the tool list, a few
//! tool calls with progress, and a question the server asks the person
//! (answered by the demo). Then the same client once more, through a bridge
//! that speaks the 2026-07-28 revision to a sandbox the demo starts itself
//! (`protocol = "2026-07-28"`): `initialize` answered from
//! `server/discover`, the question asked by an `input_required` answer and
//! a retry, and what the sandbox saw on the wire (no session). Against the
//! sandbox it needs no account.

use crate::sandbox::{RecordedRequest, Sandbox, SandboxOptions};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
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
/// The revision of the second pass.
const MODERN: &str = crate::era::LATEST_MODERN;
/// The environment variable that hands the second pass's sandbox token to
/// its bridge (the config names it, so the file holds no secret).
const TOKEN_ENV: &str = "MCP_BRIDGE_DEMO_TOKEN";

struct Client {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    next_id: u64,
}

impl Client {
    /// `mcp-bridge [--config C] [--log L] serve [name]`, started as a
    /// desktop client starts it.
    fn start(
        config: Option<&Path>,
        name: Option<&str>,
        log: Option<&str>,
        env: &[(&str, &str)],
    ) -> Result<Client, String> {
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
        cmd.envs(env.iter().copied())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start `mcp-bridge serve`: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        Ok(Client {
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
            next_id: 0,
        })
    }

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

    /// `initialize` and `notifications/initialized`, narrated.
    async fn initialize(&mut self) -> Result<(), String> {
        crate::outln!("→ initialize (as a desktop client would, over stdio)");
        let init = self
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
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await
    }

    /// A `tools/call` with a progress token, narrated with its result.
    async fn call_tool(&mut self, tool: &str, args: &Value) -> Result<(), String> {
        crate::outln!("→ tools/call {tool} {args}");
        let meta = json!({"progressToken": format!("demo-{tool}")});
        let result = self
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
        Ok(())
    }

    /// Close stdin, as a client that quits does, and wait for the exit.
    async fn finish(self) -> Result<ExitStatus, String> {
        let Client { mut child, stdin, .. } = self;
        drop(stdin);
        tokio::time::timeout(WAIT, child.wait())
            .await
            .map_err(|_| "the bridge did not exit after stdin closed")?
            .map_err(|e| e.to_string())
    }
}

pub async fn run(config: Option<&Path>, name: Option<&str>, log: Option<&str>) -> Result<(), String> {
    let serve = name.map_or_else(|| "serve".to_string(), |n| format!("serve {n}"));
    crate::outln!("1. A desktop client speaking MCP 2025-11-25, through `mcp-bridge {serve}`");
    let mut c = Client::start(config, name, log, &[])?;
    c.initialize().await?;

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
        ("ask_user", ask_user_args()),
    ];
    for (tool, args) in script {
        // In a bundle the tool is `<server>__<tool>`: the first server's.
        let bundled = format!("__{tool}");
        let Some(tool) = names.iter().find(|n| *n == tool || n.ends_with(&bundled)) else {
            continue;
        };
        c.call_tool(tool, args).await?;
    }
    let status = c.finish().await?;
    crate::outln!("✓ stdin closed; the bridge exited with {status}");

    modern_pass(log).await
}

fn ask_user_args() -> Value {
    json!({"question": "Which colour should the release banner be?"})
}

/// The same client through a bridge that speaks 2026-07-28 to a sandbox of
/// the demo's own, and what the sandbox saw.
async fn modern_pass(log: Option<&str>) -> Result<(), String> {
    crate::outln!();
    crate::outln!("2. The same client, the bridge speaking MCP {MODERN} to the server (no initialize, no session)");
    let token = format!("sbx_{}", uuid::Uuid::new_v4().simple());
    let sandbox = QuietSandbox::start(token.clone()).await?;
    let config = TempConfig::write(&format!(
        "[servers.sandbox-{MODERN}]\nurl = \"{}\"\nprotocol = \"{MODERN}\"\nbearer = \"${{{TOKEN_ENV}}}\"\n",
        sandbox.url
    ))?;
    crate::outln!("  (a sandbox of its own, with protocol = \"{MODERN}\" in its config)");
    let name = format!("sandbox-{MODERN}");
    let mut c = Client::start(Some(&config.file), Some(&name), log, &[(TOKEN_ENV, &token)])?;
    c.initialize().await?;
    c.call_tool("ask_user", &ask_user_args()).await?;
    let status = c.finish().await?;
    let seen = sandbox.stop().await?;
    crate::outln!("  on the wire: {}", wire_summary(&seen));
    if seen
        .iter()
        .filter(|r| r.rpc_method.as_deref() == Some("tools/call"))
        .count()
        > 1
    {
        crate::outln!(
            "  (the server answered the call `input_required`; the bridge asked the client, then retried the call with the answer)"
        );
    }
    crate::outln!("✓ stdin closed; the bridge exited with {status}");
    Ok(())
}

/// What the sandbox received, in one line: the requests, and how many
/// carried the protocol version header and a session id.
fn wire_summary(seen: &[RecordedRequest]) -> String {
    let mut methods: Vec<(String, usize)> = Vec::new();
    for r in seen {
        let what = match (&r.rpc_method, r.http_method.as_str()) {
            (Some(m), "POST") => m.clone(),
            (None, "POST") => "a response".to_string(),
            (_, other) => other.to_string(),
        };
        match methods.iter_mut().find(|(m, _)| *m == what) {
            Some((_, n)) => *n += 1,
            None => methods.push((what, 1)),
        }
    }
    let list: Vec<String> = methods
        .iter()
        .map(|(m, n)| if *n > 1 { format!("{m} ×{n}") } else { m.clone() })
        .collect();
    let versioned = seen
        .iter()
        .filter(|r| r.protocol_version.as_deref() == Some(MODERN))
        .count();
    let sessions = seen.iter().filter(|r| r.session_id.is_some()).count();
    format!(
        "{} requests ({}); {versioned} with MCP-Protocol-Version {MODERN}, {sessions} with a session id",
        seen.len(),
        list.join(", ")
    )
}

/// The second pass's sandbox, on a thread of its own with its log off: the
/// demo shows what it received instead, and the SDK's note that a listen
/// stream ended with the bridge (at its exit) is no news.
struct QuietSandbox {
    url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    seen: tokio::sync::oneshot::Receiver<Vec<RecordedRequest>>,
}

impl QuietSandbox {
    async fn start(token: String) -> Result<QuietSandbox, String> {
        let (url_tx, url_rx) = tokio::sync::oneshot::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (seen_tx, seen) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let _quiet = tracing::dispatcher::set_default(&tracing::Dispatch::none());
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = url_tx.send(Err(format!("cannot start the async runtime: {e}")));
                    return;
                }
            };
            runtime.block_on(async move {
                let options = SandboxOptions {
                    token: Some(token),
                    ..SandboxOptions::default()
                };
                let sandbox = match Sandbox::start(options).await {
                    Ok(sandbox) => sandbox,
                    Err(e) => {
                        let _ = url_tx.send(Err(format!("cannot start a sandbox on 127.0.0.1: {e}")));
                        return;
                    }
                };
                let _ = url_tx.send(Ok(sandbox.url()));
                let _ = stopped.await;
                let _ = seen_tx.send(sandbox.requests());
                sandbox.shutdown().await;
            });
        });
        let url = url_rx.await.map_err(|_| "the sandbox's thread ended")??;
        Ok(QuietSandbox { url, stop, seen })
    }

    /// Stop it; what it received.
    async fn stop(self) -> Result<Vec<RecordedRequest>, String> {
        let _ = self.stop.send(());
        self.seen.await.map_err(|_| "the sandbox's thread ended".to_string())
    }
}

/// The second pass's config, in a directory of its own that is removed
/// when the pass ends. It names the sandbox's token by an environment
/// variable, so it holds no secret.
struct TempConfig {
    dir: PathBuf,
    file: PathBuf,
}

impl TempConfig {
    fn write(text: &str) -> Result<TempConfig, String> {
        let dir = std::env::temp_dir().join(format!("mcp-bridge-demo-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let file = dir.join("config.toml");
        let config = TempConfig { dir, file };
        std::fs::write(&config.file, text).map_err(|e| format!("cannot write {}: {e}", config.file.display()))?;
        Ok(config)
    }
}

impl Drop for TempConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
