//! A 2025-11-25 desktop client, through `mcp-bridge serve`, to a server of
//! the 2026-07-28 revision that misbehaves (`support/modern_remote.rs`, a
//! scripted loopback server): bad input gets a clear answer and loses
//! nothing. In each story the client gets exactly one answer per request,
//! nothing hangs (the bridge exits when stdin closes), and a slow call in
//! flight at the same time is answered with the server's result, untouched.
//! The last stories: the era found on the first start is remembered (its
//! discover result only while its `ttlMs` lasts, and for the identity it
//! was asked as), and a 2026-07-28 client's own `server/discover` answered
//! under a stray id.

#[path = "support/modern_remote.rs"]
mod modern_remote;
mod support;

use mcp_bridge::era::mrtr::MAX_ROUNDS;
use modern_remote::{FUTURE, ModernRemote, REVISION, SERVER_NAME, Versions};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use support::{Bridge, toml_string, wait_until, write_config};
use tempfile::TempDir;

const WAIT: Duration = Duration::from_secs(30);
/// The server's name in the bridge's config.
const SERVER: &str = "scripted";

/// `mcp-bridge serve scripted` against `url`, with `timeout`, keeping what
/// it remembers in `data`.
fn serve(url: &str, timeout: &str, data: &Path) -> Bridge {
    serve_with(url, &format!("timeout = {}", toml_string(timeout)), data)
}

/// `mcp-bridge serve scripted` against `url` with the config lines `extra`.
fn serve_with(url: &str, extra: &str, data: &Path) -> Bridge {
    let (dir, config) = write_config(&format!("[servers.{SERVER}]\nurl = {}\n{extra}\n", toml_string(url),));
    let mut cmd = Bridge::command();
    cmd.env("MCP_BRIDGE_DATA_DIR", data)
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .arg(SERVER);
    let mut bridge = Bridge::spawn(cmd);
    bridge.keep(dir);
    bridge
}

/// A scripted modern remote and a bridge to it, initialised by a client
/// that takes form elicitations.
async fn start(timeout: &str) -> (ModernRemote, Bridge, TempDir) {
    let remote = ModernRemote::start(Versions::Common).await;
    let data = tempfile::tempdir().unwrap();
    let mut b = serve(&remote.url, timeout, data.path());
    let init = b.initialize(json!({"elicitation": {"form": {}}})).await;
    assert_eq!(init["serverInfo"]["name"], SERVER_NAME, "{init}");
    (remote, b, data)
}

fn call(id: &Value, tool: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": {}}})
}

/// Starts the `slow` call (with a progress token, so its progress keeps its
/// clock going) and waits until the remote has it: a request in flight.
async fn start_slow(b: &mut Bridge, remote: &ModernRemote) -> Value {
    let id = json!("slow-1");
    let mut msg = call(&id, "slow");
    msg["params"]["_meta"] = json!({"progressToken": "slow-progress"});
    b.send(&msg).await;
    wait_until("the remote has the slow call", || remote.calls_of("slow") == 1).await;
    id
}

/// Lets the slow call end and checks that its answer is the server's
/// result, untouched.
async fn finish_slow(b: &mut Bridge, remote: &ModernRemote, id: &Value) {
    remote.release_slow();
    let answer = b.wait_response(id, WAIT).await;
    assert_eq!(
        answer["result"],
        modern_remote::slow_result(),
        "the call in flight alongside was not answered untouched: {answer}"
    );
}

/// Closes stdin, then checks that the rest of the session held no further
/// answer to any of `ids` and that the bridge exited 0.
async fn end_with_no_second_answer(mut b: Bridge, ids: &[&Value]) {
    let rest = b.close_and_read_rest().await;
    for id in ids {
        let extra = Bridge::answers_to(&rest, id);
        assert!(extra.is_empty(), "a second answer to {id}: {extra:?}");
    }
    let status = b.wait_exit(WAIT).await;
    assert!(status.success(), "{status:?}\n{}", b.stderr_text());
}

