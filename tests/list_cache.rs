//! A warm start from cached lists, through the binary: the bridge answers a
//! new start from what it kept of the server's handshake and lists, asks
//! the server behind the answer, and tells the client when a list changed;
//! a cache kept for one identity is never read for another; a broken cache
//! is ignored with a warning and never stops a start.
//!
//! The remote is a small Streamable HTTP server started here: its
//! `initialize` names the start it answers (`start-1`, `start-2`, …), so a
//! test can tell a cached answer from a live one, and its tool list can be
//! changed between two starts and differ per bearer token and user header.

mod support;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{Bridge, list_cache_text as cache_text, remote_config_file as config, wait_until};

/// What the remote serves and saw.
#[derive(Default)]
struct Seen {
    /// The tools listed to a caller, by its bearer token and user header
    /// (`""` for any other).
    tools: Mutex<HashMap<String, Vec<String>>>,
    initializes: AtomicUsize,
    /// The methods asked, in order.
    methods: Mutex<Vec<String>>,
}

struct Lists {
    url: String,
    seen: Arc<Seen>,
}

impl Lists {
    async fn start(tools: &[&str]) -> Lists {
        let seen = Arc::new(Seen::default());
        seen.set("", tools);
        let url = support::mcp_remote(post(answer), seen.clone()).await;
        Lists { url, seen }
    }

    fn asked(&self, method: &str) -> usize {
        self.seen
            .methods
            .lock()
            .unwrap()
            .iter()
            .filter(|m| *m == method)
            .count()
    }
}

impl Seen {
    fn set(&self, caller: &str, tools: &[&str]) {
        let tools = tools.iter().map(|t| t.to_string()).collect();
        self.tools.lock().unwrap().insert(caller.to_string(), tools);
    }
}

async fn answer(State(seen): State<Arc<Seen>>, headers: HeaderMap, body: String) -> Response {
    let msg: Value = serde_json::from_str(&body).unwrap_or_default();
    let method = msg["method"].as_str().unwrap_or("").to_string();
    seen.methods.lock().unwrap().push(method.clone());
    let Some(id) = msg.get("id").cloned() else {
        return StatusCode::ACCEPTED.into_response();
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let session = header("mcp-session-id");
    if method == "initialize" {
        let n = seen.initializes.fetch_add(1, Ordering::SeqCst) + 1;
        let result = json!({
            "protocolVersion": msg["params"]["protocolVersion"],
            "capabilities": {"tools": {"listChanged": true}},
            "serverInfo": {"name": "lists", "version": format!("start-{n}")},
        });
        let mut response = axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response();
        response
            .headers_mut()
            .insert("mcp-session-id", format!("s-{n}").parse().unwrap());
        return response;
    }
    if session.is_empty() {
        // A 2025 server: no session, no answer (the bridge's era question too).
        let error =
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32600, "message": "Bad Request: no session"}});
        return (StatusCode::BAD_REQUEST, axum::Json(error)).into_response();
    }
    let result = match method.as_str() {
        "tools/list" => {
            let caller = format!("{} {}", header("authorization"), header("x-user"));
            let tools = seen.tools.lock().unwrap();
            let names = tools
                .get(caller.trim())
                .or_else(|| tools.get(""))
                .cloned()
                .unwrap_or_default();
            let tools: Vec<Value> = names
                .iter()
                .map(|n| json!({"name": n, "inputSchema": {"type": "object"}}))
                .collect();
            json!({"tools": tools})
        }
        "tools/call" => json!({"content": [{"type": "text", "text": format!("called in {session}")}]}),
        _ => json!({}),
    };
    axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response()
}

fn cache_file(data: &Path) -> std::path::PathBuf {
    data.join("lists").join("remote.json")
}

