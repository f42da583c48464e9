//! `provider = "integration-app"` end to end against the Integration.app
//! emulator, which follows the server's open-source code: the token sent
//! once, as Bearer, on `/mcp` and on the legacy `/sse` transport (whose
//! `endpoint` event already carries `?token=`, and whose server refuses a
//! repeated `token` key), a token already in `url` used as it is, `mode` /
//! `apps` query parameters, `x-chat-id`, the bridge's own
//! `tools/list_changed` after `enable-tools` in dynamic mode, a 400 "No
//! valid session ID" handled as session expiry, a 401 whose error says how
//! the token was sent, and Membrane's OAuth sign-in (`auth = "oauth"`).

mod oauth_support;
mod providers_common;
mod support;

use mcp_bridge::emulator::integration_app::{IaOptions, IntegrationAppEmulator, access_token};
use providers_common::{data_dir, serve, store_path, text_of, tool_names};
use serde_json::{Value, json};
use std::time::Duration;

const CUSTOMER: &str = "customer-42";

fn token() -> String {
    access_token(CUSTOMER)
}

fn config(url: &str, extra: &str) -> String {
    format!(
        "[servers.ia]\nprovider = \"integration-app\"\nurl = \"{url}\"\ntoken = \"{}\"\n{extra}",
        token()
    )
}