/// The error of `answer`, checked to name the server and to say `why`, and
/// to be in the bridge's log (stderr) as well.
fn error_naming_the_server<'a>(b: &Bridge, answer: &'a Value, why: &[&str]) -> &'a str {
    let message = answer
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("expected an error, got {answer}"));
    assert!(
        message.contains(&format!("`{SERVER}`")),
        "the server is not named: {message}"
    );
    for w in why {
        assert!(message.contains(w), "`{w}` is not said: {message}");
    }
    assert_eq!(answer.pointer("/error/data/server"), Some(&json!(SERVER)), "{answer}");
    assert!(b.stderr_text().contains(message), "not logged: {message}");
    message
}

#[tokio::test]
async fn a_result_without_result_type_reaches_the_client_as_the_complete_result_it_is() {
    let (remote, mut b, _data) = start("30s").await;
    let slow = start_slow(&mut b, &remote).await;
    let plain = json!("plain-1");
    b.send(&call(&plain, "plain")).await;
    let answer = b.wait_response(&plain, WAIT).await;
    assert_eq!(answer["result"], modern_remote::plain_result(), "{answer}");
    // The same, when the text names input_required (the bridge reads this one).
    let mentions = json!("plain-2");
    b.send(&call(&mentions, "plain_mentions")).await;
    let answer = b.wait_response(&mentions, WAIT).await;
    assert_eq!(answer["result"], modern_remote::plain_mentions_result(), "{answer}");
    assert_eq!(remote.calls_of("plain"), 1, "a complete result is not retried");
    finish_slow(&mut b, &remote, &slow).await;
    end_with_no_second_answer(b, &[&plain, &mentions, &slow]).await;
}

#[tokio::test]
async fn an_input_request_of_an_unknown_kind_ends_in_one_error_naming_the_server_and_the_kind() {
    let (remote, mut b, _data) = start("30s").await;
    let slow = start_slow(&mut b, &remote).await;
    let odd = json!("odd-1");
    b.send(&call(&odd, "odd_kind")).await;
    let answer = b.wait_response(&odd, WAIT).await;
    error_naming_the_server(&b, &answer, &["tasks/get", "does not know"]);
    assert_eq!(remote.calls_of("odd_kind"), 1, "nothing to retry with");
    assert!(
        !b.unread().iter().any(|m| m["method"] == "tasks/get"),
        "the client was sent the unknown request: {:?}",
        b.unread()
    );
    finish_slow(&mut b, &remote, &slow).await;
    end_with_no_second_answer(b, &[&odd, &slow]).await;
}

#[tokio::test]
async fn a_server_that_asks_for_input_forever_is_stopped_after_the_bounded_rounds() {
    let (remote, mut b, _data) = start("30s").await;
    let slow = start_slow(&mut b, &remote).await;
    let forever = json!("forever-1");
    b.send(&call(&forever, "ask_forever")).await;
    let mut asked = Vec::new();
    let answer = loop {
        let msg = b.recv_timeout(WAIT).await;
        if msg["method"] == "elicitation/create" {
            asked.push(msg["params"]["message"].clone());
            let reply = json!({"action": "accept", "content": {"name": "octo"}});
            b.respond(&msg["id"], reply).await;
        } else if msg.get("method").is_none() && msg["id"] == forever {
            break msg;
        }
        // Anything else is the slow call's progress.
    };
    error_naming_the_server(&b, &answer, &[&format!("asked for input {MAX_ROUNDS} times")]);
    assert_eq!(asked.len(), MAX_ROUNDS, "one question a round: {asked:?}");
    assert_eq!(asked[1], json!("Round 2: your name?"));
    // Each retry carried the client's answer and the state of the round
    // before, under an id of the bridge's.
    let calls: Vec<_> = remote
        .seen()
        .into_iter()
        .filter(|s| s.tool.as_deref() == Some("ask_forever"))
        .collect();
    assert_eq!(calls.len(), MAX_ROUNDS + 1, "the call and one retry a round");
    for (n, retry) in calls.iter().enumerate().skip(1) {
        let params = &retry.body["params"];
        assert_eq!(params["requestState"], json!(format!("round-{n}")), "{params}");
        assert_eq!(params["inputResponses"]["name"]["content"]["name"], "octo", "{params}");
        assert_ne!(retry.body["id"], forever);
    }
    finish_slow(&mut b, &remote, &slow).await;
    end_with_no_second_answer(b, &[&forever, &slow]).await;
}

