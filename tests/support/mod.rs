//! Shared helpers for mcp-bridge's integration tests.
//!
//! Use from any `tests/<name>.rs` with `mod support;` (each test crate compiles
//! its own copy, so `env!("CARGO_BIN_EXE_mcp-bridge")` resolves there).
//!
//! * Paths: [`repo_root`], [`bridge_bin`], [`peers_dir`], [`node_bin`],
//!   [`python`], [`node_exe`]. The peer paths **panic** with the install
//!   command when the peers are missing: tests fail, they never skip.
//! * [`write_config`] / [`remote_config`]: a throw-away config file.
//! * [`Bridge`]: `mcp-bridge --config FILE serve NAME` driven over its stdio
//!   (tokio; use from `#[tokio::test]`).
//! * [`spawn_sandbox`], [`spawn_server_everything`]: loopback MCP servers to
//!   point the bridge at, as [`PeerProcess`]es that are killed on drop.
//!
//! Peers are installed by `scripts/install-test-peers.sh` (run by
//! `scripts/test-all.sh` and `.ci/run`).
#![allow(dead_code)] // every test crate uses a different subset

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

/// The command that installs everything under `tests/peers/`.
pub const INSTALL_COMMAND: &str = "scripts/install-test-peers.sh";
/// Protocol version the helpers offer in `initialize`.
pub const PROTOCOL_VERSION: &str = "2025-11-25";
/// Default wait for [`Bridge::request`] and friends.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a peer may take to start listening.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------
// paths
// ---------------------------------------------------------------------------

/// The repository root (the crate's manifest directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `mcp-bridge` binary cargo built for this test run.
pub fn bridge_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mcp-bridge"))
}

fn require_peer(path: PathBuf, what: &str) -> PathBuf {
    if !path.exists() {
        panic!(
            "{what} is missing ({}).\nThe test peers are not installed: run `{INSTALL_COMMAND}` \
             from the repository root ({}), then re-run the tests.",
            path.display(),
            repo_root().display()
        );
    }
    path
}

/// `tests/peers`, after checking that its npm packages are installed.
pub fn peers_dir() -> PathBuf {
    let dir = repo_root().join("tests").join("peers");
    require_peer(dir.join("node_modules"), "tests/peers/node_modules");
    dir
}

/// `tests/peers/node_modules/.bin/<name>` (e.g. `conformance`, `mcp-remote`).
pub fn node_bin(name: &str) -> PathBuf {
    require_peer(
        peers_dir().join("node_modules").join(".bin").join(name),
        &format!("npm peer executable `{name}`"),
    )
}

/// The directory of an installed npm package, e.g.
/// `node_package_dir("@modelcontextprotocol/server-everything")`.
pub fn node_package_dir(package: &str) -> PathBuf {
    require_peer(
        peers_dir().join("node_modules").join(package),
        &format!("npm package `{package}`"),
    )
}

/// `tests/peers/.venv/bin/python` (has the pinned `mcp` Python SDK).
pub fn python() -> PathBuf {
    require_peer(
        repo_root().join("tests/peers/.venv/bin/python"),
        "the Python venv tests/peers/.venv",
    )
}

/// The `node` executable on PATH.
pub fn node_exe() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("node"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("`node` (Node.js >= 20) is not on PATH; install it, then run `{INSTALL_COMMAND}`"))
}

/// A `Command` for the MCP Inspector CLI in `--cli` mode; append the target
/// (a URL, or a server command line with absolute paths) and `--method ...`.
///
/// It runs from `tests/peers/node_modules` on purpose: inspector-cli 1.0.3
/// locates its own package.json relative to the *working directory*
/// (`../package.json`) and fails with "Cannot find module .../package.json"
/// unless the parent of the cwd holds a package.json.
pub fn inspector_cli() -> Command {
    let mut cmd = Command::new(node_bin("mcp-inspector-cli"));
    cmd.arg("--cli").current_dir(peers_dir().join("node_modules"));
    cmd
}

// ---------------------------------------------------------------------------
// config
// ---------------------------------------------------------------------------

/// Writes `toml` to `config.toml` in a fresh temporary directory. Keep the
/// `TempDir` alive as long as the file is needed.
pub fn write_config(toml: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("mcp-bridge-test-")
        .tempdir()
        .expect("create temp dir for config");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, toml).expect("write config");
    (dir, path)
}