fn init_params() -> Value {
    json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_mode_sends_bearer_apps_mode_and_chat_id() {
    let emu = IntegrationAppEmulator::start(&token()).await.unwrap();
    let store = data_dir();
    let cfg = config(
        &emu.mcp_url(),
        "mode = \"static\"\napps = [\"gmail\", \"slack\"]\nchat_id = \"chat-42\"\n",
    );
    let mut b = serve(&cfg, "ia", &store_path(&store), &[]);
    b.initialize(json!({})).await;
    let tools = b.request_ok("tools/list", Value::Null).await;
    assert_eq!(
        tool_names(&tools),
        ["gmail_send-email", "gmail_read-email", "slack_send-message"]
    );
    let r = b
        .request_ok("tools/call", json!({"name": "slack_send-message", "arguments": {}}))
        .await;
    assert_eq!(text_of(&r), "slack_send-message done");
    let failed = b
        .request_ok(
            "tools/call",
            json!({"name": "gmail_send-email", "arguments": {"fail": true}}),
        )
        .await;
    assert_eq!(failed["isError"], true, "a tool exception is relayed as isError");

    let posts: Vec<_> = emu.requests().into_iter().filter(|r| r.method == "POST").collect();
    assert!(posts.len() >= 5);
    for r in &posts {
        assert_eq!(r.path, "/mcp");
        assert_eq!(r.header("authorization"), Some(format!("Bearer {}", token()).as_str()));
        assert_eq!(r.query_param("token"), None, "no token in the /mcp URL");
        assert_eq!(r.query_param("apps").as_deref(), Some("gmail,slack"));
        assert_eq!(r.query_param("mode").as_deref(), Some("static"));
        assert_eq!(r.header("x-chat-id"), Some("chat-42"));
    }
    let chats = emu.chat_sessions(CUSTOMER);
    assert_eq!(chats.len(), 1);
    assert!(emu.session_ids().contains(&chats["chat-42"]));
}

/// The README no longer promises "one server session per chat": the bridge
/// does not resume a chat's session. What `chat_id` does is what the
/// server's code does with `x-chat-id`: the chat's session is listed while
/// it lives, and the bridge's DELETE at the end (with the header) takes the
/// entry off the list; the next run gets a session of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_id_lists_this_runs_session_until_the_bridge_ends_it() {
    let emu = IntegrationAppEmulator::start(&token()).await.unwrap();
    let store = data_dir();
    let cfg = config(&emu.mcp_url(), "chat_id = \"chat-7\"\n");
    let mut first = vec![];
    for _ in 0..2 {
        let mut b = serve(&cfg, "ia", &store_path(&store), &[]);
        b.initialize(json!({})).await;
        let listed = emu.chat_sessions(CUSTOMER);
        assert!(emu.session_ids().contains(&listed["chat-7"]), "{listed:?}");
        assert!(!first.contains(&listed["chat-7"]), "a new session each run");
        first.push(listed["chat-7"].clone());
        b.close_stdin();
        b.wait_exit(Duration::from_secs(10)).await;
        let delete = emu
            .requests()
            .into_iter()
            .rfind(|r| r.method == "DELETE")
            .expect("the session was ended");
        assert_eq!(delete.header("x-chat-id"), Some("chat-7"));
        assert_eq!(delete.status, 200);
        assert!(emu.chat_sessions(CUSTOMER).is_empty(), "the chat's entry went with it");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_mode_announces_the_tools_enable_tools_enabled() {
    let emu = IntegrationAppEmulator::start(&token()).await.unwrap();
    let store = data_dir();
    let mut b = serve(
        &config(&emu.mcp_url(), "mode = \"dynamic\"\n"),
        "ia",
        &store_path(&store),
        &[],
    );
    b.initialize(json!({})).await;
    let tools = b.request_ok("tools/list", Value::Null).await;
    assert_eq!(tool_names(&tools), ["enable-tools"]);

    let r = b
        .request_ok(
            "tools/call",
            json!({"name": "enable-tools", "arguments": {"tools": ["gmail_send-email"]}}),
        )
        .await;
    assert_eq!(text_of(&r), "Tools enabled", "{r}");
    let note = b.next_other_timeout(Duration::from_secs(5)).await;
    assert_eq!(
        note,
        json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
    );
    let tools = b.request_ok("tools/list", Value::Null).await;
    assert_eq!(tool_names(&tools), ["enable-tools", "gmail_send-email"]);

    // As the server does, a second call replaces the enabled set.
    b.request_ok(
        "tools/call",
        json!({"name": "enable-tools", "arguments": {"tools": ["slack_send-message"]}}),
    )
    .await;
    b.next_other_timeout(Duration::from_secs(5)).await;
    let tools = b.request_ok("tools/list", Value::Null).await;
    assert_eq!(tool_names(&tools), ["enable-tools", "slack_send-message"]);
    let e = b
        .request("tools/call", json!({"name": "gmail_send-email", "arguments": {}}))
        .await;
    assert_eq!(e["error"]["code"], -32602, "no longer enabled: {e}");
    // Nothing announced up to a ping's answer (the successful enable-tools
    // above is the control: its announcement came after its result).
    let fenced = b.fence().await;
    assert!(fenced.is_empty(), "{fenced:?}");
}

/// Issue 22, item 1: the server's `endpoint` event already carries
/// `?token=`; the bridge used to add its own to every request, so each POST
/// carried `token` twice and was refused with 401 "Invalid token format".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_legacy_sse_transport_sends_the_token_once_on_every_request() {
    let emu = IntegrationAppEmulator::start(&token()).await.unwrap();
    let store = data_dir();
    let cfg = config(&emu.sse_url(), "transport = \"sse\"\napps = [\"google-calendar\"]\n");
    let mut b = serve(&cfg, "ia", &store_path(&store), &[]);
    b.initialize(json!({})).await;
    let tools = b.request_ok("tools/list", Value::Null).await;
    assert_eq!(tool_names(&tools), ["google-calendar_create-event"]);

    let reqs = emu.requests();
    let get = reqs.iter().find(|r| r.path == "/sse").expect("the stream was opened");
    assert_eq!((get.method.as_str(), get.status), ("GET", 200));
    let posts: Vec<_> = reqs.iter().filter(|r| r.path == "/sse/messages").collect();
    assert!(posts.len() >= 3, "initialize, initialized, tools/list: {reqs:?}");
    for r in posts.iter().chain([&get]) {
        let tokens = r.query_pairs().into_iter().filter(|(k, _)| k == "token").count();
        assert!(tokens <= 1, "`token` {tokens} times in {:?}", r.query);
        assert_eq!(r.header("authorization"), Some(format!("Bearer {}", token()).as_str()));
        assert_ne!(r.status, 401, "{r:?}");
    }
    assert!(posts.iter().all(|r| r.status == 202));
    assert!(reqs.iter().all(|r| r.path != "/mcp"));
}

/// The server's README shows `…/sse?token=…`: a URL that already carries
/// the token needs no `token` key, and the token still goes once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_with_the_token_in_it_as_the_servers_readme_shows_works() {
    let emu = IntegrationAppEmulator::start(&token()).await.unwrap();
    let store = data_dir();
    let cfg = format!(
        "[servers.ia]\nprovider = \"integration-app\"\nurl = \"{}?token={}\"\ntransport = \"sse\"\n",
        emu.sse_url(),
        token()
    );
    let mut b = serve(&cfg, "ia", &store_path(&store), &[("RUST_LOG", "debug")]);
    b.initialize(json!({})).await;
    let tools = b.request_ok("tools/list", Value::Null).await;
    assert_eq!(tool_names(&tools).len(), 4);
    for r in emu.requests() {
        let tokens = r.query_pairs().into_iter().filter(|(k, _)| k == "token").count();
        assert_eq!(tokens, 1, "{r:?}");
    }
    assert!(!b.stderr_text().contains(&token()), "the token in `url` is a secret");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_400_for_an_unknown_session_reinitialises_transparently() {
    let emu = IntegrationAppEmulator::start(&token()).await.unwrap();
    let store = data_dir();
    let mut b = serve(&config(&emu.mcp_url(), ""), "ia", &store_path(&store), &[]);
    b.initialize(json!({})).await;
    b.request_ok("tools/list", Value::Null).await;
    emu.forget_sessions();
    let tools = b.request_ok("tools/list", Value::Null).await;
    assert_eq!(tool_names(&tools).len(), 4, "all actions in static mode");

    let reqs = emu.requests();
    // The bridge's first-start server/discover (which era the server
    // speaks) is refused with 400 too, before any session: not counted.
    let refused: Vec<_> = reqs
        .iter()
        .filter(|r| r.status == 400 && r.rpc_method().as_deref() != Some("server/discover"))
        .collect();
    assert_eq!(refused.len(), 1, "{reqs:?}");
    let inits = reqs
        .iter()
        .filter(|r| r.rpc_method().as_deref() == Some("initialize"))
        .count();
    assert_eq!(inits, 2, "the bridge initialised a new session");
}

/// The emulator answers as the server's code does: no `WWW-Authenticate`,
/// 401 "Invalid token format" for a token that is no JWT with an `id` (and
/// for a repeated `token` key), and 500 -32603 when Membrane refuses a
/// well-formed token as the session opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_refuses_tokens_as_the_servers_code_does() {
    let emu = IntegrationAppEmulator::start(&token()).await.unwrap();
    let http = reqwest::Client::new();
    let post = |url: String, bearer: String| {
        http.post(url)
            .bearer_auth(bearer)
            .header("accept", "application/json, text/event-stream")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init_params()}))
            .send()
    };
    let resp = post(emu.mcp_url(), "wrong".into()).await.unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().get("www-authenticate").is_none());
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"error": "Unauthorized: Invalid token format"})
    );
    let twice = format!("{}?token={t}&token={t}", emu.mcp_url(), t = token());
    let resp = post(twice, token()).await.unwrap();
    assert_eq!(resp.status(), 401, "a repeated key is an array to Express");
    let resp = post(emu.mcp_url(), access_token("someone-else")).await.unwrap();
    assert_eq!(resp.status(), 500);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["code"], -32603);
    let resp = post(emu.mcp_url(), token()).await.unwrap();
    assert_eq!(resp.status(), 200);
}

