//! A server that moves to another authorization server while the bridge
//! runs: the next 401 names the new one, the bridge drops the old tokens
//! (without sending the old refresh token anywhere), and the next tool call
//! goes through the usual sign-in gate, with discovery and a new
//! registration at the new server, with no restart. The registration the
//! old server issued is kept for it, and never shown to the new one.

mod oauth_support;
mod support;

use mcp_bridge::emulator::oauth::{OAuthEmulator, OAuthOptions};
use oauth_support::*;

#[tokio::test]
async fn a_server_that_moves_to_another_authorization_server_signs_in_there_without_a_restart() {
    let emu = OAuthEmulator::start(OAuthOptions::default()).await.unwrap();
    let first_issuer = emu.issuer();
    let env = Env::new(&emu.url(), "");
    let mut b = env.serve();
    handshake(&mut b).await;
    let url = sign_in_link(&echo(&mut b, "hi").await);
    finish_sign_in(&env, &mut b, &url).await;
    assert_eq!(text_of(&echo(&mut b, "before").await), "before");
    let old_client = env.record().extra["oauth"]["client"]["client_id"]
        .as_str()
        .unwrap()
        .to_string();
    let old_refresh = env.record().refresh_token.expect("a refresh token");

    emu.move_authorization_server();
    let new_issuer = emu.issuer();
    assert_ne!(new_issuer, first_issuer);

    // The call that meets the move fails with advice; the tokens are gone.
    let refused = echo(&mut b, "during").await;
    let message = refused["error"]["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("call one of its tools"), "{refused}");
    env.wait_record("tokens dropped", |r| r.access_token.is_none()).await;
    assert!(
        !emu.log()
            .iter()
            .any(|l| l.path == "/token" && l.params.get("refresh_token") == Some(&old_refresh)),
        "the old server's refresh token was sent after the move"
    );

    // The next call signs in at the new server, registering there.
    let url = sign_in_link(&echo(&mut b, "again").await);
    assert_eq!(emu.registrations(), 2, "registered with the new server");
    assert!(
        !url.contains(&old_client),
        "the old server's client went to the new one: {url}"
    );
    let (status, page) = play_browser(&url).await;
    assert_eq!(status, 200, "{page}");
    wait_list_changed(&mut b).await;
    assert_eq!(text_of(&echo(&mut b, "after").await), "after");

    // Both registrations are kept, each under its own issuer.
    let rec = env.record();
    let registrations = rec.extra["oauth"]["registrations"].as_object().unwrap();
    assert!(registrations.contains_key(&first_issuer), "{registrations:?}");
    assert!(registrations.contains_key(&new_issuer), "{registrations:?}");
    assert_eq!(rec.extra["oauth"]["issuer"], new_issuer.as_str());
}
