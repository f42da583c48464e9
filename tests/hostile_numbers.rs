//! Numbers from a config, the environment or a remote that no clock can
//! hold: a config error (or the default, with a warning) instead of a
//! panic, and saturating arithmetic for a token's lifetime.

mod cli_support;
mod oauth_support;
mod support;

use cli_support::Home;
use mcp_bridge::emulator::oauth::{OAuthEmulator, OAuthOptions};
use mcp_bridge::emulator::pipedream::{PipedreamEmulator, PipedreamOptions};
use serde_json::json;
use support::Bridge;

#[test]
fn a_timeout_of_1e30_is_a_config_error_in_check_not_a_panic() {
    let home = Home::new();
    for value in ["1e30", "1e19", "\"99999999999999999999h\""] {
        let p = home.file(
            "c.toml",
            &format!("[servers.s]\nurl = \"http://127.0.0.1:9/mcp\"\ntimeout = {value}\n"),
        );
        let r = home.run(&["--config", p.to_str().unwrap(), "config", "check"]);
        assert_eq!(r.code, 2, "{value}: {}", r.all());
        assert!(
            r.err.contains("timeout") && r.err.contains("from 1ms to 24h"),
            "{value}: {}",
            r.all()
        );
        assert!(!r.err.contains("panicked"), "{}", r.all());
    }
}

#[tokio::test]
async fn a_timeout_of_1e30_is_answered_as_the_config_error_by_serve() {
    let mut b = Bridge::serve("[servers.s]\nurl = \"http://127.0.0.1:9/mcp\"\ntimeout = 1e30\n", "s");
    let r = b.initialize_answer().await;
    let message = r["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("timeout") && message.contains("24h"), "{r}");
    let r = b.request("ping", json!({})).await;
    assert!(
        r["error"]["message"].as_str().unwrap_or_default().contains("timeout"),
        "{r}"
    );
}

#[test]
fn a_command_timeout_of_1e300_in_the_environment_is_ignored_not_a_panic() {
    let home = Home::new();
    let p = home.file(
        "c.toml",
        "[servers.s]\nurl = \"http://127.0.0.1:9/mcp\"\nbearer = { command = [\"echo\", \"b\"] }\n",
    );
    let mut cmd = home.command(&["--config", p.to_str().unwrap(), "config", "check"]);
    let out = cmd.env("MCP_BRIDGE_COMMAND_TIMEOUT", "1e300").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("ignoring $MCP_BRIDGE_COMMAND_TIMEOUT"), "{stderr}");
}

#[tokio::test]
async fn a_login_timeout_of_1e30_in_the_environment_is_ignored_not_a_panic() {
    let emu = OAuthEmulator::start(OAuthOptions::default()).await.unwrap();
    let env = oauth_support::Env::new(&emu.url(), "");
    let (ok, _, stderr) = oauth_support::login_with(&env, true, &[("MCP_BRIDGE_LOGIN_TIMEOUT", "1e30")]).await;
    assert!(ok, "{stderr}");
    assert!(stderr.contains("ignoring $MCP_BRIDGE_LOGIN_TIMEOUT"), "{stderr}");
}

#[tokio::test]
async fn a_token_that_expires_in_u64_max_seconds_does_not_wrap_into_the_past() {
    let emu = OAuthEmulator::start(OAuthOptions {
        access_ttl: u64::MAX,
        ..Default::default()
    })
    .await
    .unwrap();
    let env = oauth_support::Env::new(&emu.url(), "");
    let (ok, _, stderr) = oauth_support::login(&env, true).await;
    assert!(ok, "{stderr}");
    assert_eq!(env.record().expires_at, Some(u64::MAX), "saturated, not wrapped");
    // The stored token is used as it is: no refresh for a wrapped expiry.
    let mut b = env.serve();
    oauth_support::handshake(&mut b).await;
    let r = oauth_support::echo(&mut b, "hi").await;
    assert_eq!(oauth_support::text_of(&r), "hi", "{r}");
    assert_eq!(emu.count("/token", Some(("grant_type", "refresh_token"))), 0);
    // And `status` shows it (a date far off), without overflowing.
    let out = env.cli(&["status"]).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("valid until"), "{stdout}");
}

#[tokio::test]
async fn a_pipedream_token_that_expires_in_u64_max_seconds_is_used_not_a_panic() {
    let emu = PipedreamEmulator::start(PipedreamOptions {
        expires_in: u64::MAX,
        ..Default::default()
    })
    .await
    .unwrap();
    let config = support::pipedream_config(&emu.base(), &emu.base(), "pd-client-secret", "timeout = 20\n");
    let mut b = Bridge::serve_isolated(&config, "pd", &[]);
    b.initialize(json!({})).await;
    b.request_ok("tools/list", json!({})).await;
    b.request_ok("tools/list", json!({})).await;
    assert_eq!(emu.token_requests().len(), 1, "one token, used while it lasts");
}

#[test]
fn a_sandbox_session_ttl_no_clock_can_hold_is_a_usage_error_not_a_panic() {
    for ttl in ["1e300", "1e19", "-1", "nan", "0"] {
        let out = std::process::Command::new(support::bridge_bin())
            .args(["sandbox", "--port", "0", &format!("--session-ttl={ttl}")])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{ttl}: {stderr}");
        assert!(
            stderr.contains("--session-ttl") && stderr.contains("from 0.001 to 86400"),
            "{ttl}: {stderr}"
        );
    }
}
