//! The Windows build, run under Wine: the commands a person types, `serve`
//! as Claude Desktop drives it, the sign-in gate, and the token store shared
//! by two Windows processes at once.
//!
//! Every test here needs Wine and a Windows build of the bridge, so each is
//! `#[ignore]`d in the plain suite (listed as ignored there, never passed
//! silently). `scripts/ci-windows.sh` builds `mcp-bridge.exe`, puts the
//! `ProcessPrng` shim beside it and runs them with `--ignored`, with
//! `MCP_BRIDGE_WINDOWS_EXE` naming the `.exe`; run that way without it, they
//! fail and say so. The sandbox the bridge talks to runs under Wine too; the
//! OAuth server and the person's browser are played by this test (Linux),
//! over loopback.

mod oauth_support;
mod support;

use mcp_bridge::emulator::oauth::{OAuthEmulator, OAuthOptions};
use oauth_support::{Env, SERVER, echo, play_browser, sign_in_link, text_of, wait_list_changed};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use support::{Bridge, PeerProcess, Stream};

/// Wine is slow to start a process (about a second), so every wait is longer.
const WAIT: Duration = Duration::from_secs(60);

/// The `.exe` under test.
fn exe() -> PathBuf {
    let path = std::env::var_os("MCP_BRIDGE_WINDOWS_EXE").unwrap_or_else(|| {
        panic!(
            "MCP_BRIDGE_WINDOWS_EXE is not set: these tests run the Windows build under Wine. \
             Run `bash scripts/ci-windows.sh`, which builds it and sets it"
        )
    });
    let path = PathBuf::from(path);
    assert!(
        path.is_file(),
        "MCP_BRIDGE_WINDOWS_EXE={} is not a file",
        path.display()
    );
    path
}

fn wine() -> String {
    std::env::var("WINE").unwrap_or_else(|_| "wine".into())
}

/// `wine mcp-bridge.exe ARGS…`, not yet started.
fn windows(args: &[&str]) -> Command {
    let mut cmd = Command::new(wine());
    cmd.arg(exe()).args(args).env("WINEDEBUG", "-all");
    cmd
}

fn tokio_windows(args: &[&str]) -> tokio::process::Command {
    tokio::process::Command::from(windows(args))
}

/// Runs a command for people to its end; (exit code, stdout, stderr).
fn run(mut cmd: Command) -> (i32, String, String) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let text = |b: &[u8]| String::from_utf8_lossy(b).replace("\r\n", "\n");
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// `mcp-bridge.exe sandbox --port 0` under Wine, and the URL it prints.
fn windows_sandbox() -> (PeerProcess, String) {
    let mut peer = PeerProcess::spawn("mcp-bridge.exe sandbox", windows(&["sandbox", "--port", "0"]));
    let line = peer.wait_for_line(Stream::Stdout, WAIT, |_| true);
    let url = line.trim().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "not a URL: {line:?}\n{}",
        peer.output_text()
    );
    (peer, url)
}

fn config_for(dir: &Path, url: &str) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(&path, format!("[servers.chat]\nurl = \"{url}\"\n")).unwrap();
    path
}

