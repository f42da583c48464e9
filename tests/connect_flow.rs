//! Connect links end to end: the bridge binary over stdio against the
//! Pipedream emulator with `require_accounts` (a user without an account
//! gets a Connect Link on the emulator; fetching it connects the account).

mod providers_common;
mod support;

use mcp_bridge::emulator::pipedream::{PipedreamEmulator, PipedreamOptions};
use providers_common::{data_dir, serve, store_path, text_of, tool_names};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use support::Bridge;

async fn emulator() -> PipedreamEmulator {
    let opts = PipedreamOptions {
        require_accounts: true,
        ..Default::default()
    };
    PipedreamEmulator::start(opts).await.unwrap()
}

fn config(emu: &PipedreamEmulator, connect: &str) -> String {
    format!(
        "[servers.pd]\nprovider = \"pipedream\"\nclient_id = \"pd-client-id\"\nclient_secret = \"pd-client-secret\"\n\
         project_id = \"proj_x\"\nenvironment = \"development\"\nexternal_user_id = \"user-9\"\napp = \"slack\"\n\
         tool_mode = \"tools-only\"\nbase_url = \"{b}\"\napi_base = \"{b}\"\ntimeout = 20\n\n[servers.pd.connect]\n{connect}",
        b = emu.base()
    )
}

async fn call(b: &mut Bridge, text: &str) -> Value {
    b.request_ok(
        "tools/call",
        json!({"name": "slack-send-message", "arguments": {"channel": "general", "text": text}}),
    )
    .await
}

fn link_of(result: &Value) -> String {
    result["_meta"]["mcp-bridge/connectLink"]["url"]
        .as_str()
        .unwrap_or_else(|| panic!("no link in {result}"))
        .to_string()
}

async fn open(link: &str) {
    let page = reqwest::get(link).await.unwrap();
    assert!(page.status().is_success(), "{}", page.status());
}

