//! Secrets in the OS keychain: `mcp-bridge secret set|get|delete` and
//! `{ keyring = "service/account" }` config values, against a real Secret
//! Service (gnome-keyring), not a mock.
//!
//! The tests that need the Secret Service are `#[ignore]`d in the plain
//! suite (listed as ignored there): `scripts/ci-keychain.sh` runs them with
//! `--ignored` inside `dbus-run-session`, with gnome-keyring started and its
//! test keyring unlocked. The tests of a keychain that cannot be reached
//! need none, and run everywhere.

mod support;

use mcp_bridge::sandbox::{Sandbox, SandboxOptions};
use serde_json::json;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use support::{Bridge, bridge_bin, write_config};

/// A name no other test (or earlier run) uses.
fn unique(what: &str) -> String {
    format!(
        "mcp-bridge-test/{what}-{}-{}",
        std::process::id(),
        mcp_bridge::store::now()
    )
}

fn bridge(args: &[&str]) -> Command {
    let mut cmd = Command::new(bridge_bin());
    cmd.args(args);
    cmd
}

/// Runs `mcp-bridge ARGS` with `stdin` piped in.
fn run_with_stdin(mut cmd: Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mcp-bridge");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn require_secret_service() {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "no D-Bus session: these tests need a Secret Service. Run `bash scripts/ci-keychain.sh`, \
         which starts gnome-keyring in a private D-Bus session and runs them there"
    );
}

async fn sandbox(token: &str) -> Sandbox {
    Sandbox::start(SandboxOptions {
        port: 0,
        token: Some(token.into()),
        session_ttl: None,
    })
    .await
    .expect("start sandbox")
}

#[test]
#[ignore = "needs a Secret Service: scripts/ci-keychain.sh runs it inside dbus-run-session with gnome-keyring"]
fn a_secret_piped_to_secret_set_is_stored_read_back_and_deleted() {
    require_secret_service();
    let name = unique("roundtrip");
    let set = run_with_stdin(bridge(&["secret", "set", &name]), "piped-s3cret-value\n");
    assert!(set.status.success(), "{}", text(&set.stderr));
    assert!(!text(&set.stdout).contains("piped-s3cret") && !text(&set.stderr).contains("piped-s3cret"));

    let got = bridge(&["secret", "get", &name]).output().unwrap();
    assert!(got.status.success(), "{}", text(&got.stderr));
    assert_eq!(
        text(&got.stdout),
        "piped-s3cret-value\n",
        "the final newline of stdin is not part of it"
    );

    // Set again: the value is replaced, not added beside.
    let again = run_with_stdin(bridge(&["secret", "set", &name]), "second-value");
    assert!(again.status.success(), "{}", text(&again.stderr));
    let got = bridge(&["secret", "get", &name]).output().unwrap();
    assert_eq!(text(&got.stdout), "second-value\n");

    let del = bridge(&["secret", "delete", &name]).output().unwrap();
    assert!(del.status.success(), "{}", text(&del.stderr));
    let gone = bridge(&["secret", "get", &name]).output().unwrap();
    assert_eq!(gone.status.code(), Some(1));
    let err = text(&gone.stderr);
    assert!(
        err.contains(&name) && err.contains(&format!("mcp-bridge secret set {name}")),
        "{err}"
    );
    let del_again = bridge(&["secret", "delete", &name]).output().unwrap();
    assert_eq!(
        del_again.status.code(),
        Some(1),
        "deleting what is not there is a failure"
    );
}

