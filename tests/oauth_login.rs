//! The sign-in itself: dynamic registration stored and reused, redone after
//! the server forgets it (`invalid_client`), a callback with the wrong
//! `state` refused, refresh (before expiry and after a 401) keeping the
//! rotated refresh token, and step-up after 403 `insufficient_scope`.

mod oauth_support;
mod support;

use mcp_bridge::emulator::oauth::{OAuthEmulator, OAuthOptions};
use oauth_support::*;
use serde_json::json;
use std::time::{Duration, Instant};

fn client_id(env: &Env) -> String {
    env.record().extra["oauth"]["client"]["client_id"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn registration_is_reused_and_redone_when_the_server_forgets_it() {
    let emu = OAuthEmulator::start(OAuthOptions::default()).await.unwrap();
    let env = Env::new(&emu.url(), "");
    let (ok, _, stderr) = login(&env, true).await;
    assert!(ok, "{stderr}");
    let first = client_id(&env);
    let (ok, _, stderr) = login(&env, true).await;
    assert!(ok, "{stderr}");
    assert_eq!(emu.registrations(), 1, "the stored registration is reused");
    assert_eq!(client_id(&env), first);

    // The server is redeployed and forgets its clients; the stored tokens go too.
    emu.forget_clients();
    env.store()
        .update(SERVER, |r| {
            r.access_token = None;
            r.refresh_token = None;
        })
        .await
        .unwrap();
    let (ok, url, stderr) = login(&env, true).await;
    assert!(ok, "{stderr}");
    assert_eq!(emu.registrations(), 2, "registered again after invalid_client");
    let second = client_id(&env);
    assert_ne!(second, first);
    assert!(url.contains(&format!("client_id={second}")), "{url}");
}

#[tokio::test]
async fn a_refresh_refused_with_invalid_client_drops_the_registration() {
    let emu = OAuthEmulator::start(OAuthOptions::default()).await.unwrap();
    let env = Env::new(&emu.url(), "");
    assert!(login(&env, true).await.0);
    emu.forget_clients();
    env.store().update(SERVER, |r| r.expires_at = Some(1)).await.unwrap();

    let mut b = env.serve();
    // The refresh at `initialize` is refused: answered locally all the same.
    let init = handshake(&mut b).await;
    assert_eq!(init["serverInfo"]["name"], "demo (via mcp-bridge)", "{init}");
    let rec = env
        .wait_record("registration dropped", |r| r.extra["oauth"].get("client").is_none())
        .await;
    assert!(rec.refresh_token.is_none() && rec.access_token.is_none(), "{rec:?}");
    // A call signs in afresh, with a new registration.
    let url = sign_in_url(&echo(&mut b, "x").await);
    play_browser(&url).await;
    wait_list_changed(&mut b).await;
    assert_eq!(text_of(&echo(&mut b, "back").await), "back");
    assert_eq!(emu.registrations(), 2);
}

#[tokio::test]
async fn a_callback_with_the_wrong_state_is_refused() {
    let emu = OAuthEmulator::start(OAuthOptions::default()).await.unwrap();
    let env = Env::new(&emu.url(), "");
    let mut cmd = env.cli(&["login", SERVER, "--no-browser"]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(child.stdout.take().unwrap()));
    let url = lines.next_line().await.unwrap().unwrap();
    let callback = authorize_redirect(&url).await;
    let state = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let forged = callback.replace(&format!("state={state}"), "state=forged");
    let (status, page) = play_browser(&forged).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("does not match"), "{page}");
    assert_eq!(
        emu.count("/token", None),
        0,
        "a forged callback's code is never exchanged"
    );
    let (status, _) = play_browser(&callback).await;
    assert_eq!(status, 200);
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(emu.count("/token", None), 1);
}

#[tokio::test]
async fn refresh_before_expiry_and_after_401_keeps_the_rotated_token() {
    let emu = OAuthEmulator::start(OAuthOptions::default()).await.unwrap();
    let env = Env::new(&emu.url(), "");
    assert!(login(&env, true).await.0);
    let mut b = env.serve();
    handshake(&mut b).await;

    // Before expiry: the stored token is about to expire.
    let old = env
        .store()
        .update(SERVER, |r| r.expires_at = Some(mcp_bridge::store::now() + 2))
        .await
        .unwrap();
    assert_eq!(text_of(&echo(&mut b, "one").await), "one");
    let grants = |emu: &OAuthEmulator| emu.count("/token", Some(("grant_type", "refresh_token")));
    assert_eq!(grants(&emu), 1);
    let new = env.record();
    assert_ne!(new.refresh_token, old.refresh_token, "rotated refresh token stored");
    let live = emu.live_refresh_tokens();
    assert_eq!(live, [new.refresh_token.clone().unwrap()], "the old one is retired");

    // After a 401: the server expired the token early.
    emu.expire_access_tokens();
    assert_eq!(text_of(&echo(&mut b, "two").await), "two");
    assert_eq!(grants(&emu), 2, "one refresh, then the replay");
    assert_ne!(env.record().refresh_token, new.refresh_token);
}

#[tokio::test]
async fn insufficient_scope_steps_up_and_replays() {
    let emu = OAuthEmulator::start(OAuthOptions {
        challenge_scope: Some("read".into()),
        call_scope: Some("write".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let env = Env::new(&emu.url(), "");
    let mut b = env.serve();
    handshake(&mut b).await;
    let url = sign_in_url(&echo(&mut b, "x").await);
    play_browser(&url).await;
    wait_list_changed(&mut b).await;
    assert_eq!(env.record().scope.as_deref(), Some("read"));

    let id = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                   "params": {"name": "echo", "arguments": {"text": "more"}}}))
        .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while env.opens().len() < 2 {
        assert!(Instant::now() < deadline, "no step-up sign-in opened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let step_up = env.opens()[1].clone();
    assert!(step_up.contains("scope=read+write"), "{step_up}");
    play_browser(&step_up).await;
    let resp = b.wait_response(&id, Duration::from_secs(20)).await;
    assert_eq!(text_of(&resp), "more", "{resp}");
    assert_eq!(env.record().scope.as_deref(), Some("read write"));
}

/// Discovery and the token request go to an OAuth server on this machine
/// directly, whatever proxy the environment names (the one here does not
/// exist). A pre-registered client (no registration).
#[tokio::test]
async fn a_proxy_in_the_environment_is_not_used_for_a_loopback_oauth_server() {
    let emu = OAuthEmulator::start(OAuthOptions {
        preregistered: Some(("bridge-dev".into(), None)),
        registration: false,
        ..OAuthOptions::default()
    })
    .await
    .unwrap();
    let env = Env::new(&emu.url(), "client_id = \"bridge-dev\"");
    let (ok, url, stderr) = login_with(&env, true, &support::DEAD_PROXY_ENV).await;
    assert!(ok, "login through the environment's proxy failed: {url}\n{stderr}");
    assert!(env.record().access_token.is_some(), "signed in");
}

/// The same with dynamic client registration, which rmcp's own HTTP client
/// makes: loopback skips the environment's proxy there too.
#[tokio::test]
async fn a_proxy_in_the_environment_is_not_used_to_register_with_a_loopback_oauth_server() {
    let emu = OAuthEmulator::start(OAuthOptions::default()).await.unwrap();
    let env = Env::new(&emu.url(), "");
    let (ok, url, stderr) = login_with(&env, true, &support::DEAD_PROXY_ENV).await;
    assert!(ok, "login through the environment's proxy failed: {url}\n{stderr}");
    assert!(
        emu.log().iter().any(|l| l.path == "/register"),
        "the client was registered"
    );
    assert!(env.record().access_token.is_some(), "signed in");
}
