//! What stdin and stdout can be. Desktop clients connect a stdio server
//! through pipes (Python, tokio) or a socket pair (Node's libuv); a shell
//! may give it a file, or one pipe for both stdout and stderr. The bridge
//! polls pipes and sockets directly in non-blocking mode and keeps tokio's
//! blocking stdio for the rest; every kind must relay the same answers,
//! including many calls in flight and a result far larger than the pipe's
//! buffer (so writes to a full stdout must wait, not fail or be cut).
//! The non-blocking mode is read from `/proc/<pid>/fdinfo`. (Logging into
//! the pipe that carries stdout would cut into long lines whatever mode it
//! is in, so that test logs nothing.)
#![cfg(target_os = "linux")]

mod support;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::{bridge_bin, sandbox, toml_string, write_config};

const O_NONBLOCK: u32 = 0o4000;

/// The answers read, by id (as JSON text).
type Answers = std::collections::HashMap<String, Value>;
const BIG: usize = 3 << 20;
const IN_FLIGHT: usize = 64;

fn line(msg: &Value) -> Vec<u8> {
    let mut l = serde_json::to_vec(msg).unwrap();
    l.push(b'\n');
    l
}

fn init() -> Value {
    json!({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "relay-stdio-test", "version": "1"}}})
}

fn initialized() -> Value {
    json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
}

fn echo(i: usize) -> Value {
    json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
        "params": {"name": "slow_echo", "arguments": {"text": format!("echo {i}"), "delay_ms": (i % 7) * 3}}})
}

fn big() -> Value {
    json!({"jsonrpc": "2.0", "id": "big", "method": "tools/call",
        "params": {"name": "big_result", "arguments": {"bytes": BIG}}})
}

/// The open-file flags of the child's `fd`, from procfs.
fn fd_flags(child: &Child, fd: u32) -> u32 {
    let info = std::fs::read_to_string(format!("/proc/{}/fdinfo/{fd}", child.id())).expect("read fdinfo");
    let flags = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .expect("flags line in fdinfo");
    u32::from_str_radix(flags.trim(), 8).expect("octal flags")
}

/// Reads JSON lines until every id in `want` is answered; other lines
/// (log lines when stdout is shared with stderr, notifications) are skipped.
/// Checks each answer and returns them by id.
fn read_answers(out: impl std::io::Read, want: &[Value]) -> Answers {
    let mut reader = BufReader::new(out);
    let mut got = std::collections::HashMap::new();
    let mut buf = Vec::new();
    while got.len() < want.len() {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).expect("read stdout");
        assert!(n > 0, "stdout closed with {} of {} answers", got.len(), want.len());
        // stdout is the protocol: every line on it must be a JSON-RPC message.
        let msg: Value = serde_json::from_slice(&buf).unwrap_or_else(|e| {
            let shown = String::from_utf8_lossy(&buf[..buf.len().min(200)]).into_owned();
            panic!("stdout carried a line that is not JSON ({e}): {shown:?}")
        });
        if let Some(id) = msg.get("id").filter(|_| msg.get("method").is_none()) {
            assert!(want.contains(id), "unexpected answer {msg}");
            got.insert(id.to_string(), msg);
        }
    }
    for (id, msg) in &got {
        assert!(msg.get("result").is_some(), "{id} failed: {msg}");
    }
    got
}

fn check_calls(got: &Answers) {
    for i in 0..IN_FLIGHT {
        let text = &got[&i.to_string()]["result"]["content"][0]["text"];
        assert_eq!(
            text.as_str().map(|t| t.contains(&format!("echo {i}"))),
            Some(true),
            "call {i}: {text}"
        );
    }
    let big = got["\"big\""]["result"]["content"][0]["text"]
        .as_str()
        .expect("big text");
    assert_eq!(big.len(), BIG);
    assert!(big.bytes().all(|b| b == b'x'));
}

fn all_ids() -> Vec<Value> {
    let mut ids: Vec<Value> = (0..IN_FLIGHT).map(|i| json!(i)).collect();
    ids.push(json!("big"));
    ids
}

/// The initialize exchange, then every call and the big result at once.
fn exchange(input: impl Write, output: impl std::io::Read) -> Answers {
    exchange_with(input, output, echo)
}

/// `exchange`, with the calls `call` makes.
fn exchange_with(mut input: impl Write, output: impl std::io::Read, call: fn(usize) -> Value) -> Answers {
    let mut output = BufReader::new(output);
    input.write_all(&line(&init())).unwrap();
    input.flush().unwrap();
    let mut first = Vec::new();
    loop {
        first.clear();
        assert!(
            output.read_until(b'\n', &mut first).unwrap() > 0,
            "no initialize answer"
        );
        if serde_json::from_slice::<Value>(&first).is_ok_and(|m| m["id"] == "init") {
            break;
        }
    }
    input.write_all(&line(&initialized())).unwrap();
    input.write_all(&line(&big())).unwrap();
    for i in 0..IN_FLIGHT {
        input.write_all(&line(&call(i))).unwrap();
    }
    input.flush().unwrap();
    read_answers(output, &all_ids())
}

/// Runs `talk` (the exchange and its checks on the child, ending with its
/// input closed) off the runtime, then checks the answers and that the
/// bridge exits 0.
async fn talk_to(child: Child, talk: impl FnOnce(&Child) -> Answers + Send + 'static) {
    let (got, child) = within(tokio::task::spawn_blocking(move || (talk(&child), child))).await;
    check_calls(&got);
    tokio::task::spawn_blocking(move || finish(child)).await.unwrap();
}