fn names(list: &Value) -> Vec<String> {
    list["tools"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .collect()
}

/// Start, hand-shake, list the tools; returns the bridge, the server's
/// version its `initialize` answer named, and the tools.
async fn start_and_list(config: &Path, data: &Path) -> (Bridge, String, Vec<String>) {
    let mut b = Bridge::serve_remote_with_data(config, data);
    let init = b.initialize(json!({})).await;
    let version = init["serverInfo"]["version"].as_str().unwrap_or("").to_string();
    let tools = names(&b.request_ok("tools/list", json!({})).await);
    (b, version, tools)
}

#[tokio::test]
async fn a_warm_start_answers_from_the_cache_then_says_the_list_changed_and_lists_the_new_one() {
    let remote = Lists::start(&["alpha"]).await;
    let data = tempfile::tempdir().unwrap();
    let (_dir, config) = config(&remote.url, "");

    // The first start: the server answers; what it said is kept.
    let (mut b, version, tools) = start_and_list(&config, data.path()).await;
    assert_eq!((version.as_str(), tools), ("start-1", vec!["alpha".to_string()]));
    wait_until("the list cache to be written", || {
        cache_text(data.path()).contains("alpha")
    })
    .await;
    b.close_and_read_rest().await;

    // The server's list changes while no bridge runs.
    remote.seen.set("", &["alpha", "beta"]);
    let (mut b, version, tools) = start_and_list(&config, data.path()).await;
    assert_eq!(version, "start-1", "initialize is answered from the cache");
    assert_eq!(
        tools,
        vec!["alpha".to_string()],
        "tools/list is answered from the cache"
    );
    let changed = b.next_other_timeout(Duration::from_secs(30)).await;
    assert_eq!(changed["method"], "notifications/tools/list_changed", "{changed}");
    let fresh = names(&b.request_ok("tools/list", json!({})).await);
    assert_eq!(fresh, vec!["alpha".to_string(), "beta".to_string()]);
    // Behind the cached answers the session was opened for real: a call
    // goes into it.
    assert_eq!(remote.seen.initializes.load(Ordering::SeqCst), 2);
    let call = b
        .request_ok("tools/call", json!({"name": "alpha", "arguments": {}}))
        .await;
    assert_eq!(call["content"][0]["text"], "called in s-2", "{call}");
    b.close_and_read_rest().await;

    // A start with nothing changed: answered from the cache (the list the
    // last start fetched), checked behind, and no list_changed.
    let lists_before = remote.asked("tools/list");
    let (mut b, version, tools) = start_and_list(&config, data.path()).await;
    assert_eq!(version, "start-2", "the cache holds the last start's initialize");
    assert_eq!(tools, vec!["alpha".to_string(), "beta".to_string()]);
    wait_until("the list to be fetched behind the cached answer", || {
        remote.asked("tools/list") > lists_before
    })
    .await;
    let seen = b.fence().await;
    assert!(
        seen.iter().all(|m| m["method"] != "notifications/tools/list_changed"),
        "no change, no list_changed: {seen:?}"
    );
}

#[tokio::test]
async fn a_cache_kept_for_one_identity_is_never_read_for_another() {
    let remote = Lists::start(&["anyone"]).await;
    remote.seen.set("Bearer token-a user-1", &["for_a_1"]);
    remote.seen.set("Bearer token-a user-2", &["for_a_2"]);
    remote.seen.set("Bearer token-b user-2", &["for_b_2"]);
    let data = tempfile::tempdir().unwrap();
    let who = |token: &str, user: &str| format!("bearer = \"{token}\"\nheaders = {{ \"X-User\" = \"{user}\" }}");

    // Each start as someone else (another token, or another user header, as
    // Pipedream's `external_user_id` is sent) gets the server's own answers.
    let mut versions = Vec::new();
    for (token, user, tools) in [
        ("token-a", "user-1", "for_a_1"),
        ("token-a", "user-2", "for_a_2"),
        ("token-b", "user-2", "for_b_2"),
    ] {
        let (_dir, config) = config(&remote.url, &who(token, user));
        let (mut b, version, listed) = start_and_list(&config, data.path()).await;
        assert_eq!(listed, vec![tools.to_string()], "{token} {user}");
        versions.push(version);
        wait_until("the list cache to be written", || {
            cache_text(data.path()).contains(tools)
        })
        .await;
        b.close_and_read_rest().await;
    }
    assert_eq!(
        versions,
        ["start-1", "start-2", "start-3"],
        "every start was answered live"
    );

    // The control: the same identity again is answered from its cache.
    let (_dir, config) = config(&remote.url, &who("token-b", "user-2"));
    let (_b, version, listed) = start_and_list(&config, data.path()).await;
    assert_eq!((version.as_str(), listed), ("start-3", vec!["for_b_2".to_string()]));
    assert!(
        !cache_text(data.path()).contains("token-b"),
        "no secret in the cache file"
    );
}

#[tokio::test]
async fn a_cache_kept_before_the_transport_or_protocol_changed_is_not_read_after() {
    let remote = Lists::start(&["alpha"]).await;
    let data = tempfile::tempdir().unwrap();
    let mut versions = Vec::new();
    for extra in [
        "",
        "transport = \"streamable-http\"",
        "transport = \"streamable-http\"\nprotocol = \"2025-06-18\"",
        // The control: the same config again is answered from its cache.
        "transport = \"streamable-http\"\nprotocol = \"2025-06-18\"",
    ] {
        let (_dir, config) = config(&remote.url, extra);
        let (mut b, version, _) = start_and_list(&config, data.path()).await;
        // Written: the list and the server's last initialize (behind an
        // answer from the cache, a newer one than the client got).
        wait_until("the list cache to be written", || {
            let last = remote.seen.initializes.load(Ordering::SeqCst);
            let text = cache_text(data.path());
            text.contains("alpha") && text.contains(&format!("\"start-{last}\""))
        })
        .await;
        versions.push(version);
        b.close_and_read_rest().await;
    }
    assert_eq!(versions, ["start-1", "start-2", "start-3", "start-3"]);
}

#[tokio::test]
async fn a_corrupt_or_unreadable_cache_is_ignored_with_a_warning() {
    for broken in ["corrupt", "unreadable"] {
        let remote = Lists::start(&["alpha"]).await;
        let data = tempfile::tempdir().unwrap();
        let (_dir, config) = config(&remote.url, "");
        let file = cache_file(data.path());
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        match broken {
            "corrupt" => std::fs::write(&file, b"{\"key\": \"abc\", \"entries\": {\"tools/list\": [1, 2").unwrap(),
            // A directory where the file should be: it cannot be read.
            _ => std::fs::create_dir(&file).unwrap(),
        }
        let (b, version, tools) = start_and_list(&config, data.path()).await;
        assert_eq!(
            (version.as_str(), tools),
            ("start-1", vec!["alpha".to_string()]),
            "{broken}"
        );
        let stderr = b.stderr_text();
        assert!(
            stderr.contains("WARN") && stderr.contains("ignoring its list cache"),
            "{broken}: {stderr}"
        );
        if broken == "corrupt" {
            wait_until("the cache to be written anew", || {
                serde_json::from_str::<Value>(&cache_text(data.path())).is_ok_and(|v| v["key"] != "abc")
            })
            .await;
        }
    }
}

#[tokio::test]
async fn list_cache_zero_keeps_nothing_and_every_start_asks_the_server() {
    let remote = Lists::start(&["alpha"]).await;
    let data = tempfile::tempdir().unwrap();
    let (_dir, config) = config(&remote.url, "list_cache = \"0\"");
    for expected in ["start-1", "start-2"] {
        let (mut b, version, _) = start_and_list(&config, data.path()).await;
        assert_eq!(version, expected);
        b.close_and_read_rest().await;
    }
    assert!(!cache_file(data.path()).exists());
}

/// `mcp-bridge` with `args`, `data` as its data dir: its stdout, and
/// whether it exited 0.
async fn cli(config: &Path, data: &Path, args: &[&str]) -> (String, bool) {
    let out = Bridge::command()
        .arg("--config")
        .arg(config)
        .args(args)
        .env("MCP_BRIDGE_DATA_DIR", data)
        .output()
        .await
        .unwrap();
    (String::from_utf8_lossy(&out.stdout).into_owned(), out.status.success())
}

#[tokio::test]
async fn doctor_shows_how_old_the_cache_is_and_cache_clear_empties_it() {
    let remote = Lists::start(&["alpha"]).await;
    let data = tempfile::tempdir().unwrap();
    let (_dir, config) = config(&remote.url, "");
    let (doctor, _) = cli(&config, data.path(), &["doctor", "remote"]).await;
    assert!(doctor.contains("remote: none yet"), "{doctor}");

    let (mut b, _, _) = start_and_list(&config, data.path()).await;
    wait_until("the list cache to be written", || {
        cache_text(data.path()).contains("alpha")
    })
    .await;
    b.close_and_read_rest().await;
    let (doctor, passed) = cli(&config, data.path(), &["doctor", "remote"]).await;
    assert!(passed, "{doctor}");
    let line = doctor
        .lines()
        .find(|l| l.trim_start().starts_with("remote: "))
        .unwrap_or_default();
    assert!(
        line.contains("tools/list 0 s") && line.contains("initialize 0 s"),
        "{doctor}"
    );
    // Both doctors asked the server itself (the first and third
    // initialize), and kept nothing of it: the cache holds the start's.
    assert_eq!(remote.seen.initializes.load(Ordering::SeqCst), 3);
    let kept = cache_text(data.path());
    assert!(kept.contains("start-2") && !kept.contains("start-3"), "{kept}");

    let (cleared, ok) = cli(&config, data.path(), &["cache", "clear", "remote"]).await;
    assert!(
        ok && cleared.contains("Cleared the list cache of `remote`"),
        "{cleared}"
    );
    assert!(!cache_file(data.path()).exists());
    let (again, ok) = cli(&config, data.path(), &["cache", "clear", "remote"]).await;
    assert!(ok && again.contains("nothing to clear"), "{again}");
    let (_b, version, _) = start_and_list(&config, data.path()).await;
    assert_eq!(version, "start-4", "after clearing, the start asks the server");
}