/// The minimal config naming one remote server, `[servers.<name>] url = ...`.
pub fn remote_config(name: &str, url: &str) -> String {
    format!("[servers.{name}]\nurl = {}\n", toml_string(url))
}

/// A TOML basic string literal.
pub fn toml_string(value: &str) -> String {
    // JSON string escapes are valid TOML basic-string escapes.
    serde_json::to_string(value).expect("string serializes")
}

// ---------------------------------------------------------------------------
// Bridge: mcp-bridge serve over stdio
// ---------------------------------------------------------------------------

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

    /// Starts `mcp-bridge --config CONFIG serve SERVER` on an existing file.
    pub fn serve_config(config: &Path, server: &str) -> Bridge {
        let mut cmd = Bridge::command();
        cmd.arg("--config").arg(config).arg("serve").arg(server);
        Bridge::spawn(cmd)
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

    /// Asserts that nothing arrives on stdout for `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        if let Some(message) = self.pending.pop_front() {
            panic!("expected no message, have unread {message}{}", self.context());
        }
        match self.read(wait).await {
            Incoming::Timeout => {}
            Incoming::Message(message) => {
                panic!("expected no message, got {message}{}", self.context())
            }
            Incoming::Eof => panic!("expected silence, but stdout closed{}", self.context()),
        }
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

// ---------------------------------------------------------------------------
// PeerProcess: a background server (sandbox, server-everything)
// ---------------------------------------------------------------------------

/// Which output stream a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A child process whose stdout and stderr are drained by background threads
/// (so it never blocks on a full pipe) into [`PeerProcess::output_text`].
/// Killed and reaped on drop; its output is printed if the test panics.
/// Derefs to [`std::process::Child`].
pub struct PeerProcess {
    child: Child,
    name: String,
    output: Arc<Mutex<String>>,
    lines: mpsc::Receiver<(Stream, String)>,
}

impl PeerProcess {
    /// Spawns `cmd` with stdin closed and both output streams captured.
    pub fn spawn(name: &str, mut cmd: Command) -> PeerProcess {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {name} ({cmd:?}): {e}"));
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        drain(stdout, Stream::Stdout, output.clone(), tx.clone());
        drain(stderr, Stream::Stderr, output.clone(), tx);
        PeerProcess {
            child,
            name: name.to_string(),
            output,
            lines,
        }
    }

    /// Everything the process printed so far (both streams, interleaved).
    pub fn output_text(&self) -> String {
        self.output.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Waits for the first not-yet-consumed line on `stream` satisfying
    /// `pred` and returns it. Panics on timeout or when the process closes
    /// both streams (e.g. exits) first.
    pub fn wait_for_line(&mut self, stream: Stream, wait: Duration, mut pred: impl FnMut(&str) -> bool) -> String {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((s, line)) if s == stream && pred(&line) => return line,
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                    "{}: no matching {stream:?} line within {wait:?}\n--- output ---\n{}",
                    self.name,
                    self.output_text()
                ),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().ok();
                    panic!(
                        "{}: closed its output (exit: {status:?}) before printing the expected line\n--- output ---\n{}",
                        self.name,
                        self.output_text()
                    )
                }
            }
        }
    }
}

fn drain(
    stream: impl Read + Send + 'static,
    which: Stream,
    output: Arc<Mutex<String>>,
    tx: mpsc::Sender<(Stream, String)>,
) {
    thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf);
                    let line = line.trim_end_matches(['\n', '\r']).to_string();
                    if let Ok(mut out) = output.lock() {
                        out.push_str(&line);
                        out.push('\n');
                    }
                    // The receiver may be gone (PeerProcess dropped): keep draining.
                    let _ = tx.send((which, line));
                }
            }
        }
    });
}

impl Deref for PeerProcess {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.child
    }
}

impl DerefMut for PeerProcess {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("--- {} output ---\n{}", self.name, self.output_text());
        }
    }
}

