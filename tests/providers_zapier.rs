//! `provider = "zapier"` end to end against the Zapier emulator: the
//! connection token as Bearer, the remote's `tools/list_changed` reaching
//! the client, the legacy secret URL (redacted from logs and errors), and
//! white-label OAuth: 401 → form-encoded refresh → rotated pair stored at
//! once → replay, reuse of the stored pair by the next run, and a failed
//! refresh telling to run `mcp-bridge login <name>`.

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
    let inits: Vec<_> = emu
        .mcp_requests()
        .into_iter()
        .filter(|r| r.rpc_method().as_deref() == Some("initialize"))
        .collect();
    assert_eq!(inits.len(), 2, "refused, then replayed");
    assert_eq!(inits[0].status, 401);
    assert_eq!(inits[0].header("authorization"), Some("Bearer zat_0_first"));
    let access = emu.access_token().unwrap();
    assert_eq!(
        inits[1].header("authorization"),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refresh_tells_to_log_in_again() {
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
    assert!(message.contains("run `mcp-bridge login zap`"), "{resp}");
    assert!(message.contains("invalid_grant"), "{resp}");
    for secret in ["zrt_0_first", "zc_secret_77", "zat_0_first"] {
        assert!(!message.contains(secret), "{message}");
        assert!(!b.stderr_text().contains(secret), "{}", b.stderr_text());
    }
    assert_eq!(emu.token_requests().len(), 1, "one refresh attempt");
}
