//! Tests of the sandbox's tools over real HTTP: the chat app, concurrency
//! of `slow_echo`, progress notifications, and the elicitation and sampling
//! round trips (with and without the client capability).

use std::time::Duration;

use serde_json::{Value, json};

use super::client::{RawClient, result_text};
use super::start;
use crate::sandbox::{SERVER_NAME, SandboxOptions};

#[tokio::test]
async fn chat_tools_keep_state_across_sessions() {
    let sandbox = start(SandboxOptions::default()).await;
    let mut alice = RawClient::new(&sandbox.url());
    alice.initialize(json!({})).await;

    let list = alice.call_tool("chat_list_channels", json!({})).await;
    assert!(result_text(&list).contains("#general"));
    let channels = list["structuredContent"]["channels"].as_array().unwrap();
    assert!(channels.iter().any(|c| c["name"] == "random"));

    let sent = alice
        .call_tool("chat_send_message", json!({ "channel": "#random", "text": "hello" }))
        .await;
    assert_eq!(sent["isError"], false);
    let id = sent["structuredContent"]["message_id"].as_str().unwrap().to_owned();
    assert!(result_text(&sent).contains(&id));

    let mut bob = RawClient::new(&sandbox.url());
    bob.initialize(json!({})).await;
    assert_ne!(alice.session, bob.session);
    let read = bob
        .call_tool("chat_read_messages", json!({ "channel": "random" }))
        .await;
    assert!(result_text(&read).contains("hello"), "{read}");
    assert_eq!(read["structuredContent"]["messages"][0]["id"], id.as_str());
    assert_eq!(sandbox.messages("random")[0].text, "hello");

    let bad = bob
        .call_tool("chat_send_message", json!({ "channel": "nope", "text": "x" }))
        .await;
    assert_eq!(bad["isError"], true);
    assert!(result_text(&bad).contains("unknown channel 'nope'"), "{bad}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn slow_calls_run_concurrently() {
    let sandbox = start(SandboxOptions::default()).await;
    let mut client = RawClient::new(&sandbox.url());
    client.initialize(json!({})).await;
    // A call that would run for an hour is under way...
    let _slow = client
        .open(
            "tools/call",
            json!({ "name": "slow_echo", "arguments": { "text": "slow", "delay_ms": 3_600_000 } }),
        )
        .await;
    // ...while others, slow ones too, run and end (the wait only bounds a hang).
    let echo = |text: &'static str| client.call_tool("slow_echo", json!({ "text": text, "delay_ms": 200 }));
    let (a, b, c) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(echo("a"), echo("b"), echo("c"))
    })
    .await
    .expect("the calls waited for the slow one");
    assert_eq!([result_text(&a), result_text(&b), result_text(&c)], ["a", "b", "c"]);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn progress_demo_reports_each_step() {
    let sandbox = start(SandboxOptions::default()).await;
    let mut client = RawClient::new(&sandbox.url());
    client.initialize(json!({})).await;
    let messages = client
        .call(
            "tools/call",
            json!({ "name": "progress_demo", "arguments": { "steps": 3, "delay_ms": 10 },
                    "_meta": { "progressToken": "tok-1" } }),
        )
        .await;
    let progress: Vec<&Value> = messages
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .collect();
    assert_eq!(progress.len(), 3, "{messages:?}");
    for (i, p) in progress.iter().enumerate() {
        assert_eq!(p["params"]["progressToken"], "tok-1");
        assert_eq!(p["params"]["progress"], json!((i + 1) as f64));
        assert_eq!(p["params"]["total"], json!(3.0));
    }
    let result = &messages.last().unwrap()["result"];
    assert_eq!(result_text(result), "Completed 3 steps.");
    sandbox.shutdown().await;
}

/// Calls `ask_user`, answers the elicitation with `reply`, returns the result.
async fn ask(client: &RawClient, reply: Value) -> Value {
    let mut stream = client
        .open(
            "tools/call",
            json!({ "name": "ask_user", "arguments": { "question": "Favourite colour?" } }),
        )
        .await;
    let request = stream.next_message().await.expect("elicitation request");
    assert_eq!(request["method"], "elicitation/create", "{request}");
    assert_eq!(request["params"]["message"], "Favourite colour?");
    let schema = &request["params"]["requestedSchema"];
    assert_eq!(schema["properties"]["answer"]["type"], "string");
    assert_eq!(client.reply(&request["id"], reply).await, 202);
    stream.next_message().await.expect("tool result")["result"].clone()
}

