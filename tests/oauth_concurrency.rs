//! Bridges started side by side for one server (a host launching several
//! instances) share the sign-in: one client registration, one browser tab,
//! one PKCE exchange, and later one refresh between them.

mod oauth_support;
mod support;

use mcp_bridge::emulator::oauth::{OAuthEmulator, OAuthOptions};
use oauth_support::*;

#[tokio::test]
async fn two_instances_make_one_registration_one_browser_tab_and_one_refresh() {
    let emu = OAuthEmulator::start(OAuthOptions::default()).await.unwrap();
    let env = Env::new(&emu.url(), "");
    let mut a = env.serve();
    let mut b = env.serve();
    tokio::join!(handshake(&mut a), handshake(&mut b));

    let (ra, rb) = tokio::join!(echo(&mut a, "a"), echo(&mut b, "b"));
    let (ua, ub) = (sign_in_url(&ra), sign_in_url(&rb));
    assert_eq!(ua, ub, "both instances send the person to the same sign-in");
    assert_eq!(env.wait_opens(1).await, std::slice::from_ref(&ua), "one browser tab");
    assert_eq!(emu.registrations(), 1, "one client registration");

    let (status, _) = play_browser(&ua).await;
    assert_eq!(status, 200);
    tokio::join!(wait_list_changed(&mut a), wait_list_changed(&mut b));
    let (ra, rb) = tokio::join!(echo(&mut a, "a"), echo(&mut b, "b"));
    assert_eq!((text_of(&ra), text_of(&rb)), ("a".into(), "b".into()));
    assert_eq!(emu.count("/token", Some(("grant_type", "authorization_code"))), 1);
    assert_eq!(emu.count("/authorize", None), 1);

    // The token nears expiry while both are busy: one refresh serves both.
    env.store()
        .update(SERVER, |r| r.expires_at = Some(mcp_bridge::store::now() + 2))
        .await
        .unwrap();
    let (ra, rb) = tokio::join!(echo(&mut a, "a2"), echo(&mut b, "b2"));
    assert_eq!((text_of(&ra), text_of(&rb)), ("a2".into(), "b2".into()), "{ra} {rb}");
    assert_eq!(
        emu.count("/token", Some(("grant_type", "refresh_token"))),
        1,
        "one refresh"
    );
    // Every call since has been answered: had either bridge started a second
    // browser, its log would say so by now.
    assert_eq!(env.opens().len(), 1, "still one browser tab");
    assert_eq!(opened_by(&a) + opened_by(&b), 1, "one browser start between them");
}
