//! `provider = "zapier"` end to end against the Zapier emulator: the
//! connection token as Bearer, the remote's `tools/list_changed` reaching
//! the client, an expired connection token (Zapier answers 404) told to be
//! rotated with no fallback to an SSE transport Zapier does not offer, the
//! legacy secret URL (redacted from logs and errors), and white-label
//! OAuth: 401 → form-encoded refresh → rotated pair stored at once →
//! replay, reuse of the stored pair by the next run, and a failed refresh
//! saying to run the partner flow again.

mod providers_common;
mod support;

use mcp_bridge::emulator::zapier::{ZapierEmulator, ZapierOptions};
use providers_common::{data_dir, mode, serve, store_path, text_of, token_file, tool_names, wait_for};
use serde_json::{Value, json};
use std::collections::HashMap;

fn form(body: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes()).into_owned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_token_goes_as_bearer_and_list_changed_reaches_the_client() {
    let emu = ZapierEmulator::start(ZapierOptions {
        connection_token: Some("zct_4f1d2e9a".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let store = data_dir();
    let cfg = format!(
        "[servers.zap]\nprovider = \"zapier\"\nurl = \"{}\"\ntoken = \"${{ZAP_TEST_TOKEN}}\"\n",
        emu.connect_url()
    );
    let mut b = serve(&cfg, "zap", &store_path(&store), &[("ZAP_TEST_TOKEN", "zct_4f1d2e9a")]);
    b.initialize(json!({})).await;
    let tools = b.request_ok("tools/list", Value::Null).await;
    assert_eq!(tool_names(&tools), ["enable_zapier_action"]);
    let r = b
        .request_ok(
            "tools/call",
            json!({"name": "enable_zapier_action", "arguments": {"action": "slack_send_message"}}),
        )
        .await;
    assert_eq!(text_of(&r), "enabled slack_send_message");
    let note = b.next_other().expect("the remote's notification was relayed");
    assert_eq!(note["method"], "notifications/tools/list_changed");
    let tools = b.request_ok("tools/list", Value::Null).await;
    assert_eq!(tool_names(&tools), ["enable_zapier_action", "slack_send_message"]);

    let posts: Vec<_> = emu.mcp_requests().into_iter().filter(|r| r.method == "POST").collect();
    assert!(posts.len() >= 5);
    for r in posts {
        assert_eq!(r.path, "/api/v1/connect");
        assert_eq!(r.header("authorization"), Some("Bearer zct_4f1d2e9a"));
        assert_eq!(r.query_param("token"), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_url_works_and_never_shows() {
    let secret = "sEcReTzap9c1b2d3e4";
    let emu = ZapierEmulator::start(ZapierOptions {
        secret: Some(secret.into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let store = data_dir();
    let cfg = format!("[servers.zap]\nprovider = \"zapier\"\nurl = \"{}\"\n", emu.secret_url());
    let mut b = serve(&cfg, "zap", &store_path(&store), &[("RUST_LOG", "trace")]);
    b.initialize(json!({})).await;
    let tools = b.request_ok("tools/list", Value::Null).await;
    assert_eq!(tool_names(&tools), ["enable_zapier_action"]);
    let err = b.request("tools/call", json!({"name": "nope", "arguments": {}})).await;
    assert_eq!(err["error"]["code"], -32602);
    b.close_stdin();
    b.wait_exit(std::time::Duration::from_secs(10)).await;
    let log = b.stderr_text();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "trace logging was on: {log}"
    );
    assert!(!log.contains(secret), "the secret URL leaked into stderr:\n{log}");
    assert!(
        emu.requests().iter().any(|r| r.path.contains(secret)),
        "the URL was used"
    );

    // A wrong secret URL: the error the client gets must not show it either.
    let wrong = format!(
        "{}/api/mcp/s/wRoNgSeCrEt77/mcp",
        emu.connect_url().trim_end_matches("/api/v1/connect")
    );
    let cfg = format!("[servers.zap]\nprovider = \"zapier\"\nurl = \"{wrong}\"\n");
    let mut b = serve(&cfg, "zap", &store_path(&store), &[("RUST_LOG", "trace")]);
    let resp = b
        .request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}),
        )
        .await;
    let shown = resp["error"].to_string();
    assert!(resp["error"].is_object(), "{resp}");
    assert!(!shown.contains("wRoNgSeCrEt77"), "{shown}");
    assert!(!b.stderr_text().contains("wRoNgSeCrEt77"), "{}", b.stderr_text());
}

fn oauth_config(emu: &ZapierEmulator) -> String {
    format!(
        "[servers.zap]\nprovider = \"zapier\"\nurl = \"{}\"\naccess_token = \"zat_0_first\"\n\
         refresh_token = \"zrt_0_first\"\nclient_id = \"zc_id\"\nclient_secret = \"zc_secret_77\"\ntoken_url = \"{}\"\n",
        emu.connect_url(),
        emu.token_url()
    )
}

fn oauth_emulator_options() -> ZapierOptions {
    ZapierOptions {
        client_id: "zc_id".into(),
        client_secret: "zc_secret_77".into(),
        // The configured access token has expired already.
        access_token: None,
        refresh_token: "zrt_0_first".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn white_label_token_is_refreshed_on_401_and_the_rotation_stored_at_once() {
    let emu = ZapierEmulator::start(oauth_emulator_options()).await.unwrap();
    let store = data_dir();
    let dir = store_path(&store);
    let mut b = serve(&oauth_config(&emu), "zap", &dir, &[]);
    b.initialize(json!({})).await;

    let tokens = emu.token_requests();
    assert_eq!(tokens.len(), 1);
    assert_eq!(
        tokens[0].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let expected: HashMap<String, String> = [
        ("grant_type", "refresh_token"),
        ("refresh_token", "zrt_0_first"),
        ("client_id", "zc_id"),
        ("client_secret", "zc_secret_77"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(form(&tokens[0].body), expected);
    // The first request of the run (the bridge's server/discover, which
    // asks what era the server speaks) is refused, then replayed with the
    // new token; initialize goes with the new token.
    let posts: Vec<_> = emu.mcp_requests().into_iter().filter(|r| r.method == "POST").collect();
    assert_eq!(posts[0].status, 401, "{posts:?}");
    assert_eq!(posts[0].header("authorization"), Some("Bearer zat_0_first"));
    let access = emu.access_token().unwrap();
    assert_eq!(posts[1].rpc_method(), posts[0].rpc_method(), "replayed");
    assert_eq!(
        posts[1].header("authorization"),
        Some(format!("Bearer {access}").as_str())
    );
    let inits: Vec<_> = posts
        .iter()
        .filter(|r| r.rpc_method().as_deref() == Some("initialize"))
        .collect();
    assert_eq!(inits.len(), 1);
    assert_eq!(
        inits[0].header("authorization"),
        Some(format!("Bearer {access}").as_str())
    );

    // The rotated pair is on disk before anything else, privately.
    let rec = token_file(&dir, "zap");
    assert_eq!(rec["access_token"], json!(access));
    let rotated = emu.refresh_token();
    assert_ne!(rotated, "zrt_0_first");
    assert_eq!(rec["refresh_token"], json!(rotated));
    #[cfg(unix)]
    {
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("zap.json")), 0o600);
    }
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains("tmp")), "{names:?}");

    // The next expiry refreshes with the rotated refresh token.
    wait_for("the GET stream attempt", || {
        emu.mcp_requests().iter().any(|r| r.method == "GET")
    })
    .await;
    emu.expire_access_token();
    b.request_ok("tools/list", Value::Null).await;
    let tokens = emu.token_requests();
    assert_eq!(tokens.len(), 2);
    assert_eq!(form(&tokens[1].body)["refresh_token"], rotated);
    assert_eq!(token_file(&dir, "zap")["refresh_token"], json!(emu.refresh_token()));
    drop(b);

    // A new run starts from the stored pair: no 401, no refresh.
    let before = emu.mcp_requests().len();
    let mut b = serve(&oauth_config(&emu), "zap", &dir, &[]);
    b.initialize(json!({})).await;
    assert_eq!(emu.token_requests().len(), 2);
    assert!(emu.mcp_requests()[before..].iter().all(|r| r.status != 401));
}

/// Issue 22, item 4: `login` does not apply to a white-label server, so
/// the error must not send the person there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_white_label_refresh_says_to_run_the_partner_flow_again() {
    let emu = ZapierEmulator::start(oauth_emulator_options()).await.unwrap();
    emu.revoke_refresh_token();
    let store = data_dir();
    let mut b = serve(
        &oauth_config(&emu),
        "zap",
        &store_path(&store),
        &[("RUST_LOG", "debug")],
    );
    let resp = b
        .request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}),
        )
        .await;
    let message = resp["error"]["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("invalid_grant"), "{resp}");
    assert!(
        !message.contains("mcp-bridge login"),
        "login refuses this server: {resp}"
    );
    assert!(message.contains("run your partner flow again"), "{resp}");
    assert!(
        message.contains("put the new `access_token` and `refresh_token` in [servers.zap]"),
        "{resp}"
    );
    for secret in ["zrt_0_first", "zc_secret_77", "zat_0_first"] {
        assert!(!message.contains(secret), "{message}");
        assert!(!b.stderr_text().contains(secret), "{}", b.stderr_text());
    }
    assert_eq!(emu.token_requests().len(), 1, "one refresh attempt");
}

fn token_config(emu: &ZapierEmulator) -> String {
    format!(
        "[servers.zap]\nprovider = \"zapier\"\nurl = \"{}\"\ntoken = \"zct_expiring_1\"\n",
        emu.connect_url()
    )
}

/// Whether the bridge tried the legacy HTTP+SSE transport: a GET without a
/// session (the GET stream of a Streamable HTTP session carries its ID).
fn tried_legacy_sse(emu: &ZapierEmulator) -> bool {
    emu.requests()
        .iter()
        .any(|r| r.method == "GET" && r.header("mcp-session-id").is_none())
}

/// Issue 22, item 2: Zapier answers an expired connection token with 404
/// (docs.zapier.com, "tools return 404"). The error says to rotate the
/// token, not to check `url`, and no SSE fallback is tried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_connection_token_says_to_get_a_new_one() {
    let emu = ZapierEmulator::start(ZapierOptions {
        connection_token: Some("zct_expiring_1".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let store = data_dir();
    let mut b = serve(&token_config(&emu), "zap", &store_path(&store), &[]);
    b.initialize(json!({})).await;
    b.request_ok("tools/list", Value::Null).await;

    // Mid-session: the call's 404 is first taken for a lost session, and
    // the new initialize's 404 for what it is.
    emu.expire_connection_token();
    let r = b
        .request(
            "tools/call",
            json!({"name": "enable_zapier_action", "arguments": {"action": "x"}}),
        )
        .await;
    let msg = r["error"]["message"].as_str().unwrap_or_default().to_string();
    assert!(msg.contains("HTTP 404"), "{r}");
    assert!(
        msg.contains("get a new connection token at https://mcp.zapier.com"),
        "{r}"
    );
    assert!(msg.contains("then put it in `token` of [servers.zap]"), "{r}");
    assert!(!msg.contains("check that `url`"), "{r}");
    assert!(!msg.contains("zct_expiring_1"), "{msg}");
    drop(b);

    // At start: the same advice, and no legacy SSE attempt.
    let mut b = serve(&token_config(&emu), "zap", &store_path(&store), &[]);
    let r = b
        .request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}),
        )
        .await;
    let msg = r["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("get a new connection token at"), "{r}");
    assert!(!tried_legacy_sse(&emu), "{:?}", emu.requests());
}

/// Zapier speaks Streamable HTTP only: `transport = "sse"` is refused with
/// the fix.
#[test]
fn transport_sse_is_refused_for_zapier() {
    let out = providers_common::check(
        "[servers.zap]\nprovider = \"zapier\"\ntoken = \"t\"\ntransport = \"sse\"\n",
        &[],
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("Streamable HTTP only"), "{}", out.stderr);
    assert!(out.stderr.contains("remove `transport`"), "{}", out.stderr);
}