/// `mcp-bridge secret set NAME` at a terminal (`script` gives it one), then
/// the shell line `after`: `keys` are typed once the prompt is up, as a
/// person would. Returns whether the line succeeded and what the terminal
/// showed. A prompt that never returns fails the test instead of hanging it.
fn secret_set_at_a_terminal(name: &str, keys: &[u8], after: &str) -> (bool, String) {
    let line = format!(
        "timeout --foreground 20 {} secret set {name}{after}",
        bridge_bin().display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn script (util-linux)");
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut chunk = [0u8; 256];
    while !text(&seen).contains("(not shown): ") {
        let n = std::io::Read::read(&mut stdout, &mut chunk).unwrap();
        assert!(n > 0, "the prompt never came: {}", text(&seen));
        seen.extend_from_slice(&chunk[..n]);
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(keys).unwrap();
    std::io::Read::read_to_end(&mut stdout, &mut seen).unwrap();
    drop(stdin);
    let status = child.wait().unwrap();
    (status.success(), text(&seen))
}

#[test]
#[ignore = "needs a Secret Service: scripts/ci-keychain.sh runs it inside dbus-run-session with gnome-keyring"]
fn secret_set_at_a_terminal_does_not_echo_what_is_typed() {
    require_secret_service();
    let name = unique("prompt");
    let (ok, screen) = secret_set_at_a_terminal(&name, b"typed-s3cret-value\n", "");
    assert!(ok, "{screen}");
    assert!(
        screen.contains(&format!("Secret for {name}")),
        "the prompt is shown: {screen}"
    );
    assert!(
        !screen.contains("typed-s3cret"),
        "what is typed is not echoed: {screen}"
    );
    let got = bridge(&["secret", "get", &name]).output().unwrap();
    assert_eq!(text(&got.stdout), "typed-s3cret-value\n");
    bridge(&["secret", "delete", &name]).output().unwrap();
}

/// Ctrl-C at the prompt stores nothing and leaves the terminal echoing, as
/// it was: `stty` run after the bridge on the same terminal says `echo`,
/// not `-echo`. No keychain is reached, so this runs everywhere `script`
/// (util-linux) does.
#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_at_the_secret_prompt_leaves_the_terminal_echoing() {
    let after = "; echo \"exit=$?\"; stty -a";
    let (_, screen) = secret_set_at_a_terminal(&unique("ctrl-c"), b"half-typed\x03", after);
    assert!(screen.contains("cancelled at the prompt"), "{screen}");
    assert!(screen.contains("exit=1"), "{screen}");
    assert!(!screen.contains("half-typed"), "{screen}");
    let flags = screen.split_whitespace().collect::<Vec<_>>();
    assert!(
        flags.contains(&"echo") && !flags.contains(&"-echo"),
        "the terminal echoes again after the bridge: {screen}"
    );
}

#[tokio::test]
#[ignore = "needs a Secret Service: scripts/ci-keychain.sh runs it inside dbus-run-session with gnome-keyring"]
async fn a_bearer_from_the_keychain_reaches_the_remote_and_never_the_logs() {
    require_secret_service();
    let name = unique("bearer");
    let secret = "keychain-bearer-s3cret";
    let set = run_with_stdin(bridge(&["secret", "set", &name]), secret);
    assert!(set.status.success(), "{}", text(&set.stderr));

    // The sandbox wants exactly this token: the call goes through.
    let sbx = sandbox(secret).await;
    let toml = format!(
        "[servers.chat]\nurl = \"{}\"\nbearer = {{ keyring = \"{name}\" }}\n",
        sbx.url()
    );
    let mut b = Bridge::serve(&toml, "chat");
    b.initialize(json!({})).await;
    let resp = b.request_ok("tools/list", json!({})).await;
    assert!(resp["tools"].as_array().is_some_and(|t| !t.is_empty()), "{resp}");

    // A remote that wants another token: the error, and a trace log, hold
    // no trace of the keychain's secret.
    let other = sandbox("another-token").await;
    let toml = format!(
        "[servers.chat]\nurl = \"{}\"\nbearer = {{ keyring = \"{name}\" }}\n",
        other.url()
    );
    let (dir, config) = write_config(&toml);
    let mut cmd = Bridge::command();
    cmd.env("RUST_LOG", "trace")
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .arg("chat");
    let mut b = Bridge::spawn(cmd);
    b.keep(dir);
    let resp = b
        .request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
        )
        .await;
    assert!(
        resp["error"]["message"].as_str().is_some_and(|m| m.contains("401")),
        "{resp}"
    );
    assert!(!resp.to_string().contains(secret), "{resp}");
    b.close_stdin();
    b.wait_exit(std::time::Duration::from_secs(10)).await;
    let log = b.stderr_text();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "a trace log was written"
    );
    assert!(!log.contains(secret), "the keychain's secret is in the log");

    // Deleted, the config names the server, the key and the fix.
    bridge(&["secret", "delete", &name]).output().unwrap();
    let toml = format!(
        "[servers.chat]\nurl = \"{}\"\nbearer = {{ keyring = \"{name}\" }}\n",
        sbx.url()
    );
    let mut b = Bridge::serve(&toml, "chat");
    let resp = b
        .request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
        )
        .await;
    let msg = resp["error"]["message"].as_str().unwrap_or_default().to_string();
    assert!(
        msg.contains("chat") && msg.contains("bearer") && msg.contains(&format!("mcp-bridge secret set {name}")),
        "{resp}"
    );
}

#[test]
fn an_unreachable_keychain_says_which_secret_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = format!("unix:path={}", dir.path().join("no-bus").display());
    let out = bridge(&["secret", "get", "mcp-bridge-test/unreachable"])
        .env("DBUS_SESSION_BUS_ADDRESS", &nowhere)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("cannot reach the OS keychain")
            && err.contains("mcp-bridge-test/unreachable")
            && err.contains("instead"),
        "{err}"
    );

    // The same for a config value: the server and key come first.
    let (_dir, config) = write_config(
        "[servers.chat]\nurl = \"http://127.0.0.1:9/mcp\"\nbearer = { keyring = \"mcp-bridge-test/unreachable\" }\n",
    );
    let out = bridge(&["--config", config.to_str().unwrap(), "config", "check"])
        .env("DBUS_SESSION_BUS_ADDRESS", &nowhere)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("servers.chat.bearer") && err.contains("cannot reach the OS keychain"),
        "{err}"
    );
}

#[test]
fn a_secret_is_never_taken_from_the_command_line() {
    let out = bridge(&["secret", "set", "svc/acct", "the-secret"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "an extra argument is refused");
    let out = run_with_stdin(bridge(&["secret", "set", "svc/acct"]), "");
    assert_eq!(out.status.code(), Some(2), "nothing piped in is nothing to store");
    assert!(text(&out.stderr).contains("nothing to store"), "{}", text(&out.stderr));
    let out = bridge(&["secret", "get", "no-slash"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("service/account"));
}
