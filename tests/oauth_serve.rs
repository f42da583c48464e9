//! `serve` never blocks the host: signed out, the bridge answers
//! `initialize` and `tools/list` at once without touching the server, a tool
//! call returns the sign-in link (opening the browser once), and once the
//! sign-in completes (here, or in another process) it connects and sends
//! `notifications/tools/list_changed`.

mod oauth_support;
mod support;

use mcp_bridge::emulator::oauth::{OAuthEmulator, OAuthOptions};
use oauth_support::*;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::AsyncBufReadExt;

fn mcp_requests(emu: &OAuthEmulator) -> usize {
    emu.log().iter().filter(|l| l.path == "/mcp").count()
}

fn tool_names(list: &Value) -> Vec<String> {
    list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn signed_out_serve_answers_at_once_then_signs_in_with_one_browser_tab() {
    let emu = OAuthEmulator::start(OAuthOptions::default()).await.unwrap();
    let env = Env::new(&emu.url(), "");
    let mut b = env.serve();

    let init = handshake(&mut b).await;
    let tools = b.request_ok("tools/list", Value::Null).await;
    assert_eq!(init["capabilities"]["tools"]["listChanged"], true, "{init}");
    assert_eq!(tool_names(&tools), ["sign_in"], "no cache yet: {tools}");
    // At once: answered without the server, a sign-in or a browser.
    assert_eq!(mcp_requests(&emu), 0, "the gate must not wait on the server");
    assert_eq!(emu.log().len(), 0, "nor on the authorization server: {:?}", emu.log());
    assert!(env.opens().is_empty() && opened_by(&b) == 0, "nor on a browser");

    let first = echo(&mut b, "hi").await;
    let url = sign_in_link(&first);
    assert!(url.starts_with(&format!("http://{}/authorize?", emu.addr)), "{url}");
    let second = echo(&mut b, "hi").await;
    assert_eq!(sign_in_url(&second), url, "one sign-in for every call");
    let page = finish_sign_in(&env, &mut b, &url).await;
    assert!(page.contains("You can close this tab"), "{page}");

    let tools = b.request_ok("tools/list", Value::Null).await;
    assert_eq!(tool_names(&tools), ["echo", "whoami"]);
    assert_eq!(text_of(&echo(&mut b, "after").await), "after");

    // Nothing secret reached the log, even at debug level.
    let rec = env.record();
    let token_req = emu.log().into_iter().find(|l| l.path == "/token").unwrap();
    let stderr = b.stderr_text();
    for secret in [
        rec.access_token.clone().unwrap(),
        rec.refresh_token.clone().unwrap(),
        token_req.params["code"].clone(),
        token_req.params["code_verifier"].clone(),
    ] {
        assert!(!stderr.contains(&secret), "secret in stderr:\n{stderr}");
    }
}

#[tokio::test]
async fn signed_out_restart_serves_the_cached_handshake_and_tools() {
    let emu = OAuthEmulator::start(OAuthOptions::default()).await.unwrap();
    let env = Env::new(&emu.url(), "");
    {
        let mut b = env.serve();
        handshake(&mut b).await;
        let url = sign_in_url(&echo(&mut b, "x").await);
        play_browser(&url).await;
        wait_list_changed(&mut b).await;
        b.request_ok("tools/list", Value::Null).await;
        env.wait_record("cached tools", |r| r.extra.contains_key("tools_list"))
            .await;
    }
    // The sign-in is lost (tokens gone), the caches stay.
    env.store()
        .update(SERVER, |r| {
            r.access_token = None;
            r.refresh_token = None;
        })
        .await
        .unwrap();
    let before = mcp_requests(&emu);

    let mut b = env.serve();
    let init = handshake(&mut b).await;
    assert_eq!(init["serverInfo"]["name"], "oauth-emulator", "cached result: {init}");
    let tools = b.request_ok("tools/list", Value::Null).await;
    assert_eq!(tool_names(&tools), ["echo", "whoami"]);
    assert_eq!(mcp_requests(&emu), before);
    let call = echo(&mut b, "x").await;
    assert!(sign_in_url(&call).contains("/authorize?"), "{call}");
}

#[tokio::test]
async fn sign_in_by_another_process_opens_the_gate() {
    let emu = OAuthEmulator::start(OAuthOptions::default()).await.unwrap();
    let env = Env::new(&emu.url(), "");
    let mut b = env.serve();
    handshake(&mut b).await;

    let mut login = env.cli(&["login", SERVER, "--no-browser"]);
    login
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = login.spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("login printed no URL")
        .unwrap()
        .unwrap();
    assert!(url.contains("/authorize?"), "{url}");
    let (status, _) = play_browser(&url).await;
    assert_eq!(status, 200);
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("Signed in to `demo`"), "{stderr}");

    wait_list_changed(&mut b).await;
    assert_eq!(text_of(&echo(&mut b, "elsewhere").await), "elsewhere");
    assert!(env.opens().is_empty(), "--no-browser and no tool call: no browser");
}