/// Polls until `addr` accepts TCP connections; panics after `wait`.
pub fn wait_for_port(addr: SocketAddr, wait: Duration) {
    let deadline = Instant::now() + wait;
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        if Instant::now() >= deadline {
            panic!("{addr} did not accept connections within {wait:?}");
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `mcp-bridge sandbox --port 0` and returns it with the URL it prints
/// as its first stdout line (`http://127.0.0.1:PORT/mcp`).
pub fn spawn_sandbox() -> (PeerProcess, String) {
    let mut cmd = Command::new(bridge_bin());
    cmd.args(["sandbox", "--port", "0"]);
    let mut peer = PeerProcess::spawn("mcp-bridge sandbox", cmd);
    let line = peer.wait_for_line(Stream::Stdout, STARTUP_TIMEOUT, |_| true);
    let url = line.trim().to_string();
    assert!(
        url.starts_with("http://"),
        "mcp-bridge sandbox: first stdout line is not a URL: {line:?}\n--- output ---\n{}",
        peer.output_text()
    );
    (peer, url)
}

/// Marker printed by `tests/peers/loopback-listen.cjs` for each listener.
const LISTEN_MARKER: &str = "MCP_TEST_PEER_LISTENING ";

/// Starts `@modelcontextprotocol/server-everything` in Streamable HTTP mode
/// on a free loopback port and returns it with its endpoint URL
/// (`http://127.0.0.1:PORT/mcp`) once the port accepts connections.
///
/// Launch: `PORT=0 node --require tests/peers/loopback-listen.cjs
/// tests/peers/node_modules/@modelcontextprotocol/server-everything/dist/index.js streamableHttp`.
/// The server itself only reads `PORT` and listens on all interfaces; the
/// preload pins it to 127.0.0.1 and reports the port the OS picked.
pub fn spawn_server_everything() -> (PeerProcess, String) {
    let entry = node_package_dir("@modelcontextprotocol/server-everything")
        .join("dist")
        .join("index.js");
    let preload = peers_dir().join("loopback-listen.cjs");
    let mut cmd = Command::new(node_exe());
    cmd.arg("--require")
        .arg(&preload)
        .arg(&entry)
        .arg("streamableHttp")
        .env("PORT", "0")
        .current_dir(std::env::temp_dir());
    spawn_node_peer("server-everything", cmd)
}

fn spawn_node_peer(name: &str, cmd: Command) -> (PeerProcess, String) {
    let mut peer = PeerProcess::spawn(name, cmd);
    let line = peer.wait_for_line(Stream::Stderr, STARTUP_TIMEOUT, |l| l.starts_with(LISTEN_MARKER));
    let mut parts = line[LISTEN_MARKER.len()..].split_whitespace();
    let (host, port) = match (parts.next(), parts.next().and_then(|p| p.parse::<u16>().ok())) {
        (Some(host), Some(port)) => (host.to_string(), port),
        _ => panic!("{name}: cannot parse listen marker {line:?}"),
    };
    assert_eq!(host, "127.0.0.1", "{name} must listen on loopback only");
    wait_for_port(SocketAddr::from(([127, 0, 0, 1], port)), STARTUP_TIMEOUT);
    (peer, format!("http://127.0.0.1:{port}/mcp"))
}

/// Runs a peer command to completion (bounded by `wait`), asserts it
/// succeeded, and returns its stdout parsed as JSON. `what` names it in
/// failure messages.
pub async fn run_for_json(mut cmd: tokio::process::Command, wait: Duration, what: &str) -> Value {
    cmd.kill_on_drop(true);
    let out = tokio::time::timeout(wait, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{what} timed out after {wait:?}"))
        .unwrap_or_else(|e| panic!("run {what}: {e}"));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{stderr}\n{stdout}",
        out.status
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{what} output is not JSON ({e}):\n{stdout}\n{stderr}"))
}

/// Every `checks.json` the conformance suite wrote below `dir`.
pub fn conformance_checks(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(conformance_checks(&path));
        } else if path.file_name().is_some_and(|n| n == "checks.json") {
            found.push(path);
        }
    }
    found
}

/// Environment naming a proxy that does not exist (anything sent through it
/// fails), with nothing exempted by `NO_PROXY`.
pub const DEAD_PROXY_ENV: [(&str, &str); 6] = [
    ("HTTP_PROXY", "http://127.0.0.1:9"),
    ("http_proxy", "http://127.0.0.1:9"),
    ("HTTPS_PROXY", "http://127.0.0.1:9"),
    ("ALL_PROXY", "http://127.0.0.1:9"),
    ("NO_PROXY", ""),
    ("no_proxy", ""),
];
