//! The extension grants, with no person at a browser: `auth =
//! "client_credentials"` for a server reached on behalf of a machine (the
//! client's secret by HTTP Basic or in the body, or a `private_key_jwt`
//! assertion), and `auth = "enterprise"` for a person whose organisation
//! signs them in (their ID token exchanged at the identity provider for an
//! ID-JAG, redeemed at the server's authorization server). Each against the
//! OAuth emulator, which checks the client's proof and the ID-JAG's binding.

mod oauth_support;
mod support;

use mcp_bridge::emulator::oauth::{IDP_CLIENT_ID, OAuthEmulator, OAuthOptions};
use oauth_support::*;
use serde_json::json;

const CLIENT: &str = "machine-client";
const SECRET: &str = "machine-secret-value";

async fn machine_emulator(methods: &[&str], key: Option<String>) -> OAuthEmulator {
    OAuthEmulator::start(OAuthOptions {
        preregistered: Some((CLIENT.into(), Some(SECRET.into()))),
        token_auth_methods: methods.iter().map(|m| m.to_string()).collect(),
        client_credentials: true,
        client_jwt_key: key,
        ..Default::default()
    })
    .await
    .unwrap()
}

/// A `client_credentials` server entry whose client has a secret.
fn secret_env(emu: &OAuthEmulator) -> Env {
    Env::with_auth(
        &emu.url(),
        "client_credentials",
        &format!("client_id = \"{CLIENT}\"\nclient_secret = \"{SECRET}\""),
    )
}

/// A `client_credentials` server entry whose client signs with `key`,
/// kept in a PEM file beside the config, as a person would keep it.
fn key_env(emu: &OAuthEmulator, key: &rcgen::KeyPair) -> Env {
    let env = Env::with_auth(&emu.url(), "client_credentials", &format!("client_id = \"{CLIENT}\""));
    let pem = env.dir.path().join("machine.pem");
    std::fs::write(&pem, key.serialize_pem()).unwrap();
    let table = std::fs::read_to_string(&env.config).unwrap();
    let line = format!("private_key = {{ file = \"{}\" }}\n", pem.display());
    std::fs::write(&env.config, table + &line).unwrap();
    env
}

/// Serves `env`, calls `echo` without any sign-in, and returns the token request.
async fn call_unattended(env: &Env, emu: &OAuthEmulator) -> mcp_bridge::emulator::oauth::Logged {
    let mut b = env.serve();
    let init = b.initialize(json!({})).await;
    assert_eq!(init["serverInfo"]["name"], "oauth-emulator", "{init}");
    assert_eq!(text_of(&echo(&mut b, "unattended").await), "unattended");
    assert!(env.opens().is_empty(), "no browser for an extension grant");
    let tokens: Vec<_> = emu.log().into_iter().filter(|l| l.path == "/token").collect();
    assert_eq!(tokens.len(), 1, "one token request: {tokens:?}");
    assert_eq!(tokens[0].status, 200, "{:?}", tokens[0]);
    assert_eq!(tokens[0].params["resource"], emu.url());
    let stderr = b.stderr_text();
    assert!(!stderr.contains(SECRET), "the secret reached the log");
    tokens[0].clone()
}

#[tokio::test]
async fn a_machine_client_sends_its_secret_by_basic_where_the_server_takes_only_that() {
    let emu = machine_emulator(&["client_secret_basic"], None).await;
    let env = secret_env(&emu);
    let t = call_unattended(&env, &emu).await;
    assert_eq!(t.params["grant_type"], "client_credentials");
    assert!(t.params["authorization"].starts_with("Basic "), "{t:?}");
    assert!(!t.params.contains_key("client_secret"), "{t:?}");
}

#[tokio::test]
async fn a_machine_client_sends_its_secret_in_the_body_where_the_server_takes_that() {
    let emu = machine_emulator(&["client_secret_post"], None).await;
    let env = secret_env(&emu);
    let t = call_unattended(&env, &emu).await;
    assert_eq!(t.params["client_secret"], SECRET);
    assert!(!t.params.contains_key("authorization"), "{t:?}");
}

