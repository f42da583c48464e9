//! The relay bench's network mode (`--network`): the same targets, with a
//! network between them and the server.
//!
//! Every target reaches its server through `netdelay::DelayProxy` on
//! loopback, which holds each chunk for half the round-trip time (`--rtt-ms`,
//! 50 by default) each way and makes a new connection cost a round trip. The
//! servers: the in-process sandbox and `@modelcontextprotocol/server-everything`
//! (pinned in tests/peers), each plain (`http://127.0.0.1:PORT`) and behind
//! the TLS front the HTTPS tests use (`https://localhost:PORT`, its
//! authority made here and trusted through `SSL_CERT_FILE` by the bridge,
//! `NODE_EXTRA_CA_CERTS` by mcp-remote). The TLS front sits behind the
//! delay, as a hosted server's does.
//!
//! Measured, starts interleaved (the first of each untimed):
//! - cold start to `tools/list` answered (spawn, `initialize`,
//!   `notifications/initialized`, `tools/list`): `direct` is the sequential
//!   client of the loopback mode with a new HTTP client each time; the
//!   bridge starts with no list cache (its `lists/` removed from the data
//!   dir), what an earlier run remembered of the server (its protocol era)
//!   kept, as on every start after the first;
//! - the bridge's first start: an empty data dir each time (nothing
//!   remembered: it asks the server's era with `server/discover` first);
//! - warm start to `tools/list`, the bridge only: the data dir kept from
//!   its earlier starts, its list cache included;
//! - `--net-calls` sequential tool calls (20) on a started client,
//!   `--net-rounds` times;
//! - beside each sandbox setup, a sandbox that speaks 2026-07-28 alone
//!   behind a proxy (and front) of its own, reached by the same 2025
//!   client through the bridge, translated (issue 17): the first start
//!   ever (the era asked with `server/discover`), a later start with the
//!   era remembered and the list cache off (`list_cache = "0"`), a warm
//!   start (the list cache on, its data dir kept), and the calls;
//!   reported in a table of their own beside the bridge's figures for
//!   the sandbox that speaks both eras (the 2025 path).
//!
//! Each figure comes with the round trips it took (its time ÷ RTT) and the
//! connections the proxy was asked for.

use super::netdelay::DelayProxy;
use super::network_report::report;
use super::report::loadavg;
use super::{Client, Env, Kind, Opts, Res, SERVER_NAME, pinned_node, repo_root, toml_quote};
use mcp_bridge::sandbox::{Revisions, Sandbox, SandboxOptions};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[path = "../../tests/tls_support/mod.rs"]
mod tls_support;

/// What a network run measures, per setup (server and front).
#[derive(Default)]
pub struct Figures {
    /// Cold starts (ms) and the connections each opened, per target.
    pub cold: BTreeMap<&'static str, Vec<(f64, usize)>>,
    /// The bridge's warm starts, and its first ones.
    pub warm: Vec<(f64, usize)>,
    pub first: Vec<(f64, usize)>,
    /// Sequential calls (ms per round) and the connections opened, per target.
    pub calls: BTreeMap<&'static str, Vec<(f64, usize)>>,
    /// The translated path (a 2025 client, the bridge, a 2026-07-28-only
    /// sandbox): first starts, later starts with the era remembered, calls.
    pub translated: Option<Translated>,
}

#[derive(Default)]
pub struct Translated {
    pub first: Vec<(f64, usize)>,
    pub cold: Vec<(f64, usize)>,
    /// Warm starts: the list cache on, its data dir kept.
    pub warm: Vec<(f64, usize)>,
    pub calls: Vec<(f64, usize)>,
}

/// One server as a target reaches it: its name, its URL through the proxy,
/// its tool and the arguments of a call.
struct Setup {
    name: String,
    url: String,
    tool: &'static str,
    arguments: Value,
    ca: Option<(PathBuf, reqwest::Certificate)>,
    proxy: DelayProxy,
}

