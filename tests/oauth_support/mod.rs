//! Helpers for the `oauth_*` tests: a throw-away config and token store per
//! test, a fake browser that records every URL it is asked to open, the
//! person's part of a sign-in played with reqwest (following the authorize
//! redirect to the bridge's loopback callback), and the CLI commands.
#![allow(dead_code)]

use crate::support::Bridge;
use mcp_bridge::store::{Record, Store};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// One test's config, store and browser log.
pub struct Env {
    pub dir: TempDir,
    pub config: PathBuf,
    pub data: PathBuf,
    pub browser_log: PathBuf,
    pub browser: PathBuf,
}

pub const SERVER: &str = "demo";

impl Env {
    /// `[servers.demo]` pointing at `url` with `auth = "oauth"`, plus `extra` lines.
    pub fn new(url: &str, extra: &str) -> Env {
        Env::with_auth(url, "oauth", extra)
    }

    /// `[servers.demo]` pointing at `url` with `auth = "<auth>"`, plus `extra` lines.
    pub fn with_auth(url: &str, auth: &str, extra: &str) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!("[servers.{SERVER}]\nurl = \"{url}\"\nauth = \"{auth}\"\n{extra}\n"),
        )
        .expect("write config");
        let browser_log = dir.path().join("browser.log");
        let browser = dir.path().join("browser.sh");
        std::fs::write(
            &browser,
            format!("#!/bin/sh\necho \"$1\" >> '{}'\n", browser_log.display()),
        )
        .expect("write browser script");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let data = dir.path().join("data");
        Env {
            dir,
            config,
            data,
            browser_log,
            browser,
        }
    }

    fn env(&self, cmd: &mut tokio::process::Command) {
        cmd.env("MCP_BRIDGE_DATA_DIR", &self.data)
            .env("MCP_BRIDGE_BROWSER", &self.browser)
            .env("MCP_BRIDGE_LOGIN_TIMEOUT", "20")
            .env("RUST_LOG", "debug");
    }

    /// `mcp-bridge serve demo` with this env.
    pub fn serve(&self) -> Bridge {
        let mut cmd = Bridge::command();
        self.env(&mut cmd);
        cmd.arg("--config").arg(&self.config).arg("serve").arg(SERVER);
        let mut b = Bridge::spawn(cmd);
        b.timeout = Duration::from_secs(20);
        b
    }

    /// `mcp-bridge serve NAMES…` (a bundle) with this env.
    pub fn serve_bundle(&self, names: &[&str]) -> Bridge {
        let mut cmd = Bridge::command();
        self.env(&mut cmd);
        cmd.arg("--config").arg(&self.config).arg("serve").args(names);
        let mut b = Bridge::spawn(cmd);
        b.timeout = Duration::from_secs(20);
        b
    }

    /// A CLI command (`login`, `status`, …) with this env, not yet started.
    pub fn cli(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = Bridge::command();
        self.env(&mut cmd);
        cmd.arg("--config").arg(&self.config).args(args);
        cmd.stdin(std::process::Stdio::null()).kill_on_drop(true);
        cmd
    }

    /// URLs the fake browser was asked to open.
    pub fn opens(&self) -> Vec<String> {
        std::fs::read_to_string(&self.browser_log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Waits until the fake browser has been asked to open `n` URLs and
    /// returns them all. A further (wrong) one is for the test to rule out
    /// later, with [`opened_by`] on each bridge's log.
    pub async fn wait_opens(&self, n: usize) -> Vec<String> {
        crate::support::wait_until_with(
            &format!("the browser to be opened {n} times"),
            || self.opens().len() >= n,
            || format!("{:?}", self.opens()),
        )
        .await;
        self.opens()
    }

    pub fn store(&self) -> Store {
        Store::at(&self.data)
    }

    pub fn record(&self) -> Record {
        self.store().load(SERVER).unwrap().unwrap_or_default()
    }

    /// Waits until `f` holds for the stored record.
    pub async fn wait_record(&self, what: &str, f: impl Fn(&Record) -> bool) -> Record {
        crate::support::wait_until_with(what, || f(&self.record()), || format!("{:?}", self.record())).await;
        self.record()
    }
}

/// How many times bridge `b` started the browser: it logs each start as it
/// spawns it, before the browser has done anything.
pub fn opened_by(b: &Bridge) -> usize {
    b.stderr_text().matches("opened the browser").count()
}

/// The person in the browser: GET the authorize URL and follow redirects to
/// the bridge's callback. Returns the final status and page.
pub async fn play_browser(url: &str) -> (u16, String) {
    let http = reqwest::Client::new();
    let resp = http.get(url).send().await.expect("browser request");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

/// Follow the authorize URL without the last hop: returns the callback URL
/// the server redirected to.
pub async fn authorize_redirect(url: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = http.get(url).send().await.expect("authorize request");
    assert_eq!(
        resp.status().as_u16(),
        302,
        "authorize did not redirect: {}",
        resp.text().await.unwrap_or_default()
    );
    resp.headers()["location"].to_str().unwrap().to_string()
}

/// The sign-in URL a signed-out tool call returned.
pub fn sign_in_url(result: &Value) -> String {
    result
        .pointer("/result/_meta/mcp-bridge~1sign-in/url")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no sign-in URL in {result}"))
        .to_string()
}

/// The sign-in link in a signed-out tool call's answer, checked to be one.
pub fn sign_in_link(resp: &Value) -> String {
    assert_eq!(resp["result"]["isError"], true, "{resp}");
    assert!(text_of(resp).contains("Sign-in required"), "{resp}");
    sign_in_url(resp)
}

/// The person signs in at `url`, which the browser was opened on once; the
/// bridge announces its changed tools. Returns the page the browser ends on.
pub async fn finish_sign_in(env: &Env, b: &mut Bridge, url: &str) -> String {
    assert_eq!(env.wait_opens(1).await, [url.to_string()], "the browser opens once");
    let (status, page) = play_browser(url).await;
    assert_eq!(status, 200, "{page}");
    wait_list_changed(b).await;
    page
}

/// `initialize` + `initialized`, returning the result.
pub async fn handshake(b: &mut Bridge) -> Value {
    b.initialize(json!({})).await
}

/// Waits for `notifications/tools/list_changed`.
pub async fn wait_list_changed(b: &mut Bridge) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let m = b
            .try_recv_timeout(left)
            .await
            .expect("no tools/list_changed within 20s");
        if m["method"] == "notifications/tools/list_changed" {
            return;
        }
    }
}