#[tokio::test]
async fn a_machine_client_proves_itself_with_a_signed_jwt() {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let emu = machine_emulator(&["private_key_jwt"], Some(key.public_key_pem())).await;
    let env = key_env(&emu, &key);
    let t = call_unattended(&env, &emu).await;
    assert_eq!(
        t.params["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert!(!t.params.contains_key("client_secret"), "{t:?}");
}

#[tokio::test]
async fn a_jwt_signed_with_another_key_is_refused_with_a_clear_error() {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let other = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let emu = machine_emulator(&["private_key_jwt"], Some(key.public_key_pem())).await;
    let env = key_env(&emu, &other);
    let mut b = env.serve();
    let init = b
        .request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"}}),
        )
        .await;
    let message = init["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("client_credentials") && message.contains("invalid_client"),
        "{init}"
    );
    assert!(
        message.contains("private_key"),
        "the error names the key to fix: {init}"
    );
}

#[tokio::test]
async fn an_organisation_signs_its_person_in_with_an_id_jag() {
    let emu = OAuthEmulator::start(OAuthOptions {
        preregistered: Some((CLIENT.into(), Some(SECRET.into()))),
        token_auth_methods: vec!["client_secret_basic".into()],
        enterprise: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let env = Env::with_auth(
        &emu.url(),
        "enterprise",
        &format!(
            "client_id = \"{CLIENT}\"\nclient_secret = \"{SECRET}\"\nidp_issuer = \"{}\"\nidp_client_id = \"{IDP_CLIENT_ID}\"\nid_token = \"{}\"",
            emu.idp_issuer(),
            emu.id_token("alice@example.com")
        ),
    );
    let mut b = env.serve();
    b.initialize(json!({})).await;
    assert_eq!(text_of(&echo(&mut b, "from alice").await), "from alice");
    assert!(env.opens().is_empty(), "no browser");
    let log = emu.log();
    let exchange = log
        .iter()
        .find(|l| l.path == "/idp/token")
        .expect("a token exchange at the IdP");
    assert_eq!(exchange.status, 200, "{exchange:?}");
    assert_eq!(exchange.params["audience"], emu.issuer());
    assert_eq!(exchange.params["resource"], emu.url());
    let redeem = log.iter().find(|l| l.path == "/token").expect("the ID-JAG redeemed");
    assert_eq!(
        redeem.params["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    assert_eq!(redeem.status, 200, "{redeem:?}");
    assert!(redeem.params["authorization"].starts_with("Basic "), "{redeem:?}");
}

#[tokio::test]
async fn a_forged_id_token_is_refused_at_the_identity_provider_with_advice() {
    let emu = OAuthEmulator::start(OAuthOptions {
        preregistered: Some((CLIENT.into(), Some(SECRET.into()))),
        enterprise: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let genuine = emu.id_token("alice@example.com");
    // Same header and claims, another signature.
    let forged = format!("{}.AAAA", genuine.rsplit_once('.').unwrap().0);
    let env = Env::with_auth(
        &emu.url(),
        "enterprise",
        &format!(
            "client_id = \"{CLIENT}\"\nclient_secret = \"{SECRET}\"\nidp_issuer = \"{}\"\nidp_client_id = \"{IDP_CLIENT_ID}\"\nid_token = \"{forged}\"",
            emu.idp_issuer()
        ),
    );
    let mut b = env.serve();
    let init = b
        .request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"}}),
        )
        .await;
    let message = init["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("id_token"), "{init}");
    assert!(!message.contains(&forged), "the token reached the error: {init}");
    assert_eq!(emu.count("/token", None), 0, "nothing to redeem");
}

#[tokio::test]
async fn login_and_status_say_an_extension_grant_needs_no_browser() {
    let emu = machine_emulator(&["client_secret_basic"], None).await;
    let env = secret_env(&emu);
    let out = env.cli(&["status"]).output().await.unwrap();
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(status.contains("client_credentials grant: no token yet"), "{status}");
    let (ok, _, stderr) = login(&env, false).await;
    assert!(!ok);
    assert!(stderr.contains("signs in with no browser"), "{stderr}");
    assert!(emu.log().is_empty(), "neither command talks to the server");
    assert!(env.opens().is_empty());
}

#[tokio::test]
async fn an_incomplete_grant_entry_is_a_config_error_naming_the_key_to_set() {
    let cases: &[(&str, &str, &str)] = &[
        ("client_credentials", "client_id = \"c\"", "client_secret"),
        (
            "client_credentials",
            "client_id = \"c\"\nclient_secret = \"s\"\nprivate_key = \"k\"",
            "not both",
        ),
        (
            "client_credentials",
            "client_id = \"c\"\nprivate_key = \"not a key\"",
            "not a PEM private key",
        ),
        ("client_credentials", "client_secret = \"s\"", "client_id"),
        ("enterprise", "client_id = \"c\"", "idp_issuer"),
        (
            "enterprise",
            "client_id = \"c\"\nidp_issuer = \"https://sso.example.com\"\nidp_client_id = \"d\"",
            "id_token",
        ),
    ];
    for (auth, extra, key) in cases {
        let env = Env::with_auth("https://mcp.example.com/mcp", auth, extra);
        let out = env.cli(&["check"]).output().await.unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{auth} {extra}: accepted");
        assert!(
            err.contains(key),
            "{auth} {extra}: the error does not name `{key}`: {err}"
        );
    }
}
