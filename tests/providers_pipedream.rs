//! `provider = "pipedream"` end to end: the bridge binary over stdio against
//! the Pipedream emulator, which serves the root endpoint (tool modes) and
//! `/v3` (the current one: full tool schemas, no tool modes). Asserts the
//! token request and every `x-pd-*` header on the emulator's side, the
//! header-only options as config keys, `/v3` as the default, a retired
//! endpoint told how to change `base_url`, conversation IDs, refresh before
//! expiry and after a 401 (with replay), the token store (absolute expiry,
//! file modes, reuse across runs) and one token request from two bridge
//! processes started at once.

mod providers_common;
mod support;

use mcp_bridge::emulator::pipedream::{PipedreamEmulator, PipedreamOptions};
use providers_common::{data_dir, mode, now, serve, store_path, text_of, token_file, tool_names, wait_for};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

const SECRET: &str = "pd-secret-0b5e7a";

fn options() -> PipedreamOptions {
    PipedreamOptions {
        client_id: "pd-client-42".into(),
        client_secret: SECRET.into(),
        ..Default::default()
    }
}

fn config(emu: &PipedreamEmulator, base_path: &str, extra: &str) -> String {
    format!(
        "[servers.pd]\nprovider = \"pipedream\"\nclient_id = \"pd-client-42\"\nclient_secret = \"{SECRET}\"\n\
         project_id = \"proj_x7Yz\"\nenvironment = \"development\"\nexternal_user_id = \"user-17\"\n\
         base_url = \"{base}{base_path}\"\napi_base = \"{base}\"\n{extra}",
        base = emu.base()
    )
}

