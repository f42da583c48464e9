//! Fault suite, client side: what the desktop client does wrong or at a bad
//! moment, with the sandbox behind the fault proxy. Scenarios of issue 7:
//! 9 malformed stdin lines (bad JSON, wrong types, an empty line, CRLF
//! endings), 10 stdin closed while calls are in flight (and the stop's
//! grace), 12 the client cancelling a call, 13 a server→client request
//! arriving while the client is busy. Every request gets exactly one answer (a cancelled one: none),
//! the bridge keeps serving (or, for 10, exits 0), and no secret of the
//! config reaches the trace log.

mod fault_proxy;
mod fault_support;
mod support;

use fault_proxy::{Fault, FaultProxy, Match, base_of};
use fault_support::*;
use mcp_bridge::sandbox::Sandbox;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::Bridge;

async fn setup(secret: &str) -> (Sandbox, FaultProxy, Bridge) {
    let sbx = support::sandbox_with(Some(secret), None).await;
    let proxy = FaultProxy::start(&base_of(&sbx.url())).await;
    let b = serve_traced(&config(&format!("{}/mcp", proxy.url), secret, "10s"), "remote", &[]);
    (sbx, proxy, b)
}

/// Scenario 9: every malformed line gets one error (or, for a blank line,
/// nothing); CRLF lines and batches work; nothing malformed reaches the
/// remote; the bridge goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s09_malformed_stdin_lines() {
    const SECRET: &str = "fault-secret-s09-stdin-d1ce";
    let (_sbx, proxy, mut b) = setup(SECRET).await;
    b.send_bytes(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"0\"}}}\r\n")
        .await;
    let init = b.wait_response(&json!(1), Duration::from_secs(10)).await;
    assert!(init["result"]["serverInfo"].is_object(), "CRLF initialize: {init}");
    b.send_bytes(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\r\n")
        .await;

    // Lines whose error has a null id: not JSON, invalid UTF-8, an empty batch, not an object.
    let null_id_lines: [&[u8]; 7] = [
        b"this is not json\n",
        b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\n",
        b"\xff\xfe\n",
        b"[]\n",
        b"42\n",
        b"\"tools/list\"\r\n",
        b"null\n",
    ];
    for line in null_id_lines {
        b.send_bytes(line).await;
    }
    // Blank lines (LF, CRLF, spaces): no answer at all.
    b.send_bytes(b"\n\r\n   \n\t\r\n").await;
    // Wrong types with an id: method not a string, params not an object.
    b.send_raw(r#"{"jsonrpc":"2.0","id":10,"method":42}"#).await;
    b.send_raw(r#"{"jsonrpc":"2.0","id":11,"method":"tools/call","params":"oops"}"#)
        .await;
    b.send_raw(r#"{"jsonrpc":"2.0","id":"twelve","method":"tools/call","params":{"name":17}}"#)
        .await;
    // Valid JSON with a number no f64 holds: relayed as the client sent it
    // (the bridge reads only the envelope), and the remote's refusal comes
    // back as an error for its own id.
    b.send_raw(r#"{"jsonrpc":"2.0","id":15,"method":"tools/call","params":{"name":"echo","arguments":{"n":1e400}}}"#)
        .await;
    // A batch of two good requests, CRLF-terminated.
    b.send_bytes(b"[{\"jsonrpc\":\"2.0\",\"id\":13,\"method\":\"ping\"},{\"jsonrpc\":\"2.0\",\"id\":14,\"method\":\"tools/list\"}]\r\n")
        .await;

    let ids = [json!(10), json!(11), json!("twelve"), json!(13), json!(14), json!(15)];
    let mut null_errors = 0;
    let mut got = std::collections::HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while null_errors < null_id_lines.len() || got.len() < ids.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = b
            .try_recv_timeout(left)
            .await
            .unwrap_or_else(|| panic!("missing answers: {null_errors} null-id errors, answered {got:?}"));
        if msg.get("method").is_some() {
            continue; // a notification from the server
        }
        if msg["id"].is_null() {
            let code = msg["error"]["code"].as_i64();
            assert!(matches!(code, Some(-32700 | -32600)), "{msg}");
            null_errors += 1;
        } else if ids.contains(&msg["id"]) {
            assert!(
                got.insert(msg["id"].to_string(), msg.clone()).is_none(),
                "answered twice: {msg}"
            );
        }
    }
    assert_eq!(got["10"]["error"]["code"], -32600, "{got:?}");
    assert!(
        got["11"].get("error").is_some() || got["11"]["result"]["isError"] == true,
        "{got:?}"
    );
    assert!(got["\"twelve\""].get("error").is_some() || got["\"twelve\""]["result"]["isError"] == true);
    assert!(got["13"]["result"].is_object(), "{got:?}");
    assert!(got["14"]["result"]["tools"].is_array(), "{got:?}");
    assert!(got["15"]["error"]["code"].is_i64(), "{got:?}");
    assert!(
        got["15"]["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("out of range"),
        "{got:?}"
    );
    // Nothing more: no answer to a blank line, none twice.
    let more = b.fence().await;
    assert!(more.is_empty(), "{more:?}");
    let seen = proxy.log();
    assert!(seen.iter().all(|s| s.rpc.as_deref() != Some("42")), "{seen:?}");
    still_serves(&mut b).await;
    assert_no_secrets(&b, &[SECRET]);
}

/// Scenario 10: stdin closes with calls in flight. The two quick ones end
/// within the stop's grace (a second) and are answered with their result;
/// the one the proxy holds is answered with the stop's error and cancelled
/// at the remote (issue 19: the bridge stops within about a second); each
/// is answered once, then stdout closes, DELETE ends the session and the
/// bridge exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s10_stdin_closed_while_calls_are_in_flight() {
    const SECRET: &str = "fault-secret-s10-eof-ba5e";
    let (_sbx, proxy, mut b) = setup(SECRET).await;
    b.initialize(caps()).await;
    proxy.on(Match::rpc("tools/call"), Fault::Hold, 1);
    let held = send_echo(&mut b, "held", 0).await;
    support::wait_until("the proxy to hold a call", || proxy.seen("tools/call") == 1).await;
    let mut ids = vec![held.clone()];
    for (i, delay) in [0u64, 200].into_iter().enumerate() {
        ids.push(send_echo(&mut b, &format!("last {i}"), delay).await);
    }
    // Everything the client gets from here to the end of stdout.
    let answers = one_answer_each_in(b.close_and_read_rest().await, &ids);
    let stopped = &answers[&held.to_string()];
    assert!(
        stopped["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("mcp-bridge is stopping"),
        "{stopped}"
    );
    for (i, id) in ids[1..].iter().enumerate() {
        assert_eq!(text(&answers[&id.to_string()]), format!("last {i}"));
    }
    assert!(b.wait_exit(Duration::from_secs(10)).await.success());
    let log = proxy.log();
    assert_eq!(
        log.iter()
            .filter(|s| s.rpc.as_deref() == Some("notifications/cancelled"))
            .count(),
        1,
        "{log:?}"
    );
    assert!(log.iter().any(|s| s.http == "DELETE"), "no DELETE: {log:?}");
    assert_no_secrets(&b, &[SECRET]);
}

/// Scenario 12: the client cancels two calls, one running at the remote and
/// one still held by the proxy. Neither is answered (the spec says a
/// cancelled request gets no response), the other calls are, the remote
/// hears of the cancellation, and closing stdin does not wait for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s12_client_cancels_a_call() {
    const SECRET: &str = "fault-secret-s12-cancel-ca11";
    let (sbx, proxy, mut b) = setup(SECRET).await;
    b.initialize(caps()).await;
    let running = send_echo(&mut b, "running", 3_600_000).await;
    support::wait_for_rpc(&sbx, "tools/call", 1).await;
    proxy.on(Match::rpc("tools/call"), Fault::Hold, 1);
    let held = send_echo(&mut b, "held", 0).await;
    // The bridge sends calls side by side: the next one goes once the proxy
    // holds this one, so that the hold is this one's.
    support::wait_until("the held call at the proxy", || proxy.seen("tools/call") == 2).await;
    let other = send_echo(&mut b, "other", 200).await;
    support::wait_until("the other call at the proxy", || proxy.seen("tools/call") == 3).await;
    for id in [&running, &held] {
        b.notify(
            "notifications/cancelled",
            json!({"requestId": id, "reason": "user pressed stop"}),
        )
        .await;
    }
    support::wait_for_rpc(&sbx, "notifications/cancelled", 1).await;
    let answered = answers_within(&mut b, std::slice::from_ref(&other), Duration::from_secs(15)).await;
    assert_eq!(text(&answered[&other.to_string()]), "other");
    // The held call goes on to the remote now; once all three exchanges are
    // over at the proxy, whatever answer the remote gave has come back.
    proxy.release();
    support::wait_until("the three calls' exchanges to end at the proxy", || {
        proxy.ended("tools/call") == 3
    })
    .await;
    let all = [running.clone(), held.clone(), other.clone()];
    let answered = no_second_answer(&mut b, &all, answered).await;
    assert_eq!(answered.len(), 1, "a cancelled call was answered: {answered:?}");
    still_serves(&mut b).await;
    // Nor in the rest of the session: stdin closing does not wait for them.
    let rest = b.close_and_read_rest().await;
    for id in [&running, &held] {
        assert!(Bridge::answers_to(&rest, id).is_empty(), "{id} answered: {rest:?}");
    }
    assert!(b.wait_exit(Duration::from_secs(10)).await.success());
    assert_no_secrets(&b, &[SECRET]);
}

/// Scenario 13: elicitation and sampling requests from the server arrive
/// while the client has calls of its own in flight and keeps sending more
/// before it answers them; everything is answered once, in any order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s13_server_request_while_the_client_is_busy() {
    const SECRET: &str = "fault-secret-s13-busy-b0b0";
    let (_sbx, _proxy, mut b) = setup(SECRET).await;
    b.initialize(caps()).await;
    let mut ids = vec![];
    for i in 0..4 {
        ids.push(send_echo(&mut b, &format!("busy {i}"), 400).await);
    }
    let ask = b.next_id();
    b.send(&call_msg(&ask, "ask_user", json!({"question": "Colour?"})))
        .await;
    let sample = b.next_id();
    b.send(&call_msg(&sample, "sample_llm", json!({"prompt": "Say hi"})))
        .await;
    let mut asks: Vec<Value> = vec![];
    while asks.len() < 2 {
        let m = b.next_other_timeout(Duration::from_secs(10)).await;
        if m.get("id").is_some() {
            asks.push(m); // a request, not a notification
        }
    }
    // Busy: more calls go out before the server's requests are answered.
    for i in 4..8 {
        ids.push(send_echo(&mut b, &format!("busy {i}"), 0).await);
    }
    for req in &asks {
        match req["method"].as_str() {
            Some("elicitation/create") => {
                b.respond(&req["id"], json!({"action": "accept", "content": {"answer": "teal"}}))
                    .await
            }
            Some("sampling/createMessage") => {
                b.respond(
                    &req["id"],
                    json!({"role": "assistant", "content": {"type": "text", "text": "hi from the model"}, "model": "m"}),
                )
                .await
            }
            _ => panic!("unexpected server message {req}"),
        }
    }
    let mut all = ids.clone();
    all.extend([ask.clone(), sample.clone()]);
    let answers = exactly_one_answer_each(&mut b, &all, Duration::from_secs(10)).await;
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(text(&answers[&id.to_string()]), format!("busy {i}"));
    }
    assert_eq!(text(&answers[&ask.to_string()]), "The user answered: teal");
    assert!(answers[&sample.to_string()].to_string().contains("hi from the model"));
    still_serves(&mut b).await;
    assert_no_secrets(&b, &[SECRET]);
}
