//! Connect links on a generic server (a stand-in answering like Pipedream's
//! open-source MCP server, whose links its `connect_link_pattern` names):
//! results that merely mention a URL or say `accountRequired: false` pass
//! untouched; a `connect_link_pattern` finds a custom link, and only what
//! it names; a client that asked for log messages gets a
//! `notifications/message`; the elicitation's answer never reaches the remote.

mod support;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{Bridge, toml_string};

const LINK: &str = "https://pipedream.com/_static/connect.html?token=ctok_0123456789abcdef&connectLink=true&app=slack";
const CUSTOM: &str = "https://auth.example.com/connect?app=jira&state=s1";
const HOSTILE: &str = "https://evil.example/_static/connect.html?token=ctok_0123456789abcdef&app=slack";
const SMUGGLED: &str = "https://pipedream.com/_static/connect.html?token=ctok_1\n2026-01-01T00:00:00Z  INFO forged";
const PLAIN_HTTP: &str = "http://pipedream.com/_static/connect.html?token=ctok_2&app=slack";
/// What names the stand-in's links.
const PATTERN: &str = "connect_link_pattern = \"https://pipedream.com/_static/connect.html?*\"\n";

type Posts = Arc<Mutex<Vec<Value>>>;

fn result_for(tool: &str) -> Value {
    let text = |t: String| json!({"content": [{"type": "text", "text": t}]});
    match tool {
        "plain" => text("Posted. See https://example.com/messages/42 and https://pipedream.com/docs".into()),
        "said-no" => json!({"content": [{"type": "text", "text": format!("Go to: {LINK}")}], "accountRequired": false}),
        "custom" => text(format!("Authorize first: {CUSTOM}")),
        // A remote that is not Pipedream, answering the way Pipedream does.
        "hostile-field" => json!({"content": [{"type": "text", "text": "Connect an account"}],
                                  "accountRequired": true, "connectUrl": HOSTILE}),
        // A link on the pattern's host that smuggles a line break or goes by plain http.
        "smuggled" => json!({"content": [], "accountRequired": true, "connectUrl": SMUGGLED}),
        "plain-http" => text(format!("Go to: {PLAIN_HTTP}")),
        // Pipedream's answer for a call that did not run, on its own host.
        "hostile-field-on-pipedream" => json!({"content": [{"type": "text", "text": "Connect an account"}],
                                               "accountRequired": true, "connectUrl": LINK}),
        // A tool that did its work and mentions a link (no `accountRequired`).
        "send_email" => text(format!("Sent. To connect Slack too, go to: {LINK}")),
        _ => text(format!("Go to: {LINK} to connect your account.")),
    }
}

async fn mcp(State(posts): State<Posts>, body: Bytes) -> Response {
    let msg: Value = serde_json::from_slice(&body).unwrap();
    posts.lock().unwrap().push(msg.clone());
    let Some(id) = msg.get("id").cloned().filter(|_| msg.get("method").is_some()) else {
        return StatusCode::ACCEPTED.into_response();
    };
    let result = match msg["method"].as_str().unwrap() {
        "initialize" => {
            json!({"protocolVersion": "2025-11-25", "capabilities": {"tools": {}, "logging": {}}, "serverInfo": {"name": "pd-like", "version": "1"}})
        }
        "tools/call" => result_for(msg["params"]["name"].as_str().unwrap_or("")),
        _ => json!({}),
    };
    axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response()
}

async fn start() -> (String, Posts) {
    let posts = Posts::default();
    let app = axum::Router::new()
        .route(
            "/mcp",
            axum::routing::post(mcp).get(|| async { StatusCode::METHOD_NOT_ALLOWED }),
        )
        .with_state(posts.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, posts)
}

fn bridge(url: &str, extra: &str) -> Bridge {
    bridge_with(url, 10, extra, None)
}

/// `serve pd` for the stand-in at `url`, with a `timeout` in seconds, more
/// config lines, and a log filter (none: the default).
fn bridge_with(url: &str, timeout: u64, extra: &str, log: Option<&str>) -> Bridge {
    bridge_opening(url, timeout, extra, log, None)
}