/// Calls `echo` and returns the response message.
pub async fn echo(b: &mut Bridge, text: &str) -> Value {
    call(b, "echo", text).await
}

/// Calls `tool` with `{"text": text}` and returns the response message.
pub async fn call(b: &mut Bridge, tool: &str, text: &str) -> Value {
    b.request("tools/call", json!({"name": tool, "arguments": {"text": text}}))
        .await
}

pub fn text_of(resp: &Value) -> String {
    resp.pointer("/result/content/0/text")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// `mcp-bridge login demo --no-browser`, with the browser step played on the
/// URL it prints (unless `browse` is false). Returns (success, stdout URL, stderr).
pub async fn login(env: &Env, browse: bool) -> (bool, String, String) {
    login_with(env, browse, &[]).await
}

/// `login` with these environment variables set for the bridge.
pub async fn login_with(env: &Env, browse: bool, vars: &[(&str, &str)]) -> (bool, String, String) {
    login_named(env, SERVER, browse, vars).await
}

/// `mcp-bridge login NAME --no-browser` (a server or a bundle), as `login_with`.
pub async fn login_named(env: &Env, name: &str, browse: bool, vars: &[(&str, &str)]) -> (bool, String, String) {
    use tokio::io::AsyncBufReadExt;
    let mut cmd = env.cli(&["login", name, "--no-browser"]);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn login");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .ok()
        .and_then(|l| l.ok().flatten())
        .unwrap_or_default();
    if browse && !url.is_empty() {
        play_browser(&url).await;
    }
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("login did not finish")
        .unwrap();
    (
        out.status.success(),
        url,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