#[tokio::test]
async fn a_client_that_never_answers_an_elicitation_gets_an_error_when_the_timeout_ends() {
    let (remote, mut b, _data) = start("2s").await;
    let slow = start_slow(&mut b, &remote).await;
    let once = json!("once-1");
    b.send(&call(&once, "ask_once")).await;
    let question = loop {
        let msg = b.next_other_timeout(WAIT).await;
        if msg["method"] == "elicitation/create" {
            break msg;
        }
    };
    // The client never answers.
    let answer = b.wait_response(&once, WAIT).await;
    error_naming_the_server(&b, &answer, &["did not answer", "elicitation/create", "`timeout`"]);
    let cancelled = b
        .unread()
        .iter()
        .any(|m| m["method"] == "notifications/cancelled" && m["params"]["requestId"] == question["id"]);
    assert!(
        cancelled,
        "the client was not told the question is void: {:?}",
        b.unread()
    );
    // An answer that comes too late changes nothing.
    b.respond(
        &question["id"],
        json!({"action": "accept", "content": {"name": "late"}}),
    )
    .await;
    assert_eq!(remote.calls_of("ask_once"), 1, "no retry after the timeout");
    finish_slow(&mut b, &remote, &slow).await;
    end_with_no_second_answer(b, &[&once, &slow]).await;
    assert_eq!(remote.calls_of("ask_once"), 1, "no retry with the late answer");
}

#[tokio::test]
async fn a_client_that_answers_and_leaves_at_once_still_gets_the_completed_call() {
    let (remote, mut b, _data) = start("30s").await;
    let once = json!("once-2");
    b.send(&call(&once, "ask_once")).await;
    let question = b.next_other_timeout(WAIT).await;
    assert_eq!(question["method"], "elicitation/create", "{question}");
    b.respond(
        &question["id"],
        json!({"action": "accept", "content": {"name": "octo"}}),
    )
    .await;
    // The retry is at the server (it takes a while) when stdin closes.
    let rest = b.close_and_read_rest().await;
    let answers = Bridge::answers_to(&rest, &once);
    assert_eq!(answers.len(), 1, "{rest:#?}");
    assert_eq!(
        answers[0].pointer("/result/content/0/text"),
        Some(&json!("hello octo")),
        "{rest:#?}"
    );
    assert_eq!(remote.calls_of("ask_once"), 2, "the call and its retry");
    assert!(b.wait_exit(WAIT).await.success());
}

#[tokio::test]
async fn a_server_that_shares_no_version_with_the_bridge_is_told_as_such() {
    for versions in [Versions::FutureResult, Versions::FutureError] {
        let remote = ModernRemote::start(versions).await;
        let data = tempfile::tempdir().unwrap();
        let mut b = serve(&remote.url, "30s", data.path());
        let init = json!(1);
        b.send(&json!({"jsonrpc": "2.0", "id": init, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}))
            .await;
        // A second request right behind it, not waiting for the first.
        let list = json!(2);
        b.send(&json!({"jsonrpc": "2.0", "id": list, "method": "tools/list"}))
            .await;
        for id in [&init, &list] {
            let answer = b.wait_response(id, WAIT).await;
            let message = error_naming_the_server(&b, &answer, &["no protocol version in common", FUTURE, REVISION]);
            assert!(message.contains("2025-11-25"), "{versions:?}: {message}");
        }
        assert_eq!(remote.count("initialize"), 0, "{versions:?}: {:?}", remote.seen());
        end_with_no_second_answer(b, &[&init, &list]).await;
    }
}