fn tool_calls(emu: &PipedreamEmulator) -> usize {
    emu.mcp_requests()
        .iter()
        .filter(|r| r.rpc_method().as_deref() == Some("tools/call"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_call_gets_the_clear_result_and_a_warn_line_then_works_after_the_connect() {
    let emu = emulator().await;
    let store = data_dir();
    let mut b = serve(&config(&emu, ""), "pd", &store_path(&store), &[]);
    b.initialize(json!({})).await;
    assert_eq!(tool_names(&b.request_ok("tools/list", Value::Null).await).len(), 2);

    let first = call(&mut b, "hi").await;
    let link = link_of(&first);
    assert!(
        link.starts_with(&format!("{}/_static/connect.html?token=ctok_", emu.base())),
        "{link}"
    );
    let lead = first["content"][0]["text"].as_str().unwrap();
    assert_eq!(lead, format!("Connect your Slack account to continue:\n{link}"));
    assert!(
        first["content"][1]["text"].as_str().unwrap().starts_with("Go to: "),
        "the provider's text follows: {first}"
    );
    assert_eq!(tool_calls(&emu), 2, "retried once (retry_on_account_required = 1)");
    let token = link.split("token=").nth(1).unwrap().split('&').next().unwrap();
    let stderr = b.stderr_text();
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(token)).collect();
    assert_eq!(lines.len(), 1, "the link is logged once: {stderr}");
    assert!(
        lines[0].contains("WARN") && lines[0].contains("app=slack"),
        "{}",
        lines[0]
    );
    assert!(
        b.next_other().is_none(),
        "no elicitation for a client without elicitation.url"
    );

    // The person opens the link; the next call goes through, no restart.
    open(&link).await;
    let second = call(&mut b, "again").await;
    assert!(text_of(&second).contains("ran for user-9"), "{second}");
    assert!(second.get("_meta").is_none(), "{second}");
    let changed = b.next_other_timeout(Duration::from_secs(5)).await;
    assert_eq!(changed["method"], "notifications/tools/list_changed");
    let tools = b.request_ok("tools/list", Value::Null).await;
    assert_eq!(tool_names(&tools).len(), 3, "the tool list grew: {tools}");
    // Only once: the next call brings no second list_changed.
    call(&mut b, "third").await;
    let fenced = b.fence().await;
    assert!(fenced.is_empty(), "{fenced:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_url_elicitation_returns_the_real_result() {
    let emu = emulator().await;
    let store = data_dir();
    let mut b = serve(&config(&emu, ""), "pd", &store_path(&store), &[]);
    b.initialize(json!({"elicitation": {"url": {}}})).await;
    let id = b.next_id();
    let req = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                     "params": {"name": "slack-send-message", "arguments": {"text": "held"}}});
    b.send(&req).await;
    let ask = b.next_other_timeout(Duration::from_secs(10)).await;
    assert_eq!(ask["method"], "elicitation/create");
    assert_eq!(ask["params"]["mode"], "url");
    let link = ask["params"]["url"].as_str().unwrap().to_string();
    assert!(link.contains("ctok_") && link.contains("app=slack"), "{link}");
    assert!(
        !b.unread().iter().any(|m| m.get("id") == Some(&id)),
        "the call is held while the person decides"
    );
    b.respond(&ask["id"], json!({"action": "accept"})).await;
    open(&link).await;
    let resp = b.wait_response(&id, Duration::from_secs(15)).await;
    assert!(text_of(&resp["result"]).contains("ran for user-9"), "{resp}");
    assert!(emu.is_connected("user-9", "slack"));
    let mut methods = vec![];
    while let Some(m) = b.try_recv_timeout(Duration::from_millis(300)).await {
        methods.push(m["method"].as_str().unwrap_or("").to_string());
    }
    for m in ["notifications/elicitation/complete", "notifications/tools/list_changed"] {
        assert!(methods.iter().any(|x| x == m), "{m} missing: {methods:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_elicitation_returns_the_notice_at_once() {
    let emu = emulator().await;
    let store = data_dir();
    let mut b = serve(&config(&emu, ""), "pd", &store_path(&store), &[]);
    b.initialize(json!({"elicitation": {"url": {}}})).await;
    let id = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                   "params": {"name": "slack-send-message", "arguments": {}}}))
        .await;
    let ask = b.next_other_timeout(Duration::from_secs(10)).await;
    b.respond(&ask["id"], json!({"action": "decline"})).await;
    let resp = b.wait_response(&id, Duration::from_secs(5)).await;
    assert!(
        text_of(&resp["result"]).starts_with("Connect your Slack account"),
        "{resp}"
    );
    // Declined: not asked again in this process.
    call(&mut b, "again").await;
    assert!(b.next_other().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spurious_account_required_is_retried_away() {
    let emu = emulator().await;
    let store = data_dir();
    let mut b = serve(&config(&emu, ""), "pd", &store_path(&store), &[]);
    b.initialize(json!({})).await;
    let link = link_of(&call(&mut b, "x").await);
    open(&link).await;
    emu.spurious_account_required(1);
    let r = call(&mut b, "y").await;
    assert!(text_of(&r).contains("ran for user-9"), "retried once: {r}");

    // With the knob at 0 the same false answer reaches the client.
    let store2 = data_dir();
    let mut b2 = serve(
        &config(&emu, "retry_on_account_required = 0\n"),
        "pd",
        &store_path(&store2),
        &[],
    );
    b2.initialize(json!({})).await;
    emu.spurious_account_required(1);
    let r = call(&mut b2, "z").await;
    assert!(text_of(&r).starts_with("Connect your Slack account"), "{r}");
}

fn browser_script(dir: &Path) -> (String, std::path::PathBuf) {
    let log = dir.join("opened.txt");
    let script = dir.join("browser.sh");
    std::fs::write(&script, format!("#!/bin/sh\necho \"$1\" >> '{}'\n", log.display())).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    (script.display().to_string(), log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_opens_once_for_many_calls_and_two_processes() {
    let emu = emulator().await;
    let store = data_dir();
    let tmp = tempfile::tempdir().unwrap();
    let (script, log) = browser_script(tmp.path());
    // At debug, each bridge logs how each browser opening it set off ended.
    let env = [
        ("MCP_BRIDGE_BROWSER", script.as_str()),
        ("RUST_LOG", "mcp_bridge=debug"),
    ];
    let cfg = config(&emu, "open_browser = true\nretry_on_account_required = 0\n");
    let mut a = serve(&cfg, "pd", &store_path(&store), &env);
    let mut b = serve(&cfg, "pd", &store_path(&store), &env);
    a.initialize(json!({})).await;
    b.initialize(json!({})).await;
    let mut links = vec![];
    for i in 0..3 {
        links.push(link_of(&call(&mut a, &format!("a{i}")).await));
        links.push(link_of(&call(&mut b, &format!("b{i}")).await));
    }
    assert!(
        links.iter().all(|l| *l == links[0]),
        "one token for the user: {links:?}"
    );
    // Each of the six calls set off one opening, which either started the
    // browser or found it opened already; once all six have ended, one of
    // them started it.
    support::wait_until_with(
        "the six browser openings to end",
        || outcomes(&a) + outcomes(&b) == 6,
        || format!("{}\n{}", a.stderr_text(), b.stderr_text()),
    )
    .await;
    assert_eq!(starts(&a) + starts(&b), 1, "one browser start between them");
    let opened = || std::fs::read_to_string(&log).unwrap_or_default();
    support::wait_until("the browser to open", || !opened().is_empty()).await;
    assert_eq!(opened().lines().collect::<Vec<_>>(), [links[0].as_str()], "opened once");

    // Off by default: the same call sets off no opening at all.
    let store2 = data_dir();
    let mut c = serve(&config(&emu, ""), "pd", &store_path(&store2), &env);
    c.initialize(json!({})).await;
    let link = link_of(&call(&mut c, "c").await);
    assert!(link.contains("ctok_"), "{link}");
    assert!(c.fence().await.is_empty());
    assert_eq!(outcomes(&c), 0, "{}", c.stderr_text());
    assert_eq!(opened().lines().count(), 1);
}

/// How many times bridge `b` started the browser for a Connect Link.
fn starts(b: &Bridge) -> usize {
    b.stderr_text().matches("opened the browser").count()
}

/// How many browser openings bridge `b` set off have ended (it started the
/// browser, or found the link opened already).
fn outcomes(b: &Bridge) -> usize {
    starts(b) + b.stderr_text().matches("connect link already opened").count()
}