#[tokio::test]
async fn ask_user_round_trips_elicitation() {
    let sandbox = start(SandboxOptions::default()).await;
    let mut client = RawClient::new(&sandbox.url());
    client.initialize(json!({ "elicitation": {} })).await;

    let accepted = ask(&client, json!({ "action": "accept", "content": { "answer": "teal" } })).await;
    assert_eq!(accepted["isError"], false);
    assert_eq!(result_text(&accepted), "The user answered: teal");
    assert_eq!(accepted["structuredContent"]["answer"], "teal");

    let declined = ask(&client, json!({ "action": "decline" })).await;
    assert_eq!(declined["isError"], true);
    assert!(result_text(&declined).contains("declined"));

    let cancelled = ask(&client, json!({ "action": "cancel" })).await;
    assert_eq!(cancelled["isError"], true);
    assert!(result_text(&cancelled).contains("cancelled"));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn sample_llm_round_trips_sampling() {
    let sandbox = start(SandboxOptions::default()).await;
    let mut client = RawClient::new(&sandbox.url());
    client.initialize(json!({ "sampling": {} })).await;
    let mut stream = client
        .open(
            "tools/call",
            json!({ "name": "sample_llm", "arguments": { "prompt": "Say hi" } }),
        )
        .await;
    let request = stream.next_message().await.unwrap();
    assert_eq!(request["method"], "sampling/createMessage", "{request}");
    assert_eq!(request["params"]["messages"][0]["content"]["text"], "Say hi");
    let reply = json!({ "role": "assistant", "model": "fake-1",
                        "content": { "type": "text", "text": "hi there" } });
    assert_eq!(client.reply(&request["id"], reply).await, 202);
    let result = stream.next_message().await.unwrap()["result"].clone();
    assert_eq!(result["isError"], false, "{result}");
    assert_eq!(result_text(&result), "hi there");
    assert_eq!(result["structuredContent"]["model"], "fake-1");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn missing_client_capabilities_give_tool_errors() {
    let sandbox = start(SandboxOptions::default()).await;
    let mut client = RawClient::new(&sandbox.url());
    let (init, _) = client.initialize(json!({})).await;
    assert_eq!(init["serverInfo"]["name"], SERVER_NAME);
    let asked = client.call_tool("ask_user", json!({ "question": "?" })).await;
    assert_eq!(asked["isError"], true);
    assert!(result_text(&asked).contains("elicitation"), "{asked}");
    let sampled = client.call_tool("sample_llm", json!({ "prompt": "?" })).await;
    assert_eq!(sampled["isError"], true);
    assert!(result_text(&sampled).contains("sampling"), "{sampled}");
    sandbox.shutdown().await;
}

/// A 2026-07-28 request: no session, `_meta` and the standard headers.
async fn modern_call(url: &str, id: u64, caps: Value, params: Value) -> Value {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": caps,
        "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"},
    });
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params});
    let resp = reqwest::Client::new()
        .post(url)
        .header("accept", super::client::ACCEPT)
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", params["name"].as_str().unwrap_or(""))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers().get("mcp-session-id").is_none(),
        "the modern era has no sessions"
    );
    let text = resp.text().await.unwrap();
    let events = super::client::parse_sse(&text);
    let answer = events.iter().find_map(|e| e.json().filter(|m| m["id"] == id));
    answer.unwrap_or_else(|| serde_json::from_str(&text).unwrap())
}

#[tokio::test]
async fn a_modern_client_is_asked_for_input_by_result_and_completes_on_retry() {
    let sandbox = start(SandboxOptions::default()).await;
    let url = sandbox.url();
    let caps = json!({"elicitation": {}, "sampling": {}});
    let asked = modern_call(
        &url,
        1,
        caps.clone(),
        json!({"name": "ask_user", "arguments": {"question": "Color?"}}),
    )
    .await;
    let result = &asked["result"];
    assert_eq!(result["resultType"], "input_required", "{asked}");
    let request = &result["inputRequests"]["input"];
    assert_eq!(request["method"], "elicitation/create");
    assert_eq!(request["params"]["message"], "Color?");

    let retry = json!({"name": "ask_user", "arguments": {"question": "Color?"},
        "inputResponses": {"input": {"action": "accept", "content": {"answer": "blue"}}}});
    let done = modern_call(&url, 2, caps.clone(), retry).await;
    assert_eq!(done["result"]["resultType"], "complete", "{done}");
    assert_eq!(result_text(&done["result"]), "The user answered: blue");

    let sampled = modern_call(
        &url,
        3,
        caps.clone(),
        json!({"name": "sample_llm", "arguments": {"prompt": "Hi"}}),
    )
    .await;
    assert_eq!(
        sampled["result"]["inputRequests"]["input"]["method"],
        "sampling/createMessage"
    );
    let answer = json!({"role": "assistant", "content": {"type": "text", "text": "Hello"}, "model": "m"});
    let retry = json!({"name": "sample_llm", "arguments": {"prompt": "Hi"}, "inputResponses": {"input": answer}});
    let done = modern_call(&url, 4, caps, retry).await;
    assert_eq!(result_text(&done["result"]), "Hello");

    // Without the capability there is nothing to ask: a tool error, no input request.
    let refused = modern_call(
        &url,
        5,
        json!({}),
        json!({"name": "ask_user", "arguments": {"question": "?"}}),
    )
    .await;
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    assert!(refused["result"].get("inputRequests").is_none());
}