/// The `x-pd-*` headers of a recorded request.
fn pd_headers(r: &mcp_bridge::emulator::common::Recorded) -> BTreeMap<String, String> {
    r.headers
        .iter()
        .filter(|(k, _)| k.starts_with("x-pd-"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Also issue 22, item 3: Pipedream's header-only options (its MCP docs,
/// from pull request #17249) are config keys, and `/v3` gets no tool mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_the_token_request_and_every_header_to_the_v3_path() {
    let emu = PipedreamEmulator::start(options()).await.unwrap();
    let store = data_dir();
    let extra = "app = \"slack\"\naccount_id = \"apn_9Qr\"\noauth_app_id = \"oa_7Kd\"\n\
                 webhook_uri = \"https://app.example/pd-hook\"\n\
                 success_redirect_uri = \"https://app.example/connected\"\n\
                 error_redirect_uri = \"https://app.example/failed\"\n";
    let mut b = serve(&config(&emu, "/v3", extra), "pd", &store_path(&store), &[]);
    b.initialize(json!({})).await;
    let tools = b.request_ok("tools/list", Value::Null).await;
    assert_eq!(tool_names(&tools), ["slack-send-message", "slack-list-channels"]);
    let call = b
        .request_ok(
            "tools/call",
            json!({"name": "slack-send-message", "arguments": {"channel": "general", "text": "hi"}}),
        )
        .await;
    assert!(text_of(&call).contains("for user-17"), "{call}");

    let tokens = emu.token_requests();
    assert_eq!(tokens.len(), 1, "one token request");
    let t = &tokens[0];
    assert_eq!(t.method, "POST");
    assert_eq!(t.header("content-type"), Some("application/json"));
    assert_eq!(
        t.json().unwrap(),
        json!({"grant_type": "client_credentials", "client_id": "pd-client-42", "client_secret": SECRET})
    );

    let token = &emu.issued_tokens()[0];
    let expected: BTreeMap<String, String> = [
        ("x-pd-project-id", "proj_x7Yz"),
        ("x-pd-environment", "development"),
        ("x-pd-external-user-id", "user-17"),
        ("x-pd-app-slug", "slack"),
        ("x-pd-account-id", "apn_9Qr"),
        ("x-pd-oauth-app-id", "oa_7Kd"),
        ("x-pd-webhook-uri", "https://app.example/pd-hook"),
        ("x-pd-success-redirect-uri", "https://app.example/connected"),
        ("x-pd-error-redirect-uri", "https://app.example/failed"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let posts: Vec<_> = emu.mcp_requests().into_iter().filter(|r| r.method == "POST").collect();
    assert!(posts.len() >= 4, "initialize, initialized, list, call: {posts:?}");
    for r in &posts {
        assert_eq!(r.path, "/v3", "the /v3 base path is kept");
        // The bridge's first-start server/discover asks which era the
        // server speaks; a 2025 server refuses it, with every header sent.
        let status = match r.rpc_method().as_deref() {
            Some("notifications/initialized") => 202,
            Some("server/discover") => r.status,
            _ => 200,
        };
        assert_eq!(r.status, status);
        assert_eq!(r.header("authorization"), Some(format!("Bearer {token}").as_str()));
        assert_eq!(pd_headers(r), expected, "{} {:?}", r.body, r.headers);
    }
}

/// Issue 22, item 3: the default endpoint is `/v3`, Pipedream's current
/// server (its tool-modes page, 2026-04-15).
#[test]
fn the_default_endpoint_is_v3() {
    let cfg = "[servers.pd]\nprovider = \"pipedream\"\nclient_id = \"c\"\nclient_secret = \"s\"\n\
               project_id = \"proj_1\"\nenvironment = \"development\"\nexternal_user_id = \"u\"\napp = \"slack\"\n";
    let out = providers_common::check(cfg, &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.contains("https://remote.mcp.pipedream.net/v3"),
        "{}",
        out.stdout
    );
    // `tool_mode` belongs to the root endpoint: on /v3 it is refused with the fix.
    let out = providers_common::check(&format!("{cfg}tool_mode = \"sub-agent\"\n"), &[]);
    assert_eq!(out.code, Some(2), "{}", out.stdout);
    assert!(out.stderr.contains("no tool modes"), "{}", out.stderr);
    assert!(
        out.stderr.contains("base_url = \"https://remote.mcp.pipedream.net\""),
        "{}",
        out.stderr
    );
}

/// The two endpoints differ as Pipedream documents: the root shapes tools
/// by tool mode (sub-agent by default), `/v3` always gives full schemas.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_root_endpoint_has_tool_modes_and_v3_has_full_schemas() {
    let emu = PipedreamEmulator::start(options()).await.unwrap();
    let store = data_dir();
    for (base, names) in [
        ("", ["SLACK-SEND-MESSAGE", "SLACK-LIST-CHANNELS"]),
        ("/v3", ["slack-send-message", "slack-list-channels"]),
    ] {
        let mut b = serve(&config(&emu, base, "app = \"slack\"\n"), "pd", &store_path(&store), &[]);
        b.initialize(json!({})).await;
        let tools = b.request_ok("tools/list", Value::Null).await;
        assert_eq!(tool_names(&tools), names, "{base}");
    }
    // No tool mode goes to /v3.
    assert!(
        emu.mcp_requests().iter().all(|r| r.header("x-pd-tool-mode").is_none()),
        "the root's default is sub-agent, and /v3 has none"
    );
}

/// Issue 22: an endpoint Pipedream no longer serves gets an error that says
/// how to change `base_url`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retired_endpoint_says_how_to_change_base_url() {
    let emu = PipedreamEmulator::start(PipedreamOptions {
        root_retired: true,
        ..options()
    })
    .await
    .unwrap();
    let store = data_dir();
    let mut b = serve(&config(&emu, "", "app = \"slack\"\n"), "pd", &store_path(&store), &[]);
    let r = b
        .request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}),
        )
        .await;
    let msg = r["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("HTTP 404"), "{r}");
    assert!(
        msg.contains("set `base_url = \"https://remote.mcp.pipedream.net/v3\"` in [servers.pd]"),
        "{r}"
    );
    assert!(!msg.contains(SECRET), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_config_gets_one_conversation_id_per_run_and_discovery_headers() {
    let emu = PipedreamEmulator::start(options()).await.unwrap();
    let store = data_dir();
    let cfg = config(&emu, "", "app_discovery = true\n");
    let mut ids = vec![];
    for _ in 0..2 {
        let before = emu.mcp_requests().len();
        let mut b = serve(&cfg, "pd", &store_path(&store), &[]);
        b.initialize(json!({})).await;
        b.request_ok("tools/list", Value::Null).await;
        let run: Vec<_> = emu
            .mcp_requests()
            .into_iter()
            .skip(before)
            .filter(|r| r.method == "POST")
            .collect();
        let conv: Vec<_> = run
            .iter()
            .map(|r| r.header("x-pd-conversation-id").map(str::to_string))
            .collect();
        let first = conv[0].clone().expect("x-pd-conversation-id sent");
        assert!(uuid::Uuid::parse_str(&first).is_ok(), "{first}");
        assert!(conv.iter().all(|c| c.as_deref() == Some(first.as_str())), "{conv:?}");
        for r in &run {
            assert_eq!(r.header("x-pd-tool-mode"), Some("full-config"));
            assert_eq!(r.header("x-pd-app-discovery"), Some("true"));
            assert_eq!(r.header("x-pd-app-slug"), None);
        }
        ids.push(first);
    }
    assert_ne!(ids[0], ids[1], "a new conversation per run");

    // A configured conversation_id is sent as is.
    let cfg = config(
        &emu,
        "",
        "app = \"gmail\"\ntool_mode = \"full-config\"\nconversation_id = \"conv-7\"\n",
    );
    let mut b = serve(&cfg, "pd", &store_path(&store), &[]);
    b.initialize(json!({})).await;
    let last = emu
        .mcp_requests()
        .into_iter()
        .rev()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(last.header("x-pd-conversation-id"), Some("conv-7"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshes_two_minutes_before_expiry_and_stores_the_absolute_expiry() {
    let emu = PipedreamEmulator::start(PipedreamOptions {
        expires_in: 126,
        ..options()
    })
    .await
    .unwrap();
    let store = data_dir();
    let cfg = config(&emu, "", "app = \"slack\"\n");
    let mut b = serve(&cfg, "pd", &store_path(&store), &[]);
    let started = now();
    b.initialize(json!({})).await;
    b.request_ok("tools/list", Value::Null).await;
    assert_eq!(emu.token_requests().len(), 1, "the fresh token is reused");

    let rec = token_file(&store_path(&store), "pd");
    let expires_at = rec["expires_at"].as_u64().expect("absolute expires_at");
    assert!(expires_at >= started + 126 && expires_at <= now() + 126, "{rec}");
    assert!(rec.get("expires_in").is_none(), "{rec}");
    assert_eq!(rec["access_token"], json!(emu.issued_tokens()[0]));
    #[cfg(unix)]
    {
        assert_eq!(mode(&store_path(&store)), 0o700);
        assert_eq!(mode(&store_path(&store).join("pd.json")), 0o600);
    }

    // Within 120 s of expiry: a new token before the old one expires.
    tokio::time::sleep(Duration::from_secs(7)).await;
    b.request_ok("tools/list", Value::Null).await;
    assert_eq!(emu.token_requests().len(), 2, "refreshed inside the margin");
    let issued = emu.issued_tokens();
    let last = emu
        .mcp_requests()
        .into_iter()
        .rfind(|r| r.rpc_method().as_deref() == Some("tools/list"))
        .unwrap();
    assert_eq!(
        last.header("authorization"),
        Some(format!("Bearer {}", issued[1]).as_str())
    );
    assert!(emu.requests().iter().all(|r| r.status != 401), "no request was refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshes_once_after_a_401_and_replays_the_request() {
    let emu = PipedreamEmulator::start(options()).await.unwrap();
    let store = data_dir();
    let mut b = serve(&config(&emu, "", "app = \"slack\"\n"), "pd", &store_path(&store), &[]);
    b.initialize(json!({})).await;
    // The bridge's GET stream attempt (405 here) must not take the 401 below.
    wait_for("the GET stream attempt", || {
        emu.mcp_requests().iter().any(|r| r.method == "GET")
    })
    .await;
    emu.revoke_tokens();
    let tools = b.request_ok("tools/list", Value::Null).await;
    assert_eq!(tool_names(&tools), ["SLACK-SEND-MESSAGE", "SLACK-LIST-CHANNELS"]);

    assert_eq!(emu.token_requests().len(), 2);
    let lists: Vec<_> = emu
        .mcp_requests()
        .into_iter()
        .filter(|r| r.rpc_method().as_deref() == Some("tools/list"))
        .collect();
    assert_eq!(lists.len(), 2, "sent, then replayed once");
    assert_eq!(lists[0].status, 401);
    assert_eq!(lists[1].status, 200);
    assert_eq!(lists[0].body, lists[1].body, "the same request is replayed");
    let issued = emu.issued_tokens();
    assert_eq!(
        lists[1].header("authorization"),
        Some(format!("Bearer {}", issued[1]).as_str())
    );
    assert_eq!(token_file(&store_path(&store), "pd")["access_token"], json!(issued[1]));

    // A later 401 gets its own single refresh.
    emu.revoke_tokens();
    let before = emu.token_requests().len();
    let r = b.request_ok("tools/list", Value::Null).await;
    assert!(r["tools"].is_array());
    assert_eq!(emu.token_requests().len(), before + 1, "exactly one refresh per 401");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_reuses_the_stored_token() {
    let emu = PipedreamEmulator::start(options()).await.unwrap();
    let store = data_dir();
    let cfg = config(&emu, "", "app = \"slack\"\n");
    for _ in 0..2 {
        let mut b = serve(&cfg, "pd", &store_path(&store), &[]);
        b.initialize(json!({})).await;
    }
    assert_eq!(emu.token_requests().len(), 1, "the stored token is still fresh");
    // `status` reports the stored token's state, never the token itself.
    let (_dir, file) = support::write_config(&cfg);
    let out = std::process::Command::new(support::bridge_bin())
        .args(["--config", file.to_str().unwrap(), "status"])
        .env("MCP_BRIDGE_DATA_DIR", store_path(&store))
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.starts_with("pd") && shown.contains("pipedream token valid until"),
        "{shown}"
    );
    assert!(!shown.contains(&emu.issued_tokens()[0]), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_bridges_starting_together_make_one_token_request() {
    let emu = PipedreamEmulator::start(PipedreamOptions {
        token_delay: Duration::from_millis(700),
        ..options()
    })
    .await
    .unwrap();
    let store = data_dir();
    let cfg = config(&emu, "", "app = \"slack\"\n");
    let mut a = serve(&cfg, "pd", &store_path(&store), &[]);
    let mut b = serve(&cfg, "pd", &store_path(&store), &[]);
    let (ra, rb) = tokio::join!(a.initialize(json!({})), b.initialize(json!({})));
    assert_eq!(ra["serverInfo"]["name"], "pipedream-emulator");
    assert_eq!(rb["serverInfo"]["name"], "pipedream-emulator");
    assert_eq!(
        emu.token_requests().len(),
        1,
        "one token request between both processes"
    );
    let token = format!("Bearer {}", emu.issued_tokens()[0]);
    let inits = || {
        emu.mcp_requests()
            .into_iter()
            .filter(|r| r.rpc_method().as_deref() == Some("initialize"))
            .collect::<Vec<_>>()
    };
    // The second may have been answered from the list cache the first just
    // wrote (they share a data dir); its real initialize then goes out
    // behind that answer.
    support::wait_until("both bridges' initialize to reach the server", || inits().len() == 2).await;
    assert!(
        inits()
            .iter()
            .all(|r| r.header("authorization") == Some(token.as_str()))
    );
    assert_eq!(emu.token_requests().len(), 1, "still one token request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_names_a_missing_header() {
    let emu = PipedreamEmulator::start(options()).await.unwrap();
    let http = reqwest::Client::new();
    let tok: Value = http
        .post(format!("{}/v1/oauth/token", emu.base()))
        .json(&json!({"grant_type": "client_credentials", "client_id": "pd-client-42", "client_secret": SECRET}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tok["token_type"], "Bearer");
    assert_eq!(tok["expires_in"], 3600);
    let resp = http
        .post(format!("{}/v3", emu.base()))
        .bearer_auth(tok["access_token"].as_str().unwrap())
        .header("accept", "application/json, text/event-stream")
        .header("x-pd-project-id", "proj_1")
        .header("x-pd-environment", "production")
        .header("x-pd-external-user-id", "u")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("x-pd-app-slug"));
}

/// A proxy in the environment is for servers elsewhere: the token endpoint
/// and the MCP server on this machine are reached directly (the proxy named
/// here does not exist, so using it would fail).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_in_the_environment_is_not_used_for_a_loopback_token_endpoint() {
    let emu = PipedreamEmulator::start(options()).await.unwrap();
    let store = data_dir();
    let mut b = serve(
        &config(&emu, "", "app = \"slack\"\n"),
        "pd",
        &store_path(&store),
        &support::DEAD_PROXY_ENV,
    );
    b.initialize(json!({})).await;
    assert_eq!(emu.token_requests().len(), 1, "the token was fetched directly");
}
