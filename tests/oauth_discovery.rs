//! Discovery through each fallback path of MCP authorization 2025-11-25
//! (and the 2025-03-26 back-compat ones), checked by the exact metadata
//! requests the emulator saw, and refusal of a server without PKCE S256.

mod oauth_support;
mod support;

use mcp_bridge::emulator::oauth::{Discovery, OAuthEmulator, OAuthOptions};
use oauth_support::*;

/// Signs in with `login --no-browser` and returns the metadata GETs made,
/// as `path status`.
async fn discovery_requests(discovery: Discovery) -> Vec<String> {
    let emu = OAuthEmulator::start(OAuthOptions {
        discovery,
        ..Default::default()
    })
    .await
    .unwrap();
    let env = Env::new(&emu.url(), "");
    let (ok, url, stderr) = login(&env, true).await;
    assert!(ok, "login failed ({discovery:?}): {stderr}");
    assert!(url.contains("/authorize?"), "{url}");
    let rec = env.record();
    assert!(rec.access_token.is_some(), "no token stored: {rec:?}");
    assert_eq!(emu.count("/token", Some(("grant_type", "authorization_code"))), 1);
    // The authorize and token requests carried the same RFC 8707 resource.
    let log = emu.log();
    let auth = log.iter().find(|l| l.path == "/authorize").unwrap();
    let tok = log.iter().find(|l| l.path == "/token").unwrap();
    assert_eq!(auth.params["resource"], emu.url());
    assert_eq!(tok.params["resource"], emu.url());
    assert_eq!(auth.params["code_challenge_method"], "S256");
    log.iter()
        .filter(|l| l.method == "GET" && l.path != "/authorize")
        .map(|l| format!("{} {}", l.path, l.status))
        .collect()
}

#[tokio::test]
async fn resource_metadata_from_the_challenge() {
    assert_eq!(
        discovery_requests(Discovery::Challenge).await,
        ["/meta/prm.json 200", "/.well-known/oauth-authorization-server/as 200"]
    );
}

#[tokio::test]
async fn path_based_well_known_then_oidc_path_appended() {
    assert_eq!(
        discovery_requests(Discovery::PathWellKnown).await,
        [
            "/.well-known/oauth-protected-resource/mcp 200",
            "/.well-known/oauth-authorization-server/as 404",
            "/.well-known/openid-configuration/as 404",
            "/as/.well-known/openid-configuration 200",
        ]
    );
}

#[tokio::test]
async fn root_well_known_then_oidc_path_inserted() {
    assert_eq!(
        discovery_requests(Discovery::RootWellKnown).await,
        [
            "/.well-known/oauth-protected-resource/mcp 404",
            "/.well-known/oauth-protected-resource 200",
            "/.well-known/oauth-authorization-server/as 404",
            "/.well-known/openid-configuration/as 200",
        ]
    );
}

#[tokio::test]
async fn pipe2_style_origin_metadata_only() {
    assert_eq!(
        discovery_requests(Discovery::OriginOnly).await,
        [
            "/.well-known/oauth-protected-resource/mcp 404",
            "/.well-known/oauth-protected-resource 404",
            "/.well-known/oauth-authorization-server 200",
        ]
    );
}

#[tokio::test]
async fn no_metadata_falls_back_to_default_endpoints() {
    assert_eq!(
        discovery_requests(Discovery::None).await,
        [
            "/.well-known/oauth-protected-resource/mcp 404",
            "/.well-known/oauth-protected-resource 404",
            "/.well-known/oauth-authorization-server 404",
            "/.well-known/openid-configuration 404",
        ]
    );
}

#[tokio::test]
async fn a_server_without_s256_is_refused_before_anything_is_sent() {
    let emu = OAuthEmulator::start(OAuthOptions {
        advertise_s256: false,
        ..Default::default()
    })
    .await
    .unwrap();
    let env = Env::new(&emu.url(), "");
    let (ok, url, stderr) = login(&env, true).await;
    assert!(!ok, "login must fail");
    assert!(url.is_empty(), "no sign-in URL may be handed out: {url}");
    assert!(stderr.contains("S256"), "{stderr}");
    assert_eq!(emu.count("/register", None), 0);
    assert_eq!(emu.count("/authorize", None), 0);
}

/// `authorization_server` names the issuer the configured client belongs to:
/// a server whose metadata names another stops the sign-in before anything
/// (a registration, the browser, a token request) is sent to it, and the
/// error names the key; pinned to the issuer it names, it goes ahead.
#[tokio::test]
async fn a_pinned_authorization_server_that_is_not_the_one_named_stops_the_sign_in() {
    let emu = OAuthEmulator::start(OAuthOptions::default()).await.unwrap();
    let env = Env::new(
        &emu.url(),
        "client_id = \"pre-registered\"\nclient_secret = \"s3cret-client-9\"\n\
         authorization_server = \"https://login.example.com\"",
    );
    let (ok, url, stderr) = login(&env, true).await;
    assert!(!ok, "login must fail");
    assert!(url.is_empty(), "no sign-in URL may be handed out: {url}");
    assert!(stderr.contains("`authorization_server`"), "{stderr}");
    assert!(stderr.contains(&emu.issuer()), "the issuer it names: {stderr}");
    assert!(!stderr.contains("s3cret-client-9"), "{stderr}");
    for path in ["/register", "/authorize", "/token"] {
        assert_eq!(emu.count(path, None), 0, "{path}: {:?}", emu.log());
    }

    let env = Env::new(&emu.url(), &format!("authorization_server = \"{}\"", emu.issuer()));
    let (ok, url, stderr) = login(&env, true).await;
    assert!(ok, "pinned to the issuer it names: {stderr}");
    assert!(url.contains("/authorize?"), "{url}");
}