#[test]
#[ignore = "needs Wine and the Windows build: scripts/ci-windows.sh runs it"]
fn a_person_on_windows_runs_version_servers_config_and_install() {
    let (code, out, err) = run(windows(&["--version"]));
    assert_eq!(
        (code, out.trim()),
        (0, concat!("mcp-bridge ", env!("CARGO_PKG_VERSION"))),
        "{err}"
    );

    // Where the config lives: the roaming AppData folder.
    let (code, out, err) = run(windows(&["config", "path"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("AppData\\Roaming") && out.trim_end().ends_with("mcp-bridge\\config\\config.toml"),
        "{out}"
    );

    // A starter config, written where --config says, and read back.
    let dir = tempfile::tempdir().unwrap();
    let starter = dir.path().join("new").join("config.toml");
    let starter_arg = starter.to_str().unwrap();
    let (code, out, err) = run(windows(&["--config", starter_arg, "config", "init"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(std::fs::read_to_string(&starter).unwrap().contains("[servers.sandbox]"));
    let (code, _, err) = run(windows(&["--config", starter_arg, "config", "init"]));
    assert_eq!(code, 1, "a second init must leave the file alone: {err}");
    let (code, out, err) = run(windows(&["--config", starter_arg, "servers"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("sandbox"), "{out}");

    // install claude --write into a file of our own, merged with what is there.
    let config = config_for(dir.path(), "http://127.0.0.1:9/mcp");
    let claude = dir.path().join("claude_desktop_config.json");
    std::fs::write(
        &claude,
        r#"{"mcpServers": {"other": {"command": "x"}}, "theme": "dark"}"#,
    )
    .unwrap();
    let (code, out, err) = run(windows(&[
        "--config",
        config.to_str().unwrap(),
        "install",
        "claude",
        "chat",
        "--write",
        "--file",
        claude.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{out}{err}");
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&claude).unwrap()).unwrap();
    assert_eq!(written["theme"], "dark");
    assert_eq!(written["mcpServers"]["other"]["command"], "x");
    let entry = &written["mcpServers"]["chat"];
    let command = entry["command"].as_str().unwrap();
    assert!(
        command.ends_with("mcp-bridge.exe") && command.contains(":\\"),
        "a Windows path to the .exe: {entry}"
    );
    let args: Vec<&str> = entry["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args[0], "--config");
    assert!(args[1].ends_with("config.toml"), "{args:?}");
    assert_eq!(&args[2..], ["serve", "chat"]);
    let backups = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains(".bak-"))
        .count();
    assert_eq!(backups, 1, "the old file is backed up");
}

#[test]
#[ignore = "needs Wine and the Windows build: scripts/ci-windows.sh runs it"]
fn doctor_tools_and_call_reach_the_sandbox_running_under_wine() {
    let (_sandbox, url) = windows_sandbox();
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(dir.path(), &url);
    let config = config.to_str().unwrap();

    let (code, out, err) = run(windows(&["--config", config, "doctor"]));
    assert_eq!(code, 0, "doctor: {out}{err}");
    assert!(out.contains("chat") && out.contains("tools"), "{out}");

    let (code, out, err) = run(windows(&["--config", config, "tools", "chat"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("chat_send_message") && out.contains("progress_demo"),
        "{out}"
    );

    let (code, out, err) = run(windows(&[
        "--config",
        config,
        "call",
        "chat",
        "chat_send_message",
        r#"{"channel":"general","text":"hello from Windows"}"#,
    ]));
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(windows(&[
        "--config",
        config,
        "call",
        "chat",
        "chat_read_messages",
        r#"{"channel":"general"}"#,
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("hello from Windows"), "{out}");

    // A tool error is exit 1 on Windows too.
    let (code, _, _) = run(windows(&["--config", config, "call", "chat", "no_such_tool"]));
    assert_eq!(code, 1);
}

#[tokio::test]
#[ignore = "needs Wine and the Windows build: scripts/ci-windows.sh runs it"]
async fn serve_under_wine_relays_a_session_and_ends_when_stdin_closes() {
    let (_sandbox, url) = windows_sandbox();
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(dir.path(), &url);
    let mut b = Bridge::spawn(tokio_windows(&["--config", config.to_str().unwrap(), "serve", "chat"]));
    b.timeout = WAIT;
    let init = b.initialize(json!({})).await;
    assert!(init["serverInfo"]["name"].is_string(), "{init}");

    let tools = b.request_ok("tools/list", json!({})).await;
    let names: Vec<&str> = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(names.contains(&"chat_send_message"), "{names:?}");

    let resp = b
        .request(
            "tools/call",
            json!({"name": "progress_demo", "arguments": {"steps": 3, "delay_ms": 10}, "_meta": {"progressToken": "w-1"}}),
        )
        .await;
    assert_eq!(resp["result"]["content"][0]["text"], "Completed 3 steps.", "{resp}");
    let mut seen = vec![];
    while let Some(n) = b.next_other() {
        assert_eq!(n["method"], "notifications/progress", "{n}");
        assert_eq!(n["params"]["progressToken"], "w-1");
        seen.push(n["params"]["progress"].as_f64().unwrap());
    }
    assert_eq!(seen, [1.0, 2.0, 3.0], "every progress notification, before the result");

    // A line that is not JSON gets a parse error, and the session goes on.
    b.send_raw("this is not json").await;
    let err = b.recv_timeout(WAIT).await;
    assert_eq!(err["error"]["code"], -32700, "{err}");
    b.request_ok("tools/list", json!({})).await;

    b.close_stdin();
    let status = b.wait_exit(WAIT).await;
    assert!(
        status.success(),
        "serve must exit 0 when stdin closes: {status:?}\n{}",
        b.stderr_text()
    );
}

/// `serve demo` for the OAuth server, as Windows processes sharing one store.
fn windows_serve(env: &Env) -> Bridge {
    let mut cmd = tokio_windows(&["--config", env.config.to_str().unwrap(), "serve", SERVER]);
    cmd.env("MCP_BRIDGE_DATA_DIR", &env.data)
        .env("MCP_BRIDGE_BROWSER", &env.browser)
        .env("MCP_BRIDGE_LOGIN_TIMEOUT", "60")
        .env("RUST_LOG", "debug");
    let mut b = Bridge::spawn(cmd);
    b.timeout = WAIT;
    b
}

#[tokio::test]
#[ignore = "needs Wine and the Windows build: scripts/ci-windows.sh runs it"]
async fn two_windows_bridges_answer_signed_out_then_share_one_sign_in_and_one_refresh() {
    let emu = OAuthEmulator::start(OAuthOptions::default()).await.unwrap();
    let env = Env::new(&emu.url(), "");
    let mut a = windows_serve(&env);
    let mut b = windows_serve(&env);
    tokio::join!(a.initialize(json!({})), b.initialize(json!({})));

    // Signed out: the gate answers the call with a sign-in link.
    let (ra, rb) = tokio::join!(echo(&mut a, "a"), echo(&mut b, "b"));
    let (ua, ub) = (sign_in_link(&ra), sign_in_link(&rb));
    assert_eq!(ua, ub, "both processes send the person to one sign-in");
    assert_eq!(
        emu.registrations(),
        1,
        "one client registration, shared through the store"
    );

    // The person signs in once; the process that listens for the callback
    // writes the tokens, the other reads them back from the store.
    let (status, page) = play_browser(&ua).await;
    assert_eq!(status, 200, "{page}");
    tokio::join!(wait_list_changed(&mut a), wait_list_changed(&mut b));
    let (ra, rb) = tokio::join!(echo(&mut a, "a"), echo(&mut b, "b"));
    assert_eq!((text_of(&ra), text_of(&rb)), ("a".into(), "b".into()), "{ra} {rb}");
    assert_eq!(emu.count("/token", Some(("grant_type", "authorization_code"))), 1);

    // The token nears expiry while both are busy: under the store's lock,
    // one refresh serves both processes.
    env.store()
        .update(SERVER, |r| r.expires_at = Some(mcp_bridge::store::now() + 2))
        .await
        .unwrap();
    let (ra, rb) = tokio::join!(echo(&mut a, "a2"), echo(&mut b, "b2"));
    assert_eq!((text_of(&ra), text_of(&rb)), ("a2".into(), "b2".into()), "{ra} {rb}");
    assert_eq!(
        emu.count("/token", Some(("grant_type", "refresh_token"))),
        1,
        "one refresh"
    );
    let record = env.record();
    assert!(record.expires_at.unwrap() > mcp_bridge::store::now() + 60, "{record:?}");

    a.close_stdin();
    b.close_stdin();
    assert!(a.wait_exit(WAIT).await.success(), "{}", a.stderr_text());
    assert!(b.wait_exit(WAIT).await.success(), "{}", b.stderr_text());
}
