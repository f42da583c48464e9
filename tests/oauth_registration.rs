//! How the bridge identifies itself to an authorization server, and what it
//! asks for, under MCP authorization 2026-07-28: a pre-registered client
//! first, then a client ID metadata document where the server takes one,
//! then dynamic registration as a `native` application; a stored
//! registration checked honestly (RFC 7592) before it is used again, never
//! with a made-up token; and `offline_access` asked for exactly where the
//! server offers it.

mod oauth_support;
mod support;

use mcp_bridge::emulator::oauth::{OAuthEmulator, OAuthOptions};
use oauth_support::*;

const DOCUMENT: &str = "https://bridge.example.com/client-metadata.json";

fn authorize_param(emu: &OAuthEmulator, key: &str) -> String {
    let log = emu.log();
    let a = log
        .iter()
        .find(|l| l.path == "/authorize")
        .unwrap_or_else(|| panic!("no authorize request: {log:?}"));
    a.params.get(key).cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_pre_registered_client_comes_before_a_metadata_document_and_registration() {
    let emu = OAuthEmulator::start(OAuthOptions {
        preregistered: Some(("pre-client".into(), Some("pre-secret".into()))),
        client_documents: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let env = Env::new(
        &emu.url(),
        &format!("client_id = \"pre-client\"\nclient_secret = \"pre-secret\"\nclient_metadata_url = \"{DOCUMENT}\""),
    );
    let (ok, _, stderr) = login(&env, true).await;
    assert!(ok, "{stderr}");
    assert_eq!(authorize_param(&emu, "client_id"), "pre-client");
    assert_eq!(emu.count("/register", None), 0);
}

#[tokio::test]
async fn a_client_metadata_document_is_used_where_the_server_takes_one() {
    let emu = OAuthEmulator::start(OAuthOptions {
        client_documents: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let env = Env::new(&emu.url(), &format!("client_metadata_url = \"{DOCUMENT}\""));
    let (ok, _, stderr) = login(&env, true).await;
    assert!(ok, "{stderr}");
    assert_eq!(authorize_param(&emu, "client_id"), DOCUMENT);
    assert_eq!(emu.count("/register", None), 0, "no registration with a document");
    let token = emu.log().into_iter().find(|l| l.path == "/token").unwrap();
    assert_eq!(token.params.get("client_id").map(String::as_str), Some(DOCUMENT));
}

#[tokio::test]
async fn a_server_without_metadata_documents_gets_a_native_registration() {
    let emu = OAuthEmulator::start(OAuthOptions::default()).await.unwrap();
    let env = Env::new(&emu.url(), &format!("client_metadata_url = \"{DOCUMENT}\""));
    let (ok, _, stderr) = login(&env, true).await;
    assert!(ok, "{stderr}");
    let log = emu.log();
    let register = log.iter().find(|l| l.path == "/register").expect("a registration");
    assert_eq!(register.params["json.application_type"], "native", "{register:?}");
    assert!(
        register.params["json.grant_types"].contains("refresh_token"),
        "{register:?}"
    );
    assert_ne!(authorize_param(&emu, "client_id"), DOCUMENT);
}

#[tokio::test]
async fn a_bad_client_metadata_url_is_a_config_error_naming_the_key() {
    let emu = OAuthEmulator::start(OAuthOptions::default()).await.unwrap();
    let env = Env::new(
        &emu.url(),
        "client_metadata_url = \"http://bridge.example.com/doc.json\"",
    );
    let (ok, _, stderr) = login(&env, false).await;
    assert!(!ok);
    assert!(stderr.contains("client_metadata_url"), "{stderr}");
    assert!(emu.log().is_empty(), "nothing is sent with a broken config");
}

#[tokio::test]
async fn a_stored_registration_is_checked_honestly_and_no_made_up_token_is_ever_sent() {
    let emu = OAuthEmulator::start(OAuthOptions::default()).await.unwrap();
    let env = Env::new(&emu.url(), "");
    assert!(login(&env, true).await.0);
    assert!(login(&env, true).await.0);
    assert_eq!(emu.registrations(), 1, "the registration was reused");
    emu.forget_clients();
    let (ok, _, stderr) = login(&env, true).await;
    assert!(ok, "{stderr}");
    assert_eq!(emu.registrations(), 2, "registered again once the server forgot");

    let log = emu.log();
    // The check is an RFC 7592 read: ok while the server knew the client,
    // 401 once it forgot.
    let reads: Vec<u16> = log
        .iter()
        .filter(|l| l.method == "GET" && l.path.starts_with("/register/"))
        .map(|l| l.status)
        .collect();
    assert_eq!(reads, [200, 401], "{log:?}");
    // Every token request carried a code or refresh token the server issued.
    for l in log.iter().filter(|l| l.path == "/token") {
        match l.params["grant_type"].as_str() {
            "authorization_code" => assert!(l.params["code"].starts_with("code-"), "{l:?}"),
            "refresh_token" => assert!(l.params["refresh_token"].starts_with("rt-"), "{l:?}"),
            other => panic!("unexpected grant {other}: {l:?}"),
        }
        assert!(l.status == 200, "a token request was refused: {l:?}");
    }
}

/// The value of the first `key` anywhere in `v`.
fn find(v: &serde_json::Value, key: &str) -> Option<String> {
    match v {
        serde_json::Value::Object(o) => o
            .get(key)
            .and_then(|x| x.as_str().map(str::to_string))
            .or_else(|| o.values().find_map(|x| find(x, key))),
        serde_json::Value::Array(a) => a.iter().find_map(|x| find(x, key)),
        _ => None,
    }
}

#[tokio::test]
async fn a_registration_to_be_read_over_plain_http_elsewhere_is_never_sent_its_token() {
    // A proxy that records what reaches it: plain http to another machine
    // would go through it (loopback never does).
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let proxied = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = proxied.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut conn, _)) = proxy.accept().await {
            let mut buf = vec![0; 8192];
            let n = conn.read(&mut buf).await.unwrap_or(0);
            seen.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            let _ = conn
                .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
        }
    });
    let emu = OAuthEmulator::start(OAuthOptions::default()).await.unwrap();
    let env = Env::new(&emu.url(), "");
    assert!(login(&env, true).await.0);
    // The stored registration now says it is read over plain http elsewhere.
    let rec = serde_json::to_string(&env.record()).unwrap();
    let moved = rec.replace(
        &format!("{}/register/", emu.base()),
        "http://registrations.example/register/",
    );
    assert_ne!(moved, rec, "the registration names where it is read");
    env.store()
        .save(SERVER, &serde_json::from_str(&moved).unwrap())
        .unwrap();
    let token = find(&serde_json::from_str(&moved).unwrap(), "configuration_token").unwrap();

    let (ok, _, stderr) = login_with(&env, true, &[("HTTP_PROXY", &proxy_url), ("http_proxy", &proxy_url)]).await;
    assert!(ok, "{stderr}");
    assert!(proxied.lock().unwrap().is_empty(), "{:?}", proxied.lock().unwrap());
    assert_eq!(emu.registrations(), 1, "the registration was used as it is");
    assert!(stderr.contains("registration_client_uri"), "{stderr}");
    assert!(!stderr.contains(&token), "{stderr}");
}

#[tokio::test]
async fn offline_access_is_asked_for_where_the_server_offers_it() {
    let emu = OAuthEmulator::start(OAuthOptions {
        resource_scopes: Some(vec!["mcp:read".into()]),
        server_scopes: Some(vec!["mcp:read".into(), "offline_access".into()]),
        ..Default::default()
    })
    .await
    .unwrap();
    let env = Env::new(&emu.url(), "");
    assert!(login(&env, true).await.0);
    assert_eq!(authorize_param(&emu, "scope"), "mcp:read offline_access");
}

#[tokio::test]
async fn offline_access_is_not_asked_for_where_the_server_does_not_offer_it() {
    let emu = OAuthEmulator::start(OAuthOptions {
        resource_scopes: Some(vec!["mcp:read".into()]),
        server_scopes: Some(vec!["mcp:read".into(), "mcp:write".into()]),
        ..Default::default()
    })
    .await
    .unwrap();
    let env = Env::new(&emu.url(), "");
    assert!(login(&env, true).await.0);
    assert_eq!(authorize_param(&emu, "scope"), "mcp:read");
}