/// `bridge_with`, opening the browser with `browser` (a script) when given.
fn bridge_opening(
    url: &str,
    timeout: u64,
    extra: &str,
    log: Option<&str>,
    browser: Option<&std::path::Path>,
) -> Bridge {
    let data = tempfile::tempdir().unwrap();
    let pattern = if extra.contains("connect_link_pattern") || extra.contains("no pattern") {
        ""
    } else {
        PATTERN
    };
    let (dir, config) = support::write_config(&format!(
        "[servers.pd]\nurl = {}\ntimeout = {timeout}\n{pattern}{extra}",
        toml_string(url)
    ));
    let mut cmd = Bridge::command();
    match log {
        Some(filter) => cmd.env("RUST_LOG", filter),
        None => cmd.env_remove("RUST_LOG"),
    };
    if let Some(browser) = browser {
        cmd.env("MCP_BRIDGE_BROWSER", browser);
    }
    cmd.env("MCP_BRIDGE_DATA_DIR", data.path())
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .arg("pd");
    let mut b = Bridge::spawn(cmd);
    b.keep(dir);
    b.keep(data);
    b
}

async fn call(b: &mut Bridge, tool: &str) -> Value {
    b.request_ok("tools/call", json!({"name": tool, "arguments": {}})).await
}

/// Calls `send` (a result with a Connect Link) on a client that takes log
/// messages and URL elicitations, declines any elicitation, and returns
/// every message other than the call's answer that reached the client up
/// to a ping's answer after it.
async fn messages_around_a_linked_call(b: &mut Bridge) -> Vec<Value> {
    let id = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "send", "arguments": {}}}))
        .await;
    let mut seen = vec![];
    loop {
        let m = b.recv_timeout(Duration::from_secs(10)).await;
        if m.get("id") == Some(&id) && m.get("method").is_none() {
            assert!(m["result"]["content"].to_string().contains(LINK), "{m}");
            break;
        }
        if m["method"] == "elicitation/create" {
            b.respond(&m["id"], json!({"action": "decline"})).await;
        }
        seen.push(m);
    }
    seen.extend(b.fence().await);
    seen
}

#[tokio::test]
async fn false_positives_are_left_untouched() {
    let (url, posts) = start().await;
    let mut b = bridge(&url, "");
    b.initialize(json!({"elicitation": {"url": {}}, "logging": {}})).await;
    for tool in ["plain", "said-no", "custom"] {
        let r = call(&mut b, tool).await;
        assert_eq!(r, result_for(tool), "{tool} changed");
    }
    let fenced = b.fence().await;
    assert!(fenced.is_empty(), "{fenced:?}");
    let calls = posts
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m["method"] == "tools/call")
        .count();
    assert_eq!(calls, 3, "no retries for results without a link");
    assert!(!b.stderr_text().contains("WARN"), "{}", b.stderr_text());
    // The control: on this client and bridge, a result with a link does
    // reach the client as more messages, and the log as a WARN line.
    b.request_ok("logging/setLevel", json!({"level": "info"})).await;
    let around = messages_around_a_linked_call(&mut b).await;
    assert!(around.iter().any(|m| m["method"] == "elicitation/create"), "{around:?}");
    assert!(b.stderr_text().contains("WARN"), "{}", b.stderr_text());
}

#[tokio::test]
async fn a_connect_link_pattern_finds_a_custom_link() {
    let (url, _posts) = start().await;
    let mut b = bridge(&url, "connect_link_pattern = \"https://auth.example.com/connect?*\"\n");
    b.initialize(json!({})).await;
    let r = call(&mut b, "custom").await;
    assert_eq!(
        r["content"][0]["text"],
        format!("Connect your Jira account to continue:\n{CUSTOM}")
    );
    // A generic server has no provider recogniser: a Pipedream-style link
    // the pattern does not name is the remote's text.
    let r = call(&mut b, "send").await;
    assert_eq!(r, result_for("send"));
}

