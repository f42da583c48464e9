//! `provider = "pipe2"` end to end against the Pipe2.ai emulator: the
//! personal access token given as a literal, `${ENV}`, `{ command = [..] }`
//! or `{ file = ".." }` reaches the server as `Authorization: Bearer`, an
//! expired one gets Pipe2.ai's advice, and OAuth follows the MCP origin's
//! metadata to an issuer on another host instead of guessing endpoints.

mod oauth_support;
mod providers_common;
mod support;

use mcp_bridge::emulator::pipe2::{Pipe2Emulator, Pipe2Options, expired_personal_access_token, personal_access_token};
use providers_common::{data_dir, serve, store_path};
use serde_json::json;

async fn emulator(pats: Vec<String>) -> Pipe2Emulator {
    Pipe2Emulator::start(Pipe2Options { port: 0, pats }).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_credential_source_reaches_the_server_as_bearer() {
    let pat = personal_access_token("test");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pat");
    std::fs::write(&file, format!("  {pat}\n")).unwrap();
    let sources = [
        format!("\"{pat}\""),
        "\"${MCPB_TEST_P2_PAT}\"".to_string(),
        format!("{{ command = [\"printf\", \"%s\\n\", \"{pat}\"] }}"),
        format!("{{ file = \"{}\" }}", file.display()),
    ];
    for source in sources {
        let emu = emulator(vec![pat.clone()]).await;
        let store = data_dir();
        let cfg = format!(
            "[servers.p2]\nprovider = \"pipe2\"\nurl = \"{}\"\ntoken = {source}\n",
            emu.url()
        );
        let mut b = serve(&cfg, "p2", &store_path(&store), &[("MCPB_TEST_P2_PAT", pat.as_str())]);
        let init = b.initialize(json!({})).await;
        assert_eq!(init["serverInfo"]["name"], "pipe2-emulator", "source {source}");
        let r = b
            .request_ok("tools/call", json!({"name": "whoami", "arguments": {}}))
            .await;
        assert_eq!(r["content"][0]["text"], "personal access token", "source {source}");
        let reqs = emu.requests();
        assert!(!reqs.is_empty());
        for r in reqs.iter().filter(|r| r.path == "/mcp") {
            assert_eq!(
                r.header("authorization"),
                Some(format!("Bearer {pat}").as_str()),
                "source {source}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_says_where_to_get_a_new_one() {
    let pat = expired_personal_access_token("old");
    let emu = emulator(vec![pat.clone()]).await;
    let store = data_dir();
    let cfg = format!(
        "[servers.p2]\nprovider = \"pipe2\"\nurl = \"{}\"\ntoken = \"{pat}\"\n",
        emu.url()
    );
    let mut b = serve(&cfg, "p2", &store_path(&store), &[]);
    let r = b
        .request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}),
        )
        .await;
    let msg = r["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("Personal Access Tokens"), "{r}");
    assert!(!msg.contains(&pat), "{msg}");
    assert_eq!(emu.requests()[0].status, 401);
}

/// Issue 22, item 6: the MCP origin's metadata names an issuer on another
/// host. The bridge follows it to that issuer's own metadata (whose
/// `issuer` must be exactly the one named) and signs in there; it no longer
/// guesses `/authorize`, `/token` and `/register` on the MCP origin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_follows_the_metadata_to_an_issuer_on_another_host() {
    let emu = emulator(vec![]).await;
    let issuer = emu.issuer();
    assert_ne!(issuer.base(), emu.url().trim_end_matches("/mcp"));
    let env = oauth_support::Env::new(&emu.url(), "provider = \"pipe2\"");
    let (ok, url, stderr) = oauth_support::login(&env, true).await;
    assert!(ok, "login failed: {stderr}");
    assert!(url.starts_with(&format!("{}/authorize?", issuer.base())), "{url}");
    assert_eq!(issuer.registrations(), 1);
    assert_eq!(issuer.count("/token", Some(("grant_type", "authorization_code"))), 1);
    // The issuer's own metadata was read; nothing was guessed on the MCP origin.
    assert_eq!(issuer.count("/.well-known/oauth-authorization-server", None), 1);
    let guessed: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|r| ["/authorize", "/token", "/register"].contains(&r.path.as_str()))
        .collect();
    assert!(guessed.is_empty(), "{guessed:?}");

    let mut b = env.serve();
    b.initialize(json!({})).await;
    let r = b
        .request_ok("tools/call", json!({"name": "whoami", "arguments": {}}))
        .await;
    assert_eq!(r["content"][0]["text"], "OAuth");
}
