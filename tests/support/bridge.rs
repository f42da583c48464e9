//! [`Bridge`]: `mcp-bridge serve` driven over its stdio as a desktop MCP
//! client would, with [`Bridge::fence`] to show that nothing reached the
//! client before a given point.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

use super::{DEFAULT_TIMEOUT, PROTOCOL_VERSION, bridge_bin, write_config};

/// A running `mcp-bridge` driven over stdin/stdout, as a desktop MCP client
/// would. Stderr goes to a file ([`Bridge::stderr_text`]) that is printed if
/// the test panics. The process is killed on drop.
///
/// Incoming messages that a call did not ask for (notifications,
/// server→client requests, other responses) are kept in arrival order: see
/// [`Bridge::next_other`] and [`Bridge::recv_timeout`].
pub struct Bridge {
    child: tokio::process::Child,
    stdin: Option<tokio::process::ChildStdin>,
    stdout: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    stdout_eof: bool,
    stderr_path: PathBuf,
    pending: VecDeque<Value>,
    next_id: i64,
    /// Wait used by [`Bridge::request`], [`Bridge::initialize`], ...
    pub timeout: Duration,
    _dirs: Vec<TempDir>,
}

enum Incoming {
    Message(Value),
    Timeout,
    Eof,
}

impl Bridge {
    /// Writes `config_toml` to a temp file and starts
    /// `mcp-bridge --config FILE serve SERVER`.
    pub fn serve(config_toml: &str, server: &str) -> Bridge {
        let (dir, config) = write_config(config_toml);
        let mut bridge = Bridge::serve_config(&config, server);
        bridge._dirs.push(dir);
        bridge
    }

    /// `serve SERVER` on `config_toml` with a token store of its own (a
    /// fresh `MCP_BRIDGE_DATA_DIR`) and the environment variables `vars`.
    pub fn serve_isolated(config_toml: &str, server: &str, vars: &[(&str, &std::ffi::OsStr)]) -> Bridge {
        let data = tempfile::tempdir().expect("create the data dir");
        let (dir, config) = write_config(config_toml);
        let mut cmd = Bridge::serve_command(&config, server);
        cmd.env("MCP_BRIDGE_DATA_DIR", data.path());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let mut bridge = Bridge::spawn(cmd);
        bridge._dirs.extend([dir, data]);
        bridge
    }

    /// `mcp-bridge serve remote` with `data` as its data dir (the list
    /// cache's tests: each start of one story shares it).
    pub fn serve_remote_with_data(config: &Path, data: &Path) -> Bridge {
        let mut cmd = Bridge::serve_command(config, "remote");
        cmd.env("MCP_BRIDGE_DATA_DIR", data).env("RUST_LOG", "mcp_bridge=debug");
        Bridge::spawn(cmd)
    }

    /// Starts `mcp-bridge --config CONFIG serve SERVER` on an existing file.
    pub fn serve_config(config: &Path, server: &str) -> Bridge {
        Bridge::spawn(Bridge::serve_command(config, server))
    }

    /// `mcp-bridge --config CONFIG serve SERVER`, not yet started.
    fn serve_command(config: &Path, server: &str) -> tokio::process::Command {
        let mut cmd = Bridge::command();
        cmd.arg("--config").arg(config).arg("serve").arg(server);
        cmd
    }

    /// A `tokio::process::Command` for the bridge binary, for callers that
    /// need other arguments or environment; start it with [`Bridge::spawn`].
    pub fn command() -> tokio::process::Command {
        tokio::process::Command::new(bridge_bin())
    }