#[tokio::test]
async fn a_client_taking_log_messages_gets_one_and_the_elicitation_answer_stays_here() {
    let (url, posts) = start().await;
    let mut b = bridge(&url, "[servers.pd.connect]\nretry_on_account_required = 0\n");
    b.initialize(json!({"elicitation": {"url": {}}})).await;
    b.request_ok("logging/setLevel", json!({"level": "info"})).await;
    let id = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "send", "arguments": {}}}))
        .await;
    let note = b.next_other_timeout(Duration::from_secs(5)).await;
    assert_eq!(note["method"], "notifications/message");
    assert_eq!(note["params"]["level"], "warning");
    assert_eq!(note["params"]["data"]["url"], LINK);
    let ask = b.next_other_timeout(Duration::from_secs(5)).await;
    assert_eq!(ask["method"], "elicitation/create");
    b.respond(&ask["id"], json!({"action": "cancel"})).await;
    let r = b.wait_response(&id, Duration::from_secs(5)).await;
    assert!(r["result"]["content"][0]["text"].as_str().unwrap().contains(LINK));
    // The client's lines reach the remote in order, and an answer is passed
    // on before the next line is read: once a later call has reached the
    // remote, a leaked answer would be there too.
    call(&mut b, "plain").await;
    let posts = posts.lock().unwrap().clone();
    assert!(
        posts.iter().any(|m| m["params"]["name"] == "plain"),
        "the later call reached the remote: {posts:?}"
    );
    assert!(
        !posts.iter().any(|m| m.get("id") == Some(&ask["id"])),
        "the answer leaked to the remote: {posts:?}"
    );
}

#[tokio::test]
async fn surfacing_can_be_switched_off() {
    let (url, _posts) = start().await;
    let cfg = "[servers.pd.connect]\nnotice = false\nlog = false\nnotify = false\nelicit = false\nretry_on_account_required = 0\n";
    let mut b = bridge(&url, cfg);
    b.initialize(json!({"elicitation": {"url": {}}, "logging": {}})).await;
    b.request_ok("logging/setLevel", json!({"level": "info"})).await;
    let r = call(&mut b, "send").await;
    assert_eq!(r, result_for("send"));
    let fenced = b.fence().await;
    assert!(fenced.is_empty(), "{fenced:?}");
    assert!(!b.stderr_text().contains("ctok_"), "{}", b.stderr_text());
    // The control: switched on, the same client and call get messages.
    let mut on = bridge(&url, "[servers.pd.connect]\nretry_on_account_required = 0\n");
    on.initialize(json!({"elicitation": {"url": {}}, "logging": {}})).await;
    on.request_ok("logging/setLevel", json!({"level": "info"})).await;
    let around = messages_around_a_linked_call(&mut on).await;
    assert!(around.iter().any(|m| m["method"] == "elicitation/create"), "{around:?}");
    assert!(
        around.iter().any(|m| m["method"] == "notifications/message"),
        "{around:?}"
    );
    assert!(on.stderr_text().contains("ctok_"), "{}", on.stderr_text());
}

#[tokio::test]
async fn the_link_is_logged_in_the_warn_line_only_even_at_trace() {
    let (url, _posts) = start().await;
    let mut b = bridge_with(&url, 10, "", Some("trace"));
    b.initialize(json!({})).await;
    call(&mut b, "send").await;
    let stderr = b.stderr_text();
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("ctok_0123456789abcdef")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("WARN") && lines[0].contains("app=slack"),
        "{}",
        lines[0]
    );
}

#[tokio::test]
async fn an_unanswered_elicitation_ends_at_the_timeout_with_the_notice() {
    let (url, _posts) = start().await;
    let mut b = bridge_with(&url, 2, "", None);
    b.initialize(json!({"elicitation": {"url": {}}})).await;
    let id = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "send", "arguments": {}}}))
        .await;
    let ask = b.next_other_timeout(Duration::from_secs(10)).await;
    assert_eq!(ask["method"], "elicitation/create");
    // Held while the person decides: a ping goes round and the call is
    // still unanswered; then, never answered, it ends at the timeout.
    let fenced = b.fence().await;
    assert!(Bridge::answers_to(&fenced, &id).is_empty(), "{fenced:?}");
    let r = b.wait_response(&id, support::SIGNAL_TIMEOUT).await;
    assert!(
        r["result"]["content"][0]["text"].as_str().unwrap().contains(LINK),
        "{r}"
    );

    // The client leaving while a call is held still gets it answered.
    let id = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "send", "arguments": {}}}))
        .await;
    let ask = b.next_other_timeout(Duration::from_secs(5)).await;
    assert_eq!(ask["method"], "elicitation/create");
    b.close_stdin();
    let r = b.wait_response(&id, Duration::from_secs(5)).await;
    assert!(
        r["result"]["content"][0]["text"].as_str().unwrap().contains(LINK),
        "{r}"
    );
}