/// The exchange's outcome, or a failure after a minute instead of a hang.
async fn within<T>(task: tokio::task::JoinHandle<T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .expect("no answers within 60 s")
        .expect("exchange panicked")
}

fn serve_command(url: &str) -> (tempfile::TempDir, Command) {
    let (dir, config) = write_config(&format!("[servers.s]\nurl = {}\n", toml_string(url)));
    let mut cmd = Command::new(bridge_bin());
    cmd.arg("--config")
        .arg(config)
        .arg("serve")
        .arg("s")
        .env_remove("RUST_LOG");
    (dir, cmd)
}

fn finish(mut child: Child) {
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "bridge exited with {status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("the bridge did not exit after stdin closed");
}

/// The bridge with its stdin and stdout as pipes (stderr dropped).
fn spawn_piped(cmd: &mut Command) -> (Child, std::process::ChildStdin, std::process::ChildStdout) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn bridge");
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    (child, stdin, stdout)
}

#[tokio::test(flavor = "multi_thread")]
async fn pipes_are_polled_directly_and_carry_everything() {
    let sb = sandbox().await;
    let (_dir, mut cmd) = serve_command(&sb.url());
    let (child, stdin, stdout) = spawn_piped(&mut cmd);
    talk_to(child, move |child| {
        let mut stdin = stdin;
        let got = exchange(&mut stdin, stdout);
        assert_ne!(fd_flags(child, 0) & O_NONBLOCK, 0, "stdin pipe not polled directly");
        assert_ne!(fd_flags(child, 1) & O_NONBLOCK, 0, "stdout pipe not polled directly");
        got
    })
    .await;
}

/// Reads at most 4 KiB a millisecond, so the bridge's stdout pipe stays
/// full while a large answer is written.
struct SlowReader<R>(R);

impl<R: std::io::Read> std::io::Read for SlowReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        std::thread::sleep(Duration::from_millis(1));
        let n = buf.len().min(4096);
        self.0.read(&mut buf[..n])
    }
}

/// Small answers are written at once by the task that has them, larger
/// ones by the writer task, and a small one that comes while a large one
/// is being written queues behind it (`relay::Lane`). With the big answer
/// read slowly and the echoes answered all through it, every line still
/// arrives whole.
#[tokio::test(flavor = "multi_thread")]
async fn answers_arriving_while_a_large_one_is_written_queue_behind_it() {
    let sb = sandbox().await;
    let (_dir, mut cmd) = serve_command(&sb.url());
    let (child, stdin, stdout) = spawn_piped(&mut cmd);
    let stdout = SlowReader(stdout);
    fn spread(i: usize) -> Value {
        json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
            "params": {"name": "slow_echo", "arguments": {"text": format!("echo {i}"), "delay_ms": 100 + i * 5}}})
    }
    talk_to(child, move |_| {
        let mut stdin = stdin;
        exchange_with(&mut stdin, stdout, spread)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_socket_pair_as_stdio_works_like_node_sets_it_up() {
    let sb = sandbox().await;
    let (_dir, mut cmd) = serve_command(&sb.url());
    let (ours, theirs) = UnixStream::pair().unwrap();
    let theirs_out = theirs.try_clone().unwrap();
    let child = cmd
        .stdin(Stdio::from(OwnedFd::from(theirs)))
        .stdout(Stdio::from(OwnedFd::from(theirs_out)))
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn bridge");
    talk_to(child, move |child| {
        let reader = ours.try_clone().unwrap();
        let got = exchange(&ours, reader);
        assert_ne!(fd_flags(child, 0) & O_NONBLOCK, 0, "stdin socket not polled directly");
        ours.shutdown(std::net::Shutdown::Write).unwrap();
        got
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stdout_shared_with_stderr_stays_blocking_and_still_answers() {
    let sb = sandbox().await;
    let (_dir, mut cmd) = serve_command(&sb.url());
    let (out_reader, out_writer) = std::io::pipe().unwrap();
    let err_writer = out_writer.try_clone().unwrap();
    let mut child = cmd
        .arg("--log")
        .arg("off")
        .stdin(Stdio::piped())
        .stdout(Stdio::from(out_writer))
        .stderr(Stdio::from(err_writer))
        .spawn()
        .expect("spawn bridge");
    let stdin = child.stdin.take().unwrap();
    talk_to(child, move |child| {
        let mut stdin = stdin;
        let got = exchange(&mut stdin, out_reader);
        assert_eq!(
            fd_flags(child, 1) & O_NONBLOCK,
            0,
            "stdout shared with stderr must not be made non-blocking"
        );
        got
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_as_stdin_is_relayed_to_its_end() {
    let sb = sandbox().await;
    let (dir, mut cmd) = serve_command(&sb.url());
    let input = dir.path().join("input.jsonl");
    let mut text = line(&init());
    text.extend(line(&initialized()));
    text.extend(line(&big()));
    for i in 0..IN_FLIGHT {
        text.extend(line(&echo(i)));
    }
    std::fs::write(&input, text).unwrap();
    let mut child = cmd
        .stdin(Stdio::from(std::fs::File::open(&input).unwrap()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn bridge");
    let stdout = child.stdout.take().unwrap();
    talk_to(child, move |child| {
        let mut ids = all_ids();
        ids.push(json!("init"));
        // Checked after the first line, while the child is surely running:
        // it cannot end before the 3 MiB answer has been read from the pipe.
        let mut stdout = BufReader::new(stdout);
        let mut first = Vec::new();
        stdout.read_until(b'\n', &mut first).unwrap();
        assert_eq!(fd_flags(child, 0) & O_NONBLOCK, 0, "a file is read the blocking way");
        read_answers(std::io::Read::chain(&first[..], stdout), &ids)
    })
    .await;
}
