//! `mcp-bridge status` and `logout`: the token state in words with no
//! secret, and signing out revokes both tokens and forgets them along with
//! the client registration.

mod oauth_support;
mod support;

use mcp_bridge::emulator::oauth::{OAuthEmulator, OAuthOptions};
use oauth_support::*;

async fn status(env: &Env) -> String {
    let out = env.cli(&["status"]).output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn status_and_logout() {
    let emu = OAuthEmulator::start(OAuthOptions::default()).await.unwrap();
    let env = Env::new(&emu.url(), "scopes = [\"mcp\"]");
    assert_eq!(status(&env).await.trim(), "demo             not signed in");

    let (ok, _, stderr) = login(&env, true).await;
    assert!(ok, "{stderr}");
    let rec = env.record();
    let shown = status(&env).await;
    assert!(shown.contains("signed in, valid until"), "{shown}");
    assert!(
        shown.contains("refreshable") && shown.contains("scopes: mcp"),
        "{shown}"
    );
    for secret in [rec.access_token.unwrap(), rec.refresh_token.unwrap()] {
        assert!(!shown.contains(&secret) && !stderr.contains(&secret));
    }

    let out = env.cli(&["logout", SERVER]).output().await.unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("revoked the refresh token and access token"), "{said}");
    assert_eq!(emu.count("/revoke", None), 2);
    assert!(emu.live_refresh_tokens().is_empty(), "the refresh token is revoked");
    let rec = env.record();
    assert!(rec.access_token.is_none() && rec.refresh_token.is_none());
    assert!(rec.extra["oauth"].get("client").is_none(), "registration forgotten");
    assert_eq!(status(&env).await.trim(), "demo             not signed in");

    // A server without `auth = "oauth"` is refused by login.
    std::fs::write(&env.config, format!("[servers.{SERVER}]\nurl = \"{}\"\n", emu.url())).unwrap();
    let out = env.cli(&["login", SERVER]).output().await.unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("auth = \"oauth\""));
}

#[tokio::test]
async fn login_uses_callback_port_and_times_out_with_a_clear_message() {
    let emu = OAuthEmulator::start(OAuthOptions::default()).await.unwrap();
    let port = support::free_port();
    let env = Env::new(&emu.url(), &format!("callback_port = {port}"));
    let mut cmd = env.cli(&["login", SERVER, "--no-browser"]);
    cmd.env("MCP_BRIDGE_LOGIN_TIMEOUT", "1");
    let out = tokio::time::timeout(std::time::Duration::from_secs(20), cmd.output())
        .await
        .unwrap()
        .unwrap();
    let url = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let redirect = format!("redirect_uri=http%3A%2F%2F127.0.0.1%3A{port}%2Fcallback");
    assert!(url.contains(&redirect), "{url}");
    assert!(!out.status.success());
    assert!(
        stderr.contains("was not completed in the browser within 1s"),
        "{stderr}"
    );
    let rec = env.record();
    assert!(
        rec.extra["oauth"].get("pending").is_none(),
        "pending sign-in cleared: {rec:?}"
    );
    assert!(env.opens().is_empty());
}

#[tokio::test]
async fn login_opens_the_browser_and_reports_progress() {
    let emu = OAuthEmulator::start(OAuthOptions::default()).await.unwrap();
    let env = Env::new(&emu.url(), "");
    let mut cmd = env.cli(&["login", SERVER]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while env.opens().is_empty() {
        assert!(std::time::Instant::now() < deadline, "the browser was never opened");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let url = env.opens()[0].clone();
    assert_eq!(play_browser(&url).await.0, 200);
    let out = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(out.stdout.is_empty(), "only --no-browser prints to stdout");
    assert!(
        stderr.contains("Opened your browser") && stderr.contains("Waiting for the sign-in"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Signed in to `demo`: signed in, valid until"),
        "{stderr}"
    );
    assert_eq!(env.opens().len(), 1);
}

/// `login <bundle>` signs in to the bundle's OAuth servers (and leaves the
/// others alone); `logout <bundle>` signs out of them; a bundle with none
/// is refused with what to do.
#[tokio::test]
async fn login_and_logout_take_a_bundle() {
    let emu = OAuthEmulator::start(OAuthOptions::default()).await.unwrap();
    let extra = "\n[servers.local]\nprovider = \"sandbox\"\n\n[bundles.pair]\nservers = [\"local\", \"demo\"]\n\
                 \n[bundles.plain]\nservers = [\"local\"]\n";
    let env = Env::new(&emu.url(), extra);

    let (ok, url, said) = login_named(&env, "pair", true, &[]).await;
    assert!(ok, "{said}");
    assert!(url.contains("/authorize?"), "{url}");
    assert!(said.contains("Signed in to `demo`"), "{said}");
    assert!(env.record().access_token.is_some());

    let out = env.cli(&["logout", "pair"]).output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        env.record().access_token.is_none(),
        "signed out of the bundle's OAuth server"
    );

    let out = env.cli(&["login", "plain"]).output().await.unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        said.contains("no server of bundle `plain` (local) signs in with OAuth"),
        "{said}"
    );
}