pub async fn run(opts: &Opts) -> Res<()> {
    let started = Instant::now();
    let load_before = loadavg();
    let rtt = Duration::from_millis(opts.rtt_ms);
    let home = tempfile::Builder::new().prefix("mcp-bridge-net-bench-").tempdir()?;
    let everything = Everything::start(home.path())?;
    let ca = tls_support::authority("mcp-bridge network bench");
    let pem = home.path().join("ca.pem");
    std::fs::write(&pem, ca.pem())?;
    let root = reqwest::Certificate::from_pem(ca.pem().as_bytes())?;
    let (cert, key) = tls_support::server_certificate(&ca, false);
    let acceptor = tls_support::acceptor(cert, key, &[b"http/1.1"]);

    let servers: [(&str, &'static str, Value); 2] = [
        ("sandbox", "slow_echo", json!({"text": "ping"})),
        ("server-everything", "echo", json!({"message": "ping"})),
    ];
    let mut results = Vec::new();
    for (server, tool, arguments) in servers {
        for tls in [false, true] {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let port = listener.local_addr()?.port();
            let host = if tls { "localhost" } else { "127.0.0.1" };
            // The sandbox refuses a `Host` it was not told of (rmcp's DNS
            // rebinding check): one sandbox per setup, told the proxy's.
            let sandbox = match server {
                "sandbox" => {
                    let options = SandboxOptions {
                        port: 0,
                        token: None,
                        session_ttl: None,
                    };
                    Some(Sandbox::start_behind(options, Some(format!("{host}:{port}"))).await?)
                }
                _ => None,
            };
            let backend = sandbox.as_ref().map_or(everything.addr, |s| s.addr);
            let front = match tls {
                true => tls_front(acceptor.clone(), backend).await?,
                false => backend,
            };
            let scheme = if tls { "https" } else { "http" };
            let proxy = DelayProxy::start(listener, front, rtt / 2)?;
            let setup = Setup {
                name: format!("{server}, {}", if tls { "TLS" } else { "plain" }),
                url: format!("{scheme}://{host}:{port}/mcp"),
                tool,
                arguments: arguments.clone(),
                ca: tls.then(|| (pem.clone(), root.clone())),
                proxy,
            };
            // Beside the sandbox (which speaks both eras, so the bridge
            // serves a 2025 client in the 2025 era), one that speaks
            // 2026-07-28 alone: the same client reaches it translated.
            let modern = match sandbox {
                Some(_) => {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                    let port = listener.local_addr()?.port();
                    let options = SandboxOptions {
                        port: 0,
                        token: None,
                        session_ttl: None,
                    };
                    let front_name = Some(format!("{host}:{port}"));
                    let sandbox = Sandbox::start_speaking(options, front_name, Revisions::ModernOnly).await?;
                    let front = match tls {
                        true => tls_front(acceptor.clone(), sandbox.addr).await?,
                        false => sandbox.addr,
                    };
                    let setup = Setup {
                        name: format!("{} 2026-07-28 only", setup.name),
                        url: format!("{scheme}://{host}:{port}/mcp"),
                        tool,
                        arguments: arguments.clone(),
                        ca: setup.ca.clone(),
                        proxy: DelayProxy::start(listener, front, rtt / 2)?,
                    };
                    Some((sandbox, setup))
                }
                None => None,
            };
            eprintln!("network: {} at {} (RTT {} ms)", setup.name, setup.url, opts.rtt_ms);
            let figures = measure(opts, &setup, modern.as_ref().map(|(_, s)| s), home.path()).await?;
            results.push((setup.name, figures));
            if let Some(sandbox) = sandbox {
                sandbox.shutdown().await;
            }
            if let Some((sandbox, _)) = modern {
                sandbox.shutdown().await;
            }
        }
    }
    drop(everything);
    if std::env::var_os("MCP_BRIDGE_BENCH_KEEP").is_some() {
        eprintln!("network: the children's logs are kept in {}", home.keep().display());
    }
    report(opts, &results, &load_before)?;
    println!("  total bench time {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The targets of a setup, in the order of the first round (the
/// translated ones when a 2026-07-28-only server stands beside it).
fn targets(opts: &Opts, translated: bool) -> Vec<&'static str> {
    let mut t = vec!["direct", "mcp-bridge first", "mcp-bridge cold", "mcp-bridge warm"];
    if translated {
        t.extend(["translated first", "translated cold", "translated warm"]);
    }
    if opts.mcp_remote {
        t.push("mcp-remote");
    }
    t
}

/// A bridge config with one server at `setup`'s URL, in `dir` (with
/// `extra` lines in its entry).
fn bridge_config(dir: &Path, setup: &Setup, extra: &str) -> Res<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let config = dir.join("bridge.toml");
    std::fs::write(
        &config,
        format!("[servers.{SERVER_NAME}]\nurl = {}\n{extra}", toml_quote(&setup.url)),
    )?;
    Ok(config)
}

/// Starts, then calls, of every target of `setup` (and of the bridge to
/// `modern`, a 2026-07-28-only server, when there is one), interleaved.
async fn measure(opts: &Opts, setup: &Setup, modern: Option<&Setup>, home: &Path) -> Res<Figures> {
    let dir = home.join(setup.name.replace([',', ' '], "_"));
    let config = bridge_config(&dir, setup, "")?;
    let env_for = |data_dir: PathBuf| Env {
        url: setup.url.clone(),
        home: dir.clone(),
        bridge_config: config.clone(),
        tool: setup.tool,
        ca: setup.ca.clone(),
        data_dir,
    };
    // The translated path: the protocol era found by `server/discover`
    // (auto), no list cache, so every start after the first is cold with
    // the era remembered.
    let tdir = dir.join("translated");
    let tconfig = match modern {
        Some(m) => Some(bridge_config(&tdir, m, "list_cache = \"0\"\n")?),
        None => None,
    };
    // Its warm start: the list cache on, and a data dir of its own kept
    // from start to start.
    let twdir = tdir.join("warm");
    let twconfig = match modern {
        Some(m) => Some(bridge_config(&twdir, m, "")?),
        None => None,
    };
    let translated_env_with = |config: Option<&PathBuf>, data_dir: PathBuf| -> Res<Env> {
        let (m, config) = modern.zip(config).ok_or("no 2026-07-28-only server")?;
        Ok(Env {
            url: m.url.clone(),
            home: tdir.clone(),
            bridge_config: config.clone(),
            tool: m.tool,
            ca: m.ca.clone(),
            data_dir,
        })
    };
    let translated_env = |data_dir: PathBuf| translated_env_with(tconfig.as_ref(), data_dir);
    let warm_env = env_for(dir.join("warm-data"));
    let mut figures = Figures::default();
    let mut translated = Translated::default();
    let targets = targets(opts, modern.is_some());
    for round in 0..=opts.net_starts {
        for target in super::rotate(&targets, round) {
            // The environment built for this start (not the shared warm one).
            let built;
            let (env, kind) = match target {
                "direct" => (&warm_env, Kind::Direct),
                "mcp-bridge first" => {
                    built = env_for(dir.join(format!("first-data-{round}")));
                    (&built, Kind::Bridge)
                }
                "mcp-bridge cold" => {
                    let data = dir.join("cold-data");
                    let _ = std::fs::remove_dir_all(data.join("lists"));
                    built = env_for(data);
                    (&built, Kind::Bridge)
                }
                "translated first" => {
                    built = translated_env(tdir.join(format!("first-data-{round}")))?;
                    (&built, Kind::Bridge)
                }
                "translated cold" => {
                    let data = tdir.join("cold-data");
                    let _ = std::fs::remove_dir_all(data.join("lists"));
                    built = translated_env(data)?;
                    (&built, Kind::Bridge)
                }
                "translated warm" => {
                    built = translated_env_with(twconfig.as_ref(), twdir.join("data"))?;
                    (&built, Kind::Bridge)
                }
                "mcp-bridge warm" => (&warm_env, Kind::Bridge),
                _ => (&warm_env, Kind::McpRemote),
            };
            let proxy = match (target.starts_with("translated"), modern) {
                (true, Some(m)) => &m.proxy,
                _ => &setup.proxy,
            };
            let before = proxy.connections();
            let (client, took) = env
                .connect(kind, &format!("{}-start-{round}", target.replace(' ', "-")))
                .await
                .map_err(|e| format!("{} ({}) start: {e}", target, setup.name))?;
            let opened = proxy.connections() - before;
            client.close().await;
            if round > 0 {
                let ms = took.as_secs_f64() * 1e3;
                match target {
                    "mcp-bridge warm" => figures.warm.push((ms, opened)),
                    "mcp-bridge first" => figures.first.push((ms, opened)),
                    "translated first" => translated.first.push((ms, opened)),
                    "translated cold" => translated.cold.push((ms, opened)),
                    "translated warm" => translated.warm.push((ms, opened)),
                    t => figures.cold.entry(label(t)).or_default().push((ms, opened)),
                }
            }
        }
    }
    let mut clients = Vec::new();
    for target in targets.iter().filter(|t| {
        !matches!(
            **t,
            "mcp-bridge cold" | "mcp-bridge first" | "translated first" | "translated warm"
        )
    }) {
        let (kind, env, on) = match *target {
            "direct" => (Kind::Direct, None, setup),
            "mcp-bridge warm" => (Kind::Bridge, None, setup),
            "translated cold" => match modern {
                Some(m) => (Kind::Bridge, Some(translated_env(tdir.join("cold-data"))?), m),
                None => continue,
            },
            _ => (Kind::McpRemote, None, setup),
        };
        let (client, _) = env
            .as_ref()
            .unwrap_or(&warm_env)
            .connect(kind, &format!("{}-calls", label(target)))
            .await?;
        call(&client, on).await?;
        clients.push((label(target), client, on));
    }
    for round in 0..opts.net_rounds {
        for i in super::rotate(&(0..clients.len()).collect::<Vec<_>>(), round) {
            let (name, client, on) = &clients[i];
            let before = on.proxy.connections();
            let start = Instant::now();
            for _ in 0..opts.net_calls {
                call(client, on).await.map_err(|e| format!("{name} call: {e}"))?;
            }
            let ms = start.elapsed().as_secs_f64() * 1e3;
            let opened = on.proxy.connections() - before;
            match *name {
                "translated" => translated.calls.push((ms, opened)),
                _ => figures.calls.entry(name).or_default().push((ms, opened)),
            }
        }
    }
    for (_, client, _) in clients {
        client.close().await;
    }
    if modern.is_some() {
        figures.translated = Some(translated);
    }
    Ok(figures)
}

fn label(target: &'static str) -> &'static str {
    match target {
        "mcp-bridge cold" | "mcp-bridge warm" => "mcp-bridge",
        "translated cold" => "translated",
        t => t,
    }
}

async fn call(client: &Client, setup: &Setup) -> Res<()> {
    let response = client
        .request("tools/call", json!({"name": setup.tool, "arguments": setup.arguments}))
        .await?;
    let result = &response["result"];
    match result["content"][0]["text"].as_str() {
        Some(text) if result["isError"] != json!(true) && text.contains("ping") => Ok(()),
        _ => Err(format!("unexpected tools/call answer: {:.300}", response.to_string()).into()),
    }
}

/// A TLS front on loopback before `backend` (as in tests/relay_https.rs):
/// each connection's plain bytes relayed as they are.
async fn tls_front(acceptor: tokio_rustls::TlsAcceptor, backend: SocketAddr) -> Res<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = conn.set_nodelay(true);
                let Ok(mut tls) = acceptor.accept(conn).await else {
                    return;
                };
                if let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await {
                    let _ = plain.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                }
            });
        }
    });
    Ok(addr)
}

/// server-everything in Streamable HTTP mode on a loopback port (as
/// tests/support/peer.rs starts it), killed on drop.
struct Everything {
    child: std::process::Child,
    addr: SocketAddr,
}

impl Everything {
    fn start(home: &Path) -> Res<Everything> {
        use std::io::{BufRead, BufReader};
        let peers = repo_root().join("tests/peers");
        let entry = peers.join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
        if !entry.exists() {
            return Err("server-everything is missing: run scripts/install-test-peers.sh".into());
        }
        let mut child = std::process::Command::new(pinned_node())
            .arg("--require")
            .arg(peers.join("loopback-listen.cjs"))
            .arg(entry)
            .arg("streamableHttp")
            .env("PORT", "0")
            .current_dir(home)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let port = loop {
            let Some(line) = lines.next() else {
                let _ = child.kill();
                return Err("server-everything ended before it listened".into());
            };
            if let Some(rest) = line?.strip_prefix("MCP_TEST_PEER_LISTENING ") {
                break rest.split_whitespace().nth(1).and_then(|p| p.parse::<u16>().ok());
            }
        };
        // Keep draining its stderr so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let port = port.ok_or("server-everything: no port in its listen line")?;
        Ok(Everything {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        })
    }
}

impl Drop for Everything {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
