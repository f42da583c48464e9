//! Peers in their own processes: [`PeerProcess`] (output drained and kept,
//! killed on drop), the `mcp-bridge sandbox` and server-everything
//! starters, and one-shot peer commands ([`run_for_json`]).

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::ops::{Deref, DerefMut};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{STARTUP_TIMEOUT, bridge_bin, node_exe, node_package_dir, peers_dir};

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
    spawn_sandbox_on(0, None)
}

/// Starts `mcp-bridge sandbox --port PORT` (requiring `token` as its bearer
/// when given): a remote a test can kill and start again on the same port.
/// Returns it with the URL it prints once it listens.
pub fn spawn_sandbox_on(port: u16, token: Option<&str>) -> (PeerProcess, String) {
    let mut cmd = Command::new(bridge_bin());
    cmd.args(["sandbox", "--port", &port.to_string()]);
    if let Some(token) = token {
        cmd.args(["--token", token]);
    }
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