    /// Starts `cmd` with piped stdin/stdout and stderr captured to a file.
    pub fn spawn(mut cmd: tokio::process::Command) -> Bridge {
        let dir = tempfile::Builder::new()
            .prefix("mcp-bridge-stderr-")
            .tempdir()
            .expect("create temp dir for stderr");
        let stderr_path = dir.path().join("stderr.log");
        // A data dir of its own (token store, era memory, list cache), unless
        // the test names one: nothing kept by another test's bridge (or the
        // person's own) answers this one.
        if !cmd.as_std().get_envs().any(|(k, _)| k == "MCP_BRIDGE_DATA_DIR") {
            cmd.env("MCP_BRIDGE_DATA_DIR", dir.path().join("data"));
        }
        let stderr_file = std::fs::File::create(&stderr_path).expect("create stderr log");
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr_file))
            .kill_on_drop(true);
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {:?}: {e}", cmd.as_std()));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        Bridge {
            child,
            stdin,
            stdout: tokio::io::BufReader::new(stdout).lines(),
            stdout_eof: false,
            stderr_path,
            pending: VecDeque::new(),
            next_id: 0,
            timeout: DEFAULT_TIMEOUT,
            _dirs: vec![dir],
        }
    }

    /// Keeps `dir` alive as long as the bridge (e.g. a config's directory).
    pub fn keep(&mut self, dir: TempDir) {
        self._dirs.push(dir);
    }

    /// The child's process id (None once it has been reaped).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Everything the bridge wrote to stderr so far.
    pub fn stderr_text(&self) -> String {
        std::fs::read(&self.stderr_path)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    fn context(&self) -> String {
        format!(
            "\n--- mcp-bridge stderr ---\n{}\n--- unread messages ---\n{:#?}",
            self.stderr_text(),
            self.pending
        )
    }

    // ----------------------------------------------------------- sending

    /// Sends one JSON-RPC message as a line.
    pub async fn send(&mut self, message: &Value) {
        let line = serde_json::to_string(message).expect("message serializes");
        self.send_bytes(format!("{line}\n").as_bytes()).await;
    }

    /// Sends `text` verbatim, plus a newline unless it already ends with one.
    pub async fn send_raw(&mut self, text: &str) {
        if text.ends_with('\n') {
            self.send_bytes(text.as_bytes()).await;
        } else {
            self.send_bytes(format!("{text}\n").as_bytes()).await;
        }
    }

    /// Writes exactly `bytes` to the bridge's stdin.
    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        let context = self.context();
        let stdin = self
            .stdin
            .as_mut()
            .unwrap_or_else(|| panic!("stdin already closed{context}"));
        if let Err(e) = async {
            stdin.write_all(bytes).await?;
            stdin.flush().await
        }
        .await
        {
            panic!("writing to mcp-bridge stdin failed: {e}{}", self.context());
        }
    }

    /// Sends a notification (`params` omitted when `Value::Null`).
    pub async fn notify(&mut self, method: &str, params: Value) {
        let mut message = json!({"jsonrpc": "2.0", "method": method});
        if !params.is_null() {
            message["params"] = params;
        }
        self.send(&message).await;
    }

    /// Answers a server→client request with a result.
    pub async fn respond(&mut self, id: &Value, result: Value) {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "result": result})).await;
    }

    /// Answers a server→client request with an error.
    pub async fn respond_error(&mut self, id: &Value, code: i64, message: &str) {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}))
            .await;
    }

    /// Closes the bridge's stdin (the client going away).
    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    // --------------------------------------------------------- receiving

    async fn read(&mut self, wait: Duration) -> Incoming {
        if self.stdout_eof {
            return Incoming::Eof;
        }
        match tokio::time::timeout(wait, self.stdout.next_line()).await {
            Err(_) => Incoming::Timeout,
            Ok(Err(e)) => panic!("reading mcp-bridge stdout failed: {e}{}", self.context()),
            Ok(Ok(None)) => {
                self.stdout_eof = true;
                Incoming::Eof
            }
            Ok(Ok(Some(line))) => match serde_json::from_str::<Value>(&line) {
                Ok(value) => Incoming::Message(value),
                Err(e) => panic!(
                    "mcp-bridge wrote a stdout line that is not JSON ({e}): {line:?}{}",
                    self.context()
                ),
            },
        }
    }

    /// The next stdout line, unparsed (ignores and keeps unread messages).
    pub async fn recv_line_timeout(&mut self, wait: Duration) -> String {
        match tokio::time::timeout(wait, self.stdout.next_line()).await {
            Err(_) => panic!("no stdout line within {wait:?}{}", self.context()),
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => {
                self.stdout_eof = true;
                panic!("mcp-bridge closed stdout{}", self.context())
            }
            Ok(Err(e)) => panic!("reading mcp-bridge stdout failed: {e}{}", self.context()),
        }
    }

    /// The next message: the oldest unread one, else the next stdout line
    /// parsed as JSON. Panics on timeout, EOF or a non-JSON line.
    pub async fn recv_timeout(&mut self, wait: Duration) -> Value {
        match self.try_recv_timeout(wait).await {
            Some(message) => message,
            None => panic!("no message from mcp-bridge within {wait:?}{}", self.context()),
        }
    }

    /// Like [`Bridge::recv_timeout`] but `None` on timeout (still panics on EOF).
    pub async fn try_recv_timeout(&mut self, wait: Duration) -> Option<Value> {
        if let Some(message) = self.pending.pop_front() {
            return Some(message);
        }
        match self.read(wait).await {
            Incoming::Message(message) => Some(message),
            Incoming::Timeout => None,
            Incoming::Eof => panic!(
                "mcp-bridge closed stdout (exit: {:?}){}",
                self.child.try_wait().ok().flatten(),
                self.context()
            ),
        }
    }

    /// Sends a `ping` and returns every message that reached the client
    /// before its answer (unread ones first), oldest first. The bridge reads
    /// stdin in order, and a single server's bridge sends the ping to the
    /// remote and back (a bundle answers it itself), so what the bridge does
    /// at once about an earlier line (answer a call the client cancelled,
    /// say) reaches stdout before the ping's answer: an empty fence shows
    /// that nothing came, without waiting a fixed time. What may come later
    /// needs its own signal first (a twin call answered, an exchange ended)
    /// or [`Bridge::close_and_read_rest`].
    pub async fn fence(&mut self) -> Vec<Value> {
        let id = json!(format!("fence-{}", self.next_id().as_i64().unwrap_or_default()));
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": "ping"})).await;
        let mut before: Vec<Value> = self.pending.drain(..).collect();
        if let Some(at) = before.iter().position(|m| Self::is_response_to(m, &id)) {
            before.truncate(at);
            return before;
        }
        loop {
            match self.read(DEFAULT_TIMEOUT).await {
                Incoming::Message(message) if Self::is_response_to(&message, &id) => return before,
                Incoming::Message(message) => before.push(message),
                Incoming::Timeout => panic!("no answer to the fence's ping {id}{}", self.context()),
                Incoming::Eof => panic!(
                    "mcp-bridge closed stdout before the fence's ping {id}{}",
                    self.context()
                ),
            }
        }
    }

    /// Closes stdin (the client going away) and returns every message the
    /// bridge writes until it closes stdout (unread ones first): everything
    /// the client got in the rest of the session, with no window to choose.
    pub async fn close_and_read_rest(&mut self) -> Vec<Value> {
        self.close_stdin();
        let mut rest: Vec<Value> = self.pending.drain(..).collect();
        loop {
            match self.read(DEFAULT_TIMEOUT).await {
                Incoming::Message(message) => rest.push(message),
                Incoming::Eof => return rest,
                Incoming::Timeout => panic!(
                    "stdout still open {DEFAULT_TIMEOUT:?} after stdin closed; read so far: {rest:#?}{}",
                    self.context()
                ),
            }
        }
    }

    /// The answers (results or errors) to `id` among `messages`.
    pub fn answers_to<'a>(messages: &'a [Value], id: &Value) -> Vec<&'a Value> {
        messages.iter().filter(|m| Self::is_response_to(m, id)).collect()
    }

    /// Waits until the bridge closes stdout; panics if a message arrives first.
    pub async fn expect_eof(&mut self, wait: Duration) {
        if let Some(message) = self.pending.pop_front() {
            panic!("expected EOF, have unread {message}{}", self.context());
        }
        match self.read(wait).await {
            Incoming::Eof => {}
            Incoming::Timeout => panic!("stdout still open after {wait:?}{}", self.context()),
            Incoming::Message(message) => panic!("expected EOF, got {message}{}", self.context()),
        }
    }

    fn is_response_to(message: &Value, id: &Value) -> bool {
        message.get("method").is_none()
            && message.get("id") == Some(id)
            && (message.get("result").is_some() || message.get("error").is_some())
    }

    /// Waits for the response (result or error) with `id`, keeping every
    /// other message for [`Bridge::next_other`] / [`Bridge::recv_timeout`].
    pub async fn wait_response(&mut self, id: &Value, wait: Duration) -> Value {
        if let Some(pos) = self.pending.iter().position(|m| Self::is_response_to(m, id)) {
            return self.pending.remove(pos).expect("position is valid");
        }
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!("no response to id {id} within {wait:?}{}", self.context());
            }
            match self.read(left).await {
                Incoming::Message(message) if Self::is_response_to(&message, id) => return message,
                Incoming::Message(message) => self.pending.push_back(message),
                Incoming::Timeout => {
                    panic!("no response to id {id} within {wait:?}{}", self.context())
                }
                Incoming::Eof => panic!(
                    "mcp-bridge closed stdout while waiting for id {id} (exit: {:?}){}",
                    self.child.try_wait().ok().flatten(),
                    self.context()
                ),
            }
        }
    }

    /// A fresh request id (1, 2, 3, ...).
    pub fn next_id(&mut self) -> Value {
        self.next_id += 1;
        json!(self.next_id)
    }

    /// Sends a request with a fresh id (`params` omitted when `Value::Null`)
    /// and returns the whole response message (`result` or `error`).
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id();
        let mut message = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if !params.is_null() {
            message["params"] = params;
        }
        self.send(&message).await;
        let wait = self.timeout;
        self.wait_response(&id, wait).await
    }

    /// [`Bridge::request`], returning `result` and panicking on an error.
    pub async fn request_ok(&mut self, method: &str, params: Value) -> Value {
        let response = self.request(method, params).await;
        match response.get("result") {
            Some(result) => result.clone(),
            None => panic!("{method} failed: {response}{}", self.context()),
        }
    }

    /// `initialize` (protocol [`PROTOCOL_VERSION`], the given client
    /// capabilities) then `notifications/initialized`; returns the
    /// initialize `result` (panics if the bridge answered with an error).
    /// Sends `initialize` (no capabilities) and returns the answer as it
    /// came, an error included: for a bridge that is expected to refuse.
    pub async fn initialize_answer(&mut self) -> Value {
        self.request(
            "initialize",
            json!({
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "mcp-bridge-tests", "version": "0.0.0"}
            }),
        )
        .await
    }

    pub async fn initialize(&mut self, capabilities: Value) -> Value {
        let result = self
            .request_ok(
                "initialize",
                json!({
                    "protocolVersion": PROTOCOL_VERSION,
                    "capabilities": capabilities,
                    "clientInfo": {"name": "mcp-bridge-tests", "version": "0.0.0"}
                }),
            )
            .await;
        self.notify("notifications/initialized", Value::Null).await;
        result
    }

    /// The oldest unread message that is not a response (a notification or
    /// a server→client request), without waiting.
    pub fn next_other(&mut self) -> Option<Value> {
        let pos = self.pending.iter().position(|m| m.get("method").is_some())?;
        self.pending.remove(pos)
    }

    /// Like [`Bridge::next_other`] but reads stdout for up to `wait`
    /// (keeping responses that arrive meanwhile). Panics on timeout.
    pub async fn next_other_timeout(&mut self, wait: Duration) -> Value {
        if let Some(message) = self.next_other() {
            return message;
        }
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.read(left).await {
                Incoming::Message(message) if message.get("method").is_some() => return message,
                Incoming::Message(message) => self.pending.push_back(message),
                Incoming::Timeout => panic!(
                    "no notification/request from mcp-bridge within {wait:?}{}",
                    self.context()
                ),
                Incoming::Eof => panic!("mcp-bridge closed stdout{}", self.context()),
            }
        }
    }

    /// Unread messages, oldest first (responses included).
    pub fn unread(&self) -> &VecDeque<Value> {
        &self.pending
    }

    // ----------------------------------------------------------- process

    /// Waits for the bridge to exit; panics after `wait`.
    pub async fn wait_exit(&mut self, wait: Duration) -> ExitStatus {
        match tokio::time::timeout(wait, self.child.wait()).await {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => panic!("waiting for mcp-bridge failed: {e}{}", self.context()),
            Err(_) => panic!("mcp-bridge did not exit within {wait:?}{}", self.context()),
        }
    }

    /// The exit status if the bridge has exited.
    pub fn try_exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    /// Kills the bridge now (also done on drop).
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if thread::panicking() {
            eprintln!(
                "--- mcp-bridge stderr ({}) ---\n{}",
                self.stderr_path.display(),
                self.stderr_text()
            );
        }
    }
}