/// Issue 22: the 401's error says whether the token was sent once, and how.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_says_it_was_sent_once_and_what_the_server_reads() {
    let emu = IntegrationAppEmulator::start(&token()).await.unwrap();
    let store = data_dir();
    let cfg = config(&emu.mcp_url(), "").replace(&token(), "ia.jwt.d3Jvbmc");
    let mut b = serve(&cfg, "ia", &store_path(&store), &[]);
    let r = b.request("initialize", init_params()).await;
    let msg = r["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("Integration.app refused the token in `token`"), "{r}");
    assert!(msg.contains("sent it once, as `Authorization: Bearer`"), "{r}");
    assert!(msg.contains("a JWT whose payload has `id`"), "{r}");
    assert!(!msg.contains("d3Jvbmc"), "{msg}");
    assert_eq!(emu.requests()[0].status, 401);
}

/// Issue 22, item 7: Membrane publishes OAuth metadata (issuer: the
/// Membrane API, scope `tenant`); `auth = "oauth"` signs in with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membrane_oauth_signs_in_with_scope_tenant_at_the_api_the_metadata_names() {
    let emu = IntegrationAppEmulator::start_with(IaOptions {
        oauth: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let api = emu.authorization_server().expect("the Membrane API");
    let env = oauth_support::Env::new(&emu.mcp_url(), "provider = \"integration-app\"\nmode = \"dynamic\"");
    let (ok, url, stderr) = oauth_support::login(&env, true).await;
    assert!(ok, "login failed: {stderr}");
    assert!(url.starts_with(&format!("{}/oauth/authorize?", api.base())), "{url}");
    let log = api.log();
    let authorize = log.iter().find(|l| l.path == "/oauth/authorize").expect("authorize");
    assert_eq!(authorize.params["scope"], "tenant");
    assert_eq!(authorize.params["resource"], emu.mcp_url());
    assert_eq!(api.count("/oauth/token", Some(("grant_type", "authorization_code"))), 1);

    let mut b = env.serve();
    b.initialize(json!({})).await;
    let tools = b.request_ok("tools/list", Value::Null).await;
    assert_eq!(tool_names(&tools), ["enable-tools"]);
    let sent = emu
        .requests()
        .into_iter()
        .rfind(|r| r.rpc_method().as_deref() == Some("tools/list"))
        .unwrap();
    let bearer = sent.header("authorization").unwrap_or_default().to_string();
    assert!(api.accepts(bearer.trim_start_matches("Bearer ")).is_some(), "{bearer}");
}