#[tokio::test]
async fn a_cancelled_held_call_gets_no_answer_and_the_next_one_is_asked_again() {
    let (url, _posts) = start().await;
    let mut b = bridge(&url, "");
    b.initialize(json!({"elicitation": {"url": {}}})).await;
    let id = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "send", "arguments": {}}}))
        .await;
    let ask = b.next_other_timeout(Duration::from_secs(5)).await;
    assert_eq!(ask["method"], "elicitation/create");
    b.notify(
        "notifications/cancelled",
        json!({"requestId": id, "reason": "user stopped"}),
    )
    .await;
    let fenced = b.fence().await;
    assert!(fenced.is_empty(), "{fenced:?}");
    // The app is not left marked as asked: a new call asks again.
    let id2 = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": id2, "method": "tools/call", "params": {"name": "send", "arguments": {}}}))
        .await;
    let again = b.next_other_timeout(Duration::from_secs(5)).await;
    assert_eq!(again["method"], "elicitation/create");
    b.respond(&again["id"], json!({"action": "decline"})).await;
    let r = b.wait_response(&id2, Duration::from_secs(5)).await;
    assert!(
        r["result"]["content"][0]["text"].as_str().unwrap().contains(LINK),
        "{r}"
    );
    // The same call, not cancelled, was answered; the cancelled one never is.
    let rest = b.close_and_read_rest().await;
    assert!(Bridge::answers_to(&rest, &id).is_empty(), "{rest:?}");
}

/// A browser that writes each URL it is given to a file.
fn fake_browser() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (script, log) = (dir.path().join("browser.sh"), dir.path().join("opened"));
    std::fs::write(&script, format!("#!/bin/sh\necho \"$1\" >> '{}'\n", log.display())).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (dir, script, log)
}

fn tool_calls(posts: &Posts, tool: &str) -> usize {
    posts
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m["method"] == "tools/call" && m["params"]["name"] == tool)
        .count()
}

#[tokio::test]
async fn a_remote_that_is_not_pipedream_cannot_have_its_link_shown_opened_or_its_call_repeated() {
    let (url, posts) = start().await;
    let (_dir, browser, opened) = fake_browser();
    let extra = "# no pattern\n[servers.pd.connect]\nopen_browser = true\n";
    let mut b = bridge_opening(&url, 10, extra, None, Some(&browser));
    b.initialize(json!({"elicitation": {"url": {}}})).await;
    let r = call(&mut b, "hostile-field").await;
    assert_eq!(
        r,
        result_for("hostile-field"),
        "a generic server's answer passes as it is"
    );
    let fenced = b.fence().await;
    assert!(fenced.is_empty(), "{fenced:?}");
    assert!(!opened.exists(), "opened: {:?}", std::fs::read_to_string(&opened));
    assert_eq!(tool_calls(&posts, "hostile-field"), 1);
}

/// Waits until the fake browser's log holds a line, and returns its lines.
async fn wait_opened(opened: &std::path::Path) -> Vec<String> {
    let read = || std::fs::read_to_string(opened).unwrap_or_default();
    support::wait_until("the browser to be opened", || !read().is_empty()).await;
    read().lines().map(str::to_string).collect()
}

