//! The relay bench's clients: a minimal Streamable HTTP client (`direct`,
//! no bridge at all) and a child process spoken to as a stdio MCP server
//! (the bridge, mcp-remote, the stdio floor).

use super::{CALL_TIMEOUT, EXIT_GRACE, PROTOCOL_VERSION, Res, init_params};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
/// A minimal Streamable HTTP client: one pooled reqwest client with
/// TCP_NODELAY (without it a pooled loopback client pays ~40 ms of delayed
/// ACK per call), the session id from `initialize`, SSE or JSON answers.
pub struct HttpClient {
    http: reqwest::Client,
    url: String,
    session: Option<String>,
    next_id: AtomicU64,
}

impl HttpClient {
    /// A client of `url` (trusting `root` too, for a TLS front), with its
    /// session open.
    pub async fn connect(url: &str, root: Option<&reqwest::Certificate>) -> Res<HttpClient> {
        let mut http = reqwest::Client::builder();
        if let Some(root) = root {
            http = http.add_root_certificate(root.clone());
        }
        let http = http
            .tcp_nodelay(true)
            .no_proxy()
            .pool_idle_timeout(Duration::from_secs(90))
            .timeout(CALL_TIMEOUT)
            .build()?;
        let mut client = HttpClient {
            http,
            url: url.to_string(),
            session: None,
            next_id: AtomicU64::new(1),
        };
        let (session, response) = client.post(&rpc(0, "initialize", init_params())).await?;
        let response = response.ok_or("initialize got no answer")?;
        if response.get("result").is_none() {
            return Err(format!("initialize failed: {response}").into());
        }
        client.session = Some(session.ok_or("initialize answer carries no Mcp-Session-Id")?);
        Ok(client)
    }

    pub async fn initialized(&self) -> Res<()> {
        self.post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await?;
        Ok(())
    }

    pub async fn request(&self, method: &str, params: Value) -> Res<Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (_, response) = self.post(&rpc(id, method, params)).await?;
        response.ok_or_else(|| format!("{method}: no answer").into())
    }

    /// POSTs one message; returns the session id header and the response
    /// whose id matches (None for a 202 to a notification).
    async fn post(&self, message: &Value) -> Res<(Option<String>, Option<Value>)> {
        let mut req = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(serde_json::to_vec(message)?);
        if let Some(session) = &self.session {
            req = req
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", PROTOCOL_VERSION);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let session = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let sse = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("text/event-stream"));
        // The sandbox ends a request's SSE stream right after the answer, so
        // reading to the end keeps the pooled connection reusable.
        let body = resp.bytes().await?;
        if !status.is_success() {
            return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)).into());
        }
        let Some(id) = message.get("id") else {
            return Ok((session, None));
        };
        let found = if sse {
            sse_messages(&body)
                .into_iter()
                .find(|m| m.get("id") == Some(id) && m.get("method").is_none())
        } else if body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            Some(serde_json::from_slice::<Value>(&body)?)
        };
        Ok((session, found))
    }

    pub async fn close(self) {
        if let Some(session) = &self.session {
            let _ = self
                .http
                .delete(&self.url)
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", PROTOCOL_VERSION)
                .send()
                .await;
        }
    }
}

pub fn rpc(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// The JSON messages in an SSE body (`data:` lines of each event).
fn sse_messages(body: &[u8]) -> Vec<Value> {
    let text = String::from_utf8_lossy(body);
    let mut out = Vec::new();
    let mut data = String::new();
    let mut flush = |data: &mut String| {
        if !data.trim().is_empty()
            && let Ok(v) = serde_json::from_str::<Value>(data)
        {
            out.push(v);
        }
        data.clear();
    };
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            flush(&mut data);
        } else if let Some(rest) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(rest.strip_prefix(' ').unwrap_or(rest));
        }
    }
    flush(&mut data);
    out
}

type Pending = Arc<std::sync::Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// A child process spoken to as a stdio MCP server: newline-delimited
/// JSON-RPC on its stdin/stdout; answers are matched to callers by id, so
/// many requests can be in flight.
pub struct StdioClient {
    pub child: Child,
    stdin: tokio::sync::Mutex<Option<ChildStdin>>,
    pending: Pending,
    next_id: AtomicU64,
    reader: JoinHandle<()>,
    stderr_path: PathBuf,
}

impl StdioClient {
    pub fn spawn(mut cmd: Command, stderr_path: PathBuf) -> Res<StdioClient> {
        let stderr = std::fs::File::create(&stderr_path)?;
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", cmd.as_std().get_program()))?;
        let stdin = child.stdin.take().ok_or("no stdin pipe")?;
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let pending: Pending = Arc::default();
        let reader_pending = pending.clone();
        let reader = tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(message) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if message.get("method").is_some() {
                    continue; // notifications and server→client requests: none expected
                }
                let Some(id) = message.get("id").and_then(Value::as_u64) else {
                    continue;
                };
                let waiter = reader_pending.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                if let Some(tx) = waiter {
                    let _ = tx.send(message);
                }
            }
            // EOF: drop every waiter so callers fail instead of hanging.
            reader_pending.lock().unwrap_or_else(|e| e.into_inner()).clear();
        });
        Ok(StdioClient {
            child,
            stdin: tokio::sync::Mutex::new(Some(stdin)),
            pending,
            next_id: AtomicU64::new(1),
            reader,
            stderr_path,
        })
    }

    pub async fn send(&self, message: &Value) -> Res<()> {
        let mut line = serde_json::to_vec(message)?;
        line.push(b'\n');
        let mut stdin = self.stdin.lock().await;
        let pipe = stdin.as_mut().ok_or("stdin already closed")?;
        pipe.write_all(&line).await?;
        pipe.flush().await?;
        Ok(())
    }

    pub async fn notify(&self, method: &str) -> Res<()> {
        self.send(&json!({"jsonrpc": "2.0", "method": method})).await
    }

    pub async fn request(&self, method: &str, params: Value) -> Res<Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).insert(id, tx);
        if let Err(e) = self.send(&rpc(id, method, params)).await {
            self.pending.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
            return Err(e);
        }
        rx.await
            .map_err(|_| format!("{method}: the process closed stdout without answering").into())
    }

    pub fn stderr_tail(&self) -> String {
        let text = std::fs::read(&self.stderr_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Closes stdin (a stdio server's cue to exit); kills the child if it is
    /// still running after a grace period.
    pub async fn close(mut self) {
        drop(self.stdin.lock().await.take());
        if tokio::time::timeout(EXIT_GRACE, self.child.wait()).await.is_err() {
            let _ = self.child.start_kill();
            let _ = self.child.wait().await;
        }
        self.reader.abort();
    }
}