/// In a bundle, a signed-out server is answered for as the gate does for one
/// server, while the other servers work; its tools come in after sign-in and
/// are cached for a signed-out start.
#[tokio::test]
async fn a_bundle_answers_for_a_signed_out_server_and_takes_its_tools_after_sign_in() {
    let emu = OAuthEmulator::start(OAuthOptions::default()).await.unwrap();
    let env = Env::new(&emu.url(), "\n[servers.local]\nprovider = \"sandbox\"\n");
    let mut b = env.serve_bundle(&[SERVER, "local"]);

    let init = handshake(&mut b).await;
    assert_eq!(init["capabilities"]["tools"]["listChanged"], true, "{init}");
    let tools = tool_names(&b.request_ok("tools/list", Value::Null).await);
    // At once: without a sign-in or a browser.
    assert_eq!(
        emu.count("/authorize", None) + emu.count("/token", None),
        0,
        "{:?}",
        emu.log()
    );
    assert!(env.opens().is_empty() && opened_by(&b) == 0, "no browser yet");
    assert!(tools.contains(&"demo__sign_in".to_string()), "{tools:?}");
    assert!(!tools.contains(&"demo__echo".to_string()), "{tools:?}");
    assert!(tools.contains(&"local__slow_echo".to_string()), "{tools:?}");
    assert_eq!(
        mcp_requests(&emu),
        0,
        "nothing is sent to a server that is not signed in"
    );

    // The other server works meanwhile.
    let local = call(&mut b, "local__slow_echo", "here").await;
    assert_eq!(text_of(&local), "here", "{local}");

    let first = b
        .request("tools/call", json!({"name": "demo__sign_in", "arguments": {}}))
        .await;
    let url = sign_in_link(&first);
    finish_sign_in(&env, &mut b, &url).await;

    let tools = tool_names(&b.request_ok("tools/list", Value::Null).await);
    for name in ["demo__echo", "demo__whoami", "local__slow_echo"] {
        assert!(tools.contains(&name.to_string()), "{name} missing: {tools:?}");
    }
    assert!(!tools.contains(&"demo__sign_in".to_string()), "{tools:?}");
    let after = call(&mut b, "demo__echo", "after").await;
    assert_eq!(text_of(&after), "after", "{after}");
    let rec = env
        .wait_record("cached tools", |r| r.extra.contains_key("tools_list"))
        .await;
    let cached: Vec<&str> = rec.extra["tools_list"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(cached, ["echo", "whoami"], "cached without the bundle's prefix");
}

/// A kept handshake that is not an object (written by a remote's odd answer
/// or by hand) is no answer to build on: a signed-out start answers with its
/// own capabilities instead of stopping.
#[tokio::test]
async fn a_signed_out_start_with_an_odd_kept_handshake_still_answers() {
    let emu = OAuthEmulator::start(OAuthOptions::default()).await.unwrap();
    let env = Env::new(&emu.url(), "");
    env.store()
        .update(SERVER, |r| {
            r.extra.insert("initialize_result".into(), json!("ok"));
            r.extra.insert("discover_result".into(), json!([1, 2]));
            r.extra.insert("tools_list".into(), json!(7));
        })
        .await
        .unwrap();

    let mut b = env.serve();
    let init = handshake(&mut b).await;
    assert_eq!(init["capabilities"]["tools"]["listChanged"], true, "{init}");
    assert!(
        init["serverInfo"]["name"].as_str().unwrap().contains("via mcp-bridge"),
        "{init}"
    );
    let tools = b.request_ok("tools/list", Value::Null).await;
    assert_eq!(tool_names(&tools), ["sign_in"], "{tools}");
    let call = echo(&mut b, "x").await;
    assert!(sign_in_url(&call).contains("/authorize?"), "{call}");
}