#[tokio::test]
async fn a_link_the_browser_gate_refuses_is_neither_shown_nor_opened_even_when_the_pattern_matches() {
    for (tool, pattern) in [
        ("smuggled", "https://pipedream.com/*"),
        ("plain-http", "http://pipedream.com/*"),
    ] {
        let (url, posts) = start().await;
        let (_dir, browser, opened) = fake_browser();
        let extra = format!("connect_link_pattern = \"{pattern}\"\n[servers.pd.connect]\nopen_browser = true\n");
        let mut b = bridge_opening(&url, 10, &extra, Some("info"), Some(&browser));
        b.initialize(json!({})).await;
        // Unchanged: no link was found, so none is led with, opened or
        // followed by a retry.
        let r = call(&mut b, tool).await;
        assert_eq!(r, result_for(tool), "{tool}");
        assert_eq!(tool_calls(&posts, tool), 1, "{tool} was sent again");
        support::wait_until("the refusal in the log", || {
            b.stderr_text().contains("refusing to open `")
        })
        .await;
        let stderr = b.stderr_text();
        assert!(!stderr.contains("\n2026-01-01T00:00:00Z  INFO forged"), "{stderr}");
        if tool == "smuggled" {
            // The control: a well-formed link the same pattern names is
            // shown and opened, and the browser was given that one only.
            let r = call(&mut b, "send").await;
            assert!(r["content"][0]["text"].as_str().unwrap().ends_with(LINK), "{r}");
            assert_eq!(wait_opened(&opened).await, [LINK], "{tool}");
        } else {
            assert!(!opened.exists(), "opened: {:?}", std::fs::read_to_string(&opened));
        }
    }
}

#[tokio::test]
async fn a_call_whose_answer_does_not_say_it_did_not_run_is_sent_once() {
    let (url, posts) = start().await;
    // The default `retry_on_account_required = 1`, and a client that takes
    // URL elicitations: the person accepting must not run the tool again.
    let mut b = bridge(&url, "");
    b.initialize(json!({"elicitation": {"url": {}}})).await;
    let id = b.next_id();
    b.send(
        &json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "send_email", "arguments": {}}}),
    )
    .await;
    let ask = b.next_other_timeout(Duration::from_secs(5)).await;
    assert_eq!(ask["method"], "elicitation/create");
    b.respond(&ask["id"], json!({"action": "accept"})).await;
    // A retry would be sent before this answer, which is the retry's.
    let r = b.wait_response(&id, Duration::from_secs(5)).await;
    assert!(
        r["result"]["content"][0]["text"].as_str().unwrap().contains(LINK),
        "{r}"
    );
    assert_eq!(tool_calls(&posts, "send_email"), 1, "the email was sent twice");
    // The control: an answer that says the call did not run
    // (`accountRequired: true`) is retried, once (on a client that takes
    // no elicitation, so none follows).
    let mut b = bridge(&url, "");
    b.initialize(json!({})).await;
    let r = call(&mut b, "hostile-field-on-pipedream").await;
    assert!(r["content"].to_string().contains("Connect an account"), "{r}");
    assert_eq!(tool_calls(&posts, "hostile-field-on-pipedream"), 2);
}

/// A stand-in for Pipedream's hosted server, `/v3` and its token endpoint
/// at one loopback origin, answering as `result_for` does.
async fn start_pipedream() -> (String, Posts) {
    let posts = Posts::default();
    let token =
        || async { axum::Json(json!({"access_token": "pd-access", "token_type": "Bearer", "expires_in": 3600})) };
    let app = axum::Router::new()
        .route(
            "/v3",
            axum::routing::post(mcp).get(|| async { StatusCode::METHOD_NOT_ALLOWED }),
        )
        .route("/v1/oauth/token", axum::routing::post(token))
        .with_state(posts.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, posts)
}

#[tokio::test]
async fn a_pipedream_server_shows_and_opens_only_links_on_pipedreams_hosts() {
    let (base, posts) = start_pipedream().await;
    let (_dir, browser, opened) = fake_browser();
    let config = support::pipedream_config(
        &format!("{base}/v3"),
        &base,
        "s",
        "timeout = 10\n[servers.pd.connect]\nopen_browser = true\n",
    );
    let mut b = Bridge::serve_isolated(&config, "pd", &[("MCP_BRIDGE_BROWSER", browser.as_os_str())]);
    b.initialize(json!({})).await;
    // Pipedream's own answer shape, with a link on another host: the
    // remote's text, passed on as it is, sent once, never opened.
    let r = call(&mut b, "hostile-field").await;
    assert_eq!(r, result_for("hostile-field"));
    assert_eq!(tool_calls(&posts, "hostile-field"), 1);
    // A link on pipedream.com is Pipedream's: shown first, and opened.
    let r = call(&mut b, "send").await;
    assert_eq!(
        r["content"][0]["text"],
        format!("Connect your Slack account to continue:\n{LINK}")
    );
    assert_eq!(wait_opened(&opened).await, [LINK]);
}
