//! `LocalClient`: a client of the bridge's own relay, in this process, for
//! `doctor`, `tools` and `call`. It runs `serve`'s relay for one configured
//! server (`serve::relay_prepared`, or the bundle's) on an in-memory pipe,
//! and speaks to it line by line exactly as a desktop client speaks to
//! `mcp-bridge serve` over stdio.

use super::CliError;
use super::serve::relay_prepared;
use crate::provider::Prepared;
use crate::redact::Redactor;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines};
use tokio::task::JoinHandle;

/// The protocol revision offered in `initialize`.
const PROTOCOL_VERSION: &str = "2025-11-25";
/// Room in each direction of the in-memory pipe.
const PIPE: usize = 1 << 20;

pub struct LocalClient {
    input: Option<DuplexStream>,
    lines: Lines<BufReader<DuplexStream>>,
    relay: JoinHandle<Result<(), CliError>>,
    next_id: u64,
    /// Longest wait for one answer.
    pub wait: Duration,
    pub redactor: Redactor,
}

/// Why a request got no result.
pub enum Failure {
    /// The server (or the bridge on its behalf) answered with a JSON-RPC error.
    Rpc { code: i64, message: String },
    /// No answer: the relay stopped or the wait ran out.
    Broken(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Rpc { code, message } => {
                // Said by the command already; the bridge's own errors start so for the client.
                let message = message.strip_prefix("mcp-bridge: ").unwrap_or(message);
                write!(f, "{message} (JSON-RPC error {code})")
            }
            Failure::Broken(why) => f.write_str(why),
        }
    }
}

impl LocalClient {
    /// Start the relay for a prepared server.
    pub fn start(prepared: Prepared, redactor: Redactor, wait: Duration) -> LocalClient {
        let r = redactor.clone();
        Self::with_relay(redactor, wait, |input, output| async move {
            relay_prepared(prepared, &r, input, output).await
        })
    }

    /// Start a bundle's relay for its prepared servers.
    pub fn start_bundle(prepared: Vec<(String, Prepared)>, redactor: Redactor, wait: Duration) -> LocalClient {
        let r = redactor.clone();
        Self::with_relay(redactor, wait, |input, output| async move {
            crate::bundle::relay_prepared(prepared, &r, input, output)
                .await
                .map_err(CliError::Failed)
        })
    }

    fn with_relay<F, Fut>(redactor: Redactor, wait: Duration, relay: F) -> LocalClient
    where
        F: FnOnce(DuplexStream, DuplexStream) -> Fut,
        Fut: Future<Output = Result<(), CliError>> + Send + 'static,
    {
        let (client_in, relay_in) = tokio::io::duplex(PIPE);
        let (relay_out, client_out) = tokio::io::duplex(PIPE);
        let relay = tokio::spawn(relay(relay_in, relay_out));
        LocalClient {
            input: Some(client_in),
            lines: BufReader::new(client_out).lines(),
            relay,
            next_id: 0,
            wait,
            redactor,
        }
    }

    /// `initialize` then `notifications/initialized`; returns the server's result.
    pub async fn initialize(&mut self) -> Result<Value, Failure> {
        let params = json!({
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "mcp-bridge-cli", "version": env!("CARGO_PKG_VERSION")},
        });
        let result = self.request("initialize", params).await?;
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await?;
        Ok(result)
    }

    /// Every tool, following `nextCursor` through the pages.
    pub async fn list_tools(&mut self) -> Result<Vec<Value>, Failure> {
        let mut tools = Vec::new();
        let mut cursor: Option<Value> = None;
        loop {
            let params = match &cursor {
                Some(c) => json!({"cursor": c}),
                None => json!({}),
            };
            let page = self.request("tools/list", params).await?;
            tools.extend(page["tools"].as_array().cloned().unwrap_or_default());
            match page.get("nextCursor").filter(|c| !c.is_null()) {
                Some(c) if cursor.as_ref() != Some(c) => cursor = Some(c.clone()),
                _ => return Ok(tools),
            }
        }
    }

    async fn send(&mut self, msg: &Value) -> Result<(), Failure> {
        let input = self
            .input
            .as_mut()
            .ok_or_else(|| Failure::Broken("the session is closed".into()))?;
        let line = format!("{msg}\n");
        input
            .write_all(line.as_bytes())
            .await
            .map_err(|e| Failure::Broken(format!("the relay stopped reading: {e}")))
    }

    /// Send a request and wait for its answer, answering what the server
    /// asks meanwhile and showing its progress on stderr.
    pub async fn request(&mut self, method: &str, params: Value) -> Result<Value, Failure> {
        self.next_id += 1;
        let id = json!(self.next_id);
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await?;
        let deadline = Instant::now() + self.wait;
        loop {
            let line = tokio::time::timeout_at(deadline.into(), self.lines.next_line())
                .await
                .map_err(|_| Failure::Broken(format!("no answer to {method} within {:?}", self.wait)))?
                .map_err(|e| Failure::Broken(format!("the relay's output failed: {e}")))?
                .ok_or_else(|| Failure::Broken("the relay stopped".into()))?;
            let Ok(msg) = serde_json::from_str::<Value>(&line) else {
                return Err(Failure::Broken("the relay wrote a line that is not JSON".into()));
            };
            if msg.get("id") == Some(&id) && msg.get("method").is_none() {
                if let Some(err) = msg.get("error") {
                    return Err(Failure::Rpc {
                        code: err["code"].as_i64().unwrap_or(0),
                        message: self.redactor.apply(err["message"].as_str().unwrap_or("(no message)")),
                    });
                }
                return Ok(msg.get("result").cloned().unwrap_or(Value::Null));
            }
            self.on_server_message(msg).await?;
        }
    }

    /// A request or notification from the server: a person at a terminal
    /// cannot answer questions here, so requests get a refusal.
    async fn on_server_message(&mut self, msg: Value) -> Result<(), Failure> {
        let method = msg["method"].as_str().unwrap_or_default().to_string();
        if msg.get("id").is_none() {
            let p = &msg["params"];
            match method.as_str() {
                "notifications/progress" => eprintln!(
                    "  progress {}{} {}",
                    p["progress"],
                    p.get("total").map(|t| format!("/{t}")).unwrap_or_default(),
                    p["message"].as_str().unwrap_or("")
                ),
                "notifications/message" => eprintln!("  server log: {}", self.redactor.apply(&p["data"].to_string())),
                _ => tracing::debug!("server sent {method}"),
            }
            return Ok(());
        }
        let id = msg["id"].clone();
        let reply = match method.as_str() {
            "ping" => json!({"jsonrpc": "2.0", "id": id, "result": {}}),
            "roots/list" => json!({"jsonrpc": "2.0", "id": id, "result": {"roots": []}}),
            "elicitation/create" => {
                eprintln!(
                    "  the server asks: {} (declined: answer it from a desktop client)",
                    msg["params"]["message"].as_str().unwrap_or("")
                );
                json!({"jsonrpc": "2.0", "id": id, "result": {"action": "decline"}})
            }
            _ => json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601,
                        "message": format!("mcp-bridge's command line does not support {method}")}}),
        };
        self.send(&reply).await
    }

    /// Close the client side and let the relay finish (ending the remote
    /// session); gives up on it after a few seconds.
    pub async fn close(mut self) {
        drop(self.input.take());
        let mut relay = self.relay;
        if tokio::time::timeout(Duration::from_secs(3), &mut relay).await.is_err() {
            relay.abort();
        }
    }
}
