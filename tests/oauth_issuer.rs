//! Which authorization server a sign-in trusts: the issuer rules of MCP
//! authorization 2026-07-28 (RFC 9207 for the browser coming back, RFC 8414
//! §3.3 for the metadata, RFC 9728 for the protected-resource metadata),
//! each against the OAuth emulator set up to break that one rule. A refused
//! sign-in never reaches the token endpoint; a refused document is never
//! used (no registration, authorize or token request follows it).

mod oauth_support;
mod support;

use mcp_bridge::emulator::oauth::{Iss, MetadataIssuer, OAuthEmulator, OAuthOptions, PrmResource};
use oauth_support::*;

/// Signs in with `login`, the browser played; (success, stderr).
async fn sign_in(emu: &OAuthEmulator) -> (bool, String) {
    let env = Env::new(&emu.url(), "");
    let (ok, _, stderr) = login(&env, true).await;
    if ok {
        assert!(env.record().access_token.is_some(), "signed in without a token");
    }
    (ok, stderr)
}

fn token_requests(emu: &OAuthEmulator) -> usize {
    emu.count("/token", None)
}

#[tokio::test]
async fn a_sign_in_answered_by_another_issuer_is_refused() {
    let emu = OAuthEmulator::start(OAuthOptions {
        iss: Iss::Other("https://evil.example.com".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let (ok, stderr) = sign_in(&emu).await;
    assert!(!ok, "a response naming another issuer was accepted");
    assert!(
        stderr.contains("https://evil.example.com") && stderr.contains("RFC 9207"),
        "{stderr}"
    );
    assert_eq!(emu.count("/authorize", None), 1, "the browser went to the server");
    assert_eq!(token_requests(&emu), 0, "the code must not be exchanged");
}

#[tokio::test]
async fn an_issuer_differing_only_by_a_trailing_slash_is_refused() {
    let emu = OAuthEmulator::start(OAuthOptions {
        iss: Iss::TrailingSlash,
        advertise_iss: Some(true),
        ..Default::default()
    })
    .await
    .unwrap();
    let (ok, stderr) = sign_in(&emu).await;
    assert!(!ok, "a normalised issuer was accepted: {stderr}");
    assert_eq!(token_requests(&emu), 0);
}

#[tokio::test]
async fn a_sign_in_without_iss_is_refused_where_the_server_promised_one() {
    let emu = OAuthEmulator::start(OAuthOptions {
        iss: Iss::Omitted,
        advertise_iss: Some(true),
        ..Default::default()
    })
    .await
    .unwrap();
    let (ok, stderr) = sign_in(&emu).await;
    assert!(!ok, "a response without the promised iss was accepted");
    assert!(stderr.contains("no `iss`"), "{stderr}");
    assert_eq!(token_requests(&emu), 0);
}

#[tokio::test]
async fn a_sign_in_without_iss_is_taken_where_the_server_promised_none() {
    let emu = OAuthEmulator::start(OAuthOptions {
        iss: Iss::Omitted,
        advertise_iss: None,
        ..Default::default()
    })
    .await
    .unwrap();
    let (ok, stderr) = sign_in(&emu).await;
    assert!(ok, "{stderr}");
    assert_eq!(token_requests(&emu), 1);
}

#[tokio::test]
async fn a_sign_in_with_the_right_iss_is_taken_where_the_server_promised_it() {
    let emu = OAuthEmulator::start(OAuthOptions {
        advertise_iss: Some(true),
        ..Default::default()
    })
    .await
    .unwrap();
    let (ok, stderr) = sign_in(&emu).await;
    assert!(ok, "{stderr}");
}

/// Requests that would follow from using the metadata.
fn used_metadata(emu: &OAuthEmulator) -> usize {
    ["/register", "/authorize", "/token"]
        .iter()
        .map(|p| emu.count(p, None))
        .sum()
}

#[tokio::test]
async fn metadata_naming_another_issuer_is_never_used() {
    let emu = OAuthEmulator::start(OAuthOptions {
        metadata_issuer: MetadataIssuer::Other("https://attacker.example.com".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let (ok, stderr) = sign_in(&emu).await;
    assert!(!ok);
    assert!(
        stderr.contains("https://attacker.example.com") && stderr.contains("RFC 8414"),
        "{stderr}"
    );
    assert_eq!(used_metadata(&emu), 0, "{:?}", emu.log());
}

/// The same host and port, but not the issuer it was looked up for
/// (`…/as`): matching by origin would take it.
#[tokio::test]
async fn metadata_naming_another_issuer_on_the_same_origin_is_never_used() {
    let emu = OAuthEmulator::start(OAuthOptions {
        metadata_issuer: MetadataIssuer::Origin,
        ..Default::default()
    })
    .await
    .unwrap();
    let (ok, stderr) = sign_in(&emu).await;
    assert!(!ok, "metadata for another issuer on the same origin was used");
    assert!(stderr.contains(&format!("not `{}`", emu.issuer())), "{stderr}");
    assert_eq!(used_metadata(&emu), 0, "{:?}", emu.log());
}

#[tokio::test]
async fn metadata_without_an_issuer_is_never_used() {
    let emu = OAuthEmulator::start(OAuthOptions {
        metadata_issuer: MetadataIssuer::Missing,
        ..Default::default()
    })
    .await
    .unwrap();
    let (ok, stderr) = sign_in(&emu).await;
    assert!(!ok);
    assert!(stderr.contains("names no `issuer`"), "{stderr}");
    assert_eq!(used_metadata(&emu), 0, "{:?}", emu.log());
}

#[tokio::test]
async fn protected_resource_metadata_without_resource_is_refused() {
    let emu = OAuthEmulator::start(OAuthOptions {
        prm_resource: PrmResource::Missing,
        ..Default::default()
    })
    .await
    .unwrap();
    let (ok, stderr) = sign_in(&emu).await;
    assert!(!ok);
    assert!(stderr.contains("names no `resource`"), "{stderr}");
    let as_metadata = emu
        .log()
        .iter()
        .filter(|l| l.path.contains("oauth-authorization-server") || l.path.contains("openid-configuration"))
        .count();
    assert_eq!(as_metadata, 0, "no authorization server is looked up");
    assert_eq!(used_metadata(&emu), 0);
}

#[tokio::test]
async fn protected_resource_metadata_for_another_resource_is_refused() {
    let emu = OAuthEmulator::start(OAuthOptions {
        prm_resource: PrmResource::Other("https://elsewhere.example.com/mcp".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let (ok, stderr) = sign_in(&emu).await;
    assert!(!ok);
    assert!(stderr.contains("https://elsewhere.example.com/mcp"), "{stderr}");
    assert_eq!(used_metadata(&emu), 0);
}

#[tokio::test]
async fn the_resource_goes_out_exactly_as_published_with_no_slash_added() {
    // A bare origin: a URL parser would write it back as `http://host:port/`.
    let emu = OAuthEmulator::start(OAuthOptions {
        prm_resource: PrmResource::Origin,
        ..Default::default()
    })
    .await
    .unwrap();
    let (ok, stderr) = sign_in(&emu).await;
    assert!(ok, "{stderr}");
    let published = format!("http://{}", emu.addr);
    let log = emu.log();
    let authorize = log.iter().find(|l| l.path == "/authorize").unwrap();
    let token = log.iter().find(|l| l.path == "/token").unwrap();
    assert_eq!(authorize.params["resource"], published);
    assert_eq!(token.params["resource"], published);
}
