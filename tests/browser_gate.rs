//! The browser gate: a server whose own OAuth metadata names a hostile
//! `authorization_endpoint` (a `file:` path, a Windows `search-ms:` query,
//! plain http to another machine, a URL with a line break) never gets it
//! opened, through `login` or through a signed-out tool call in `serve`;
//! the refusal names the URL, escaped.

mod hostile_oauth;
mod oauth_support;
mod support;

use oauth_support::{Env, text_of};
use std::sync::Arc;

/// An MCP server that wants OAuth and names `authorize` as its sign-in page.
async fn hostile_authorization_server(authorize: &str) -> String {
    let authorize: Arc<str> = Arc::from(authorize);
    hostile_oauth::start(hostile_oauth::Script {
        metadata: Box::new(move |_, m| m["authorization_endpoint"] = serde_json::json!(&*authorize)),
        register_redirect: None,
    })
    .await
}

const HOSTILE: [&str; 4] = [
    "file:///etc/passwd",
    "search-ms:query=invoice&crumb=location:%5C%5Cevil.example%5Cshare",
    "http://evil.example/authorize",
    "https://auth.example/authorize\n2026-01-01T00:00:00Z  INFO forged",
];

/// How each hostile URL is named in the refusal: escaped, on one line.
fn named(authorize: &str) -> String {
    authorize.replace('\n', "\\n")
}

#[tokio::test]
async fn login_never_opens_a_hostile_authorization_endpoint() {
    for authorize in HOSTILE {
        let url = hostile_authorization_server(authorize).await;
        let env = Env::new(&url, "");
        // Without --no-browser: the browser would be opened on the link.
        let out = env.cli(&["login", oauth_support::SERVER]).output().await.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{authorize}: {stderr}");
        assert_eq!(env.opens(), Vec::<String>::new(), "{authorize} reached the browser");
        assert!(
            stderr.contains(&format!("refusing to open `{}", named(authorize))),
            "{authorize}: {stderr}"
        );
        assert!(!stderr.contains("\n2026-01-01T00:00:00Z  INFO forged"), "{stderr}");
    }
}

#[tokio::test]
async fn login_opens_a_well_formed_authorization_endpoint() {
    // The control for the test above: the same server, its sign-in page
    // left as it is, does reach the (fake) browser.
    let url = hostile_oauth::start(hostile_oauth::Script::default()).await;
    let env = Env::new(&url, "");
    let _login = env.cli(&["login", oauth_support::SERVER]).spawn().unwrap();
    let opened = env.wait_opens(1).await;
    assert!(opened[0].starts_with(&url.replace("/mcp", "/authorize?")), "{opened:?}");
}

#[tokio::test]
async fn a_signed_out_tool_call_never_opens_a_hostile_authorization_endpoint() {
    for authorize in HOSTILE {
        let url = hostile_authorization_server(authorize).await;
        let env = Env::new(&url, "");
        let mut b = env.serve();
        oauth_support::handshake(&mut b).await;
        let r = oauth_support::call(&mut b, "echo", "hi").await;
        assert_eq!(r["result"]["isError"], true, "{r}");
        let text = text_of(&r);
        assert!(
            text.contains(&format!("refusing to open `{}", named(authorize))),
            "{authorize}: {r}"
        );
        assert!(r.pointer("/result/_meta/mcp-bridge~1sign-in").is_none(), "{r}");
        // The browser is started before the call is answered; the control
        // below shows a start is seen.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(env.opens(), Vec::<String>::new(), "{authorize} reached the browser");
        assert!(!b.stderr_text().contains("opened the browser"), "{}", b.stderr_text());
    }
    // The control: the same call on a server whose sign-in page is well
    // formed opens the browser on it.
    let url = hostile_oauth::start(hostile_oauth::Script::default()).await;
    let env = Env::new(&url, "");
    let mut b = env.serve();
    oauth_support::handshake(&mut b).await;
    let r = oauth_support::call(&mut b, "echo", "hi").await;
    assert!(r.pointer("/result/_meta/mcp-bridge~1sign-in").is_some(), "{r}");
    env.wait_opens(1).await;
}