#[tokio::test]
async fn a_second_start_remembers_the_era_and_asks_the_server_nothing_first() {
    let remote = ModernRemote::start(Versions::Common).await;
    let data = tempfile::tempdir().unwrap();
    for start in 1..=2 {
        let mut b = serve(&remote.url, "30s", data.path());
        let init = b.initialize(json!({})).await;
        // The second start answers from the discover result it remembered.
        assert_eq!(init["serverInfo"]["name"], SERVER_NAME, "start {start}: {init}");
        let id = json!(format!("plain-{start}"));
        b.send(&call(&id, "plain")).await;
        let answer = b.wait_response(&id, WAIT).await;
        assert_eq!(
            answer["result"],
            modern_remote::plain_result(),
            "start {start}: {answer}"
        );
        end_with_no_second_answer(b, &[&id]).await;
        assert_eq!(remote.count("server/discover"), 1, "start {start}: {:?}", remote.seen());
    }
    let seen = remote.seen();
    assert_eq!(remote.count("initialize"), 0, "{seen:?}");
    assert!(
        seen.iter()
            .all(|s| s.protocol_version.as_deref() == Some(REVISION) && s.session_id.is_none()),
        "{seen:?}"
    );
}

/// A 2026-07-28 client's first `server/discover`, sent on while the era is
/// not known yet, answered by the server under another id: the client gets
/// the answer under its own id (the one request it made), not a stray.
#[tokio::test]
async fn a_discover_answered_under_another_id_reaches_the_client_under_its_own() {
    let remote = ModernRemote::start(Versions::CommonUnderAnotherId).await;
    let data = tempfile::tempdir().unwrap();
    let mut b = serve(&remote.url, "30s", data.path());
    let id = json!("discover-1");
    b.send(
        &json!({"jsonrpc": "2.0", "id": id, "method": "server/discover", "params": {"_meta": {
            "io.modelcontextprotocol/protocolVersion": REVISION,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "modern-client", "version": "1.0"},
        }}}),
    )
    .await;
    let answer = b.wait_response(&id, WAIT).await;
    assert_eq!(answer["result"]["supportedVersions"], json!([REVISION]), "{answer}");
    end_with_no_second_answer(b, &[&id, &json!("not-yours")]).await;
}

/// A discover result the server says may not be kept (`ttlMs` 0) is asked
/// again on the next start; one it lets be kept is not.
#[tokio::test]
async fn a_discover_result_is_reused_on_the_next_start_only_while_its_ttl_lasts() {
    let remote = ModernRemote::start(Versions::Common).await;
    remote.set_discover_ttl_ms(0);
    let data = tempfile::tempdir().unwrap();
    for (start, discovers) in [(1, 1), (2, 2)] {
        let mut b = serve(&remote.url, "30s", data.path());
        let init = b.initialize(json!({})).await;
        assert_eq!(init["serverInfo"]["name"], SERVER_NAME, "start {start}: {init}");
        end_with_no_second_answer(b, &[]).await;
        assert_eq!(remote.count("server/discover"), discovers, "start {start}: ttlMs 0");
    }
    remote.set_discover_ttl_ms(60_000);
    for (start, discovers) in [(3, 3), (4, 3)] {
        let mut b = serve(&remote.url, "30s", data.path());
        b.initialize(json!({})).await;
        end_with_no_second_answer(b, &[]).await;
        assert_eq!(remote.count("server/discover"), discovers, "start {start}: ttlMs 60000");
    }
}

/// A discover result remembered when the requests were made as one person
/// is not read back for another (another token): that start asks the
/// server; the same person again is answered from what was remembered.
#[tokio::test]
async fn a_discover_result_remembered_for_one_identity_is_asked_again_for_another() {
    let remote = ModernRemote::start(Versions::Common).await;
    let data = tempfile::tempdir().unwrap();
    for (start, token, discovers) in [(1, "token-a", 1), (2, "token-b", 2), (3, "token-b", 2)] {
        let mut b = serve_with(&remote.url, &format!("bearer = \"{token}\""), data.path());
        let init = b.initialize(json!({})).await;
        assert_eq!(init["serverInfo"]["name"], SERVER_NAME, "start {start}: {init}");
        end_with_no_second_answer(b, &[]).await;
        assert_eq!(remote.count("server/discover"), discovers, "start {start} as {token}");
    }
}
