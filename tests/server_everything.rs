//! The bridge against @modelcontextprotocol/server-everything: everything the
//! server offers must give the same answer through the bridge as over a
//! direct Streamable HTTP connection to the same server (see [`Direct`]),
//! including server→client requests, progress, capability-dependent tool
//! lists, the legacy HTTP+SSE fallback and a remote that forgets the session.

mod support;

use std::process::Command;
use std::time::Duration;

use futures::StreamExt;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use support::{Bridge, PeerProcess, Stream};

const WAIT: Duration = support::DEFAULT_TIMEOUT;

fn full_caps() -> Value {
    json!({"sampling": {}, "elicitation": {}, "roots": {"listChanged": true}})
}

/// What both test clients (bridge-side and direct) answer to server→client requests.
fn canned_answer(method: &str) -> Value {
    match method {
        "sampling/createMessage" => json!({"role": "assistant", "model": "canned-model", "stopReason": "endTurn",
            "content": {"type": "text", "text": "canned sampling reply"}}),
        "elicitation/create" => json!({"action": "accept", "content": {"name": "Canned Name", "integer": 7}}),
        "roots/list" => json!({"roots": [{"uri": "file:///tmp/canned-root", "name": "Canned root"}]}),
        "ping" => json!({}),
        other => panic!("unexpected server→client request {other}"),
    }
}

fn array(value: &Value) -> Vec<Value> {
    let items = value.as_array().cloned();
    items.unwrap_or_else(|| panic!("not an array: {value}"))
}

/// What one client saw while one request of its was in flight.
#[derive(Debug, Default)]
struct Exchange {
    response: Value,
    /// Methods of the server→client requests answered meanwhile.
    answered: Vec<String>,
    notifications: Vec<Value>,
}

impl Exchange {
    /// Files an incoming message; returns the reply if it is a server→client request.
    fn absorb(&mut self, msg: Value, id: &Value) -> Option<Value> {
        match (msg["method"].as_str(), msg.get("id")) {
            (Some(method), Some(request_id)) => {
                self.answered.push(method.to_string());
                Some(json!({"jsonrpc": "2.0", "id": request_id, "result": canned_answer(method)}))
            }
            (Some(_), None) => {
                self.notifications.push(msg);
                None
            }
            _ => {
                assert_eq!(msg["id"], *id, "response to an unknown id: {msg}");
                self.response = msg;
                None
            }
        }
    }

    fn result(&self) -> &Value {
        let result = self.response.get("result");
        result.unwrap_or_else(|| panic!("expected a result, got {}", self.response))
    }

    fn progress(&self, token: &Value) -> Vec<Value> {
        let ours = |n: &&Value| n["method"] == "notifications/progress" && n["params"]["progressToken"] == *token;
        let ours = self.notifications.iter().filter(ours);
        ours.map(|n| n["params"].clone()).collect()
    }
}

/// The bridge, driven as the desktop client.
struct Via {
    bridge: Bridge,
    /// Methods of every server→client request answered so far.
    answered: Vec<String>,
}

impl Via {
    async fn start(url: &str, transport: Option<&str>, caps: Value) -> (Via, Value) {
        let mut config = support::remote_config("everything", url);
        if let Some(transport) = transport {
            config += &format!("transport = {}\n", support::toml_string(transport));
        }
        let mut bridge = Bridge::serve(&config, "everything");
        let init = bridge.initialize(caps).await;
        (
            Via {
                bridge,
                answered: Vec::new(),
            },
            init,
        )
    }

    async fn call(&mut self, method: &str, params: Value) -> Exchange {
        let id = self.bridge.next_id();
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.bridge.send(&msg).await;
        let mut ex = Exchange::default();
        while ex.response.is_null() {
            let msg = self.bridge.recv_timeout(WAIT).await;
            if let Some(reply) = ex.absorb(msg, &id) {
                self.bridge.send(&reply).await;
            }
        }
        self.answered.extend(ex.answered.iter().cloned());
        ex
    }
}

// ---------------------------------------------------------------------------
// Direct: the reference client
// ---------------------------------------------------------------------------

/// A minimal Streamable HTTP MCP client speaking to the server directly, the
/// reference the bridge's answers are compared with. Every POST carries
/// `Accept: application/json, text/event-stream` and, after initialize,
/// `Mcp-Session-Id` and `MCP-Protocol-Version`; bodies are JSON or SSE.
/// Server→client requests, on a POST's SSE stream or on the standalone GET
/// stream opened after initialize, get the same [`canned_answer`] as through
/// the bridge.
struct Direct {
    http: reqwest::Client,
    url: String,
    headers: HeaderMap,
    next_id: i64,
}

fn post(http: &reqwest::Client, url: &str, headers: &HeaderMap, body: &Value) -> reqwest::RequestBuilder {
    let accept = "application/json, text/event-stream";
    let req = http.post(url).headers(headers.clone()).header("accept", accept);
    req.header("content-type", "application/json").body(body.to_string())
}

/// POSTs a notification or a response, which the server must accept with 202.
async fn post_accepted(http: &reqwest::Client, url: &str, headers: &HeaderMap, body: &Value) {
    let resp = post(http, url, headers, body).send().await.expect("POST");
    assert_eq!(resp.status(), 202, "POST {body}");
}

fn sse_events(resp: reqwest::Response) -> impl futures::Stream<Item = Value> + Unpin {
    let reader = mcp_bridge::sse::Reader::new(resp.bytes_stream());
    let events = futures::stream::unfold(reader, |mut r| async move { r.next().await.map(|e| (e, r)) });
    Box::pin(events.filter_map(|event| {
        let data = event.expect("SSE stream").data;
        let data = (!data.trim_ascii().is_empty()).then_some(data);
        futures::future::ready(data.map(|d| serde_json::from_slice(&d).expect("JSON in SSE data")))
    }))
}

impl Direct {
    async fn connect(url: &str, capabilities: Value) -> (Direct, Value) {
        let (http, url) = (reqwest::Client::new(), url.to_string());
        let mut direct = Direct {
            http,
            url,
            headers: HeaderMap::new(),
            next_id: 0,
        };
        let params = json!({"protocolVersion": support::PROTOCOL_VERSION, "capabilities": capabilities,
            "clientInfo": {"name": "mcp-bridge-tests", "version": "0.0.0"}});
        let init = direct.call("initialize", params).await.result().clone();
        let version = init["protocolVersion"].as_str().expect("protocolVersion");
        direct.headers.insert("mcp-protocol-version", version.parse().unwrap());
        let (http, url, headers) = (direct.http.clone(), direct.url.clone(), direct.headers.clone());
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        post_accepted(&http, &url, &headers, &initialized).await;
        let get = http.get(&url).headers(headers.clone());
        let resp = get
            .header("accept", "text/event-stream")
            .send()
            .await
            .expect("GET stream");
        if resp.status() == 200 {
            // Ends with the runtime, or when the server closes the stream.
            tokio::spawn(async move {
                let mut events = sse_events(resp);
                while let Some(msg) = events.next().await {
                    if let Some(reply) = Exchange::default().absorb(msg, &Value::Null) {
                        post_accepted(&http, &url, &headers, &reply).await;
                    }
                }
            });
        }
        (direct, init)
    }

    async fn call(&mut self, method: &str, params: Value) -> Exchange {
        self.next_id += 1;
        let id = json!(self.next_id);
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let resp = post(&self.http, &self.url, &self.headers, &msg).send().await;
        let resp = resp.expect("POST");
        assert_eq!(resp.status(), 200, "direct {method}");
        if let Some(session) = resp.headers().get("mcp-session-id") {
            self.headers.insert("mcp-session-id", session.clone());
        }
        let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok());
        let mut ex = Exchange::default();
        if !content_type.unwrap_or_default().starts_with("text/event-stream") {
            ex.absorb(resp.json().await.expect("JSON body"), &id);
            return ex;
        }
        let mut events = sse_events(resp);
        while ex.response.is_null() {
            let msg = tokio::time::timeout(WAIT, events.next()).await;
            let msg = msg
                .expect("direct SSE timed out")
                .unwrap_or_else(|| panic!("direct {method}: SSE stream ended without a response"));
            if let Some(reply) = ex.absorb(msg, &id) {
                post_accepted(&self.http, &self.url, &self.headers, &reply).await;
            }
        }
        ex
    }
}

// ---------------------------------------------------------------------------
// comparing
// ---------------------------------------------------------------------------

/// Replaces the genuinely volatile parts of server-everything's answers:
/// * words that are UUIDs (the session ids in the `toggle-*` texts) → `<uuid>`;
/// * task `taskId`, `createdAt` and `lastUpdatedAt` (random, clock) → `<volatile>`;
/// * the local time after "created at " in dynamic resources, also inside
///   base64 `blob`s (decoded for that) → `<time>`.
fn normalise(value: &Value) -> Value {
    match value {
        Value::String(s) => json!(normalise_text(s)),
        Value::Array(items) => Value::Array(items.iter().map(normalise).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| match (k.as_str(), v.as_str()) {
                    ("taskId" | "createdAt" | "lastUpdatedAt", Some(_)) => (k.clone(), json!("<volatile>")),
                    ("blob", Some(blob)) => match base64_decode(blob).and_then(|b| String::from_utf8(b).ok()) {
                        Some(text) if text.contains("created at ") => (k.clone(), json!(normalise_text(&text))),
                        _ => (k.clone(), v.clone()),
                    },
                    _ => (k.clone(), normalise(v)),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn normalise_text(s: &str) -> String {
    let is_uuid = |w: &str| {
        w.split('-').map(str::len).eq([8, 4, 4, 4, 12]) && w.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
    };
    let text: Vec<&str> = s.split(' ').map(|w| if is_uuid(w) { "<uuid>" } else { w }).collect();
    let text = text.join(" ");
    match text.find("created at ") {
        Some(at) => format!("{}created at <time>", &text[..at]),
        None => text,
    }
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for c in s.trim_end_matches('=').bytes() {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        acc = (acc << 6) | alphabet.iter().position(|&a| a == c)? as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Sends the same request through the bridge and directly, and asserts that
/// both succeeded with equal (normalised) results.
async fn same(via: &mut Via, direct: &mut Direct, method: &str, params: Value) -> (Exchange, Exchange) {
    let bridged = via.call(method, params.clone()).await;
    let reference = direct.call(method, params.clone()).await;
    let (got, want) = (normalise(bridged.result()), normalise(reference.result()));
    assert_eq!(got, want, "{method} {params}: bridge (left) and direct (right) differ");
    (bridged, reference)
}

// ---------------------------------------------------------------------------
// tests
// ---------------------------------------------------------------------------

/// `tools/call` params for `tool`: its required inputs built from the
/// inputSchema (enums: the first value), plus overrides where needed.
fn tool_call_params(tool: &Value) -> Value {
    let schema = &tool["inputSchema"];
    let mut args = serde_json::Map::new();
    let required = schema["required"].as_array().into_iter().flatten();
    for key in required.filter_map(Value::as_str) {
        let prop = &schema["properties"][key];
        let value = match (prop["enum"].get(0), prop["type"].as_str()) {
            (Some(first), _) => first.clone(),
            (None, Some("number" | "integer")) => json!(3),
            (None, Some("boolean")) => json!(true),
            _ => json!("bridge test"),
        };
        args.insert(key.to_string(), value);
    }
    let mut params = json!({"name": tool["name"]});
    match tool["name"].as_str().unwrap() {
        "trigger-long-running-operation" => {
            args.extend([("duration".into(), json!(0.3)), ("steps".into(), json!(3))]);
            params["_meta"] = json!({"progressToken": "long-running-progress"});
        }
        // Its default `data` is an https URL: compress a local data: URI
        // instead, returned inline (a link would point to a resource table
        // that all sessions share, so the other client's call replaces it).
        "gzip-file-as-resource" => args.extend([
            ("data".into(), json!("data:text/plain,hello%20bridge")),
            ("outputType".into(), json!("resource")),
        ]),
        _ => {}
    }
    if tool["execution"]["taskSupport"] == "required" {
        params["task"] = json!({"ttl": 60000});
    }
    params["arguments"] = Value::Object(args);
    params
}

/// Asserts that `result` contains the string at `pointer` in the canned answer to `method`.
fn reflects(result: &Value, method: &str, pointer: &str) {
    let answer = canned_answer(method);
    let answer = answer.pointer(pointer).and_then(Value::as_str).unwrap();
    assert!(result.to_string().contains(answer), "no {answer:?} in {result}");
}

#[tokio::test]
async fn every_tool_matches_a_direct_connection() {
    let (_peer, url) = support::spawn_server_everything();
    let (mut via, via_init) = Via::start(&url, None, full_caps()).await;
    let (mut direct, direct_init) = Direct::connect(&url, full_caps()).await;
    assert_eq!(via_init, direct_init, "initialize result");

    let (listed, _) = same(&mut via, &mut direct, "tools/list", json!({})).await;
    let tools = array(&listed.result()["tools"]);
    assert_eq!(tools.len(), 16, "sampling+elicitation+roots: {tools:#?}");

    for tool in &tools {
        let name = tool["name"].as_str().unwrap();
        let params = tool_call_params(tool);
        let (bridged, reference) = same(&mut via, &mut direct, "tools/call", params.clone()).await;
        let result = bridged.result();
        assert_ne!(result["isError"], true, "{name}: {result}");
        match name {
            "trigger-sampling-request" | "trigger-elicitation-request" => {
                let (method, pointer) = match name.contains("sampling") {
                    true => ("sampling/createMessage", "/content/text"),
                    false => ("elicitation/create", "/content/name"),
                };
                // Both clients got the request (through the bridge / directly) and answered it.
                assert_eq!(bridged.answered, [method], "{name} via the bridge");
                assert_eq!(reference.answered, [method], "{name} directly");
                reflects(result, method, pointer);
            }
            "get-roots-list" => {
                reflects(result, "roots/list", "/roots/0/uri");
                let asked = via.answered.iter().any(|m| m == "roots/list");
                assert!(asked, "roots/list never reached the client");
            }
            "trigger-long-running-operation" => {
                let token = &params["_meta"]["progressToken"];
                let progress = bridged.progress(token);
                assert_eq!(progress.len(), 3, "progress: {:#?}", bridged.notifications);
                assert_eq!(progress, reference.progress(token));
            }
            // A second call switches it off again.
            _ if name.starts_with("toggle-") => _ = same(&mut via, &mut direct, "tools/call", params).await,
            _ if params.get("task").is_some() => {
                let task = |ex: &Exchange| json!({"taskId": ex.result()["task"]["taskId"]});
                let bridged = via.call("tasks/result", task(&bridged)).await;
                let reference = direct.call("tasks/result", task(&reference)).await;
                let (got, want) = (normalise(bridged.result()), normalise(reference.result()));
                assert_eq!(got, want, "{name}: tasks/result");
                assert!(!array(&got["content"]).is_empty(), "{name}: {got}");
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn every_resource_and_prompt_matches_a_direct_connection() {
    let (_peer, url) = support::spawn_server_everything();
    let (mut via, _) = Via::start(&url, None, full_caps()).await;
    let (mut direct, _) = Direct::connect(&url, full_caps()).await;

    let (listed, _) = same(&mut via, &mut direct, "resources/list", json!({})).await;
    let resources = array(&listed.result()["resources"]);
    let mut uris: Vec<Value> = resources.iter().map(|r| r["uri"].clone()).collect();
    assert!(!uris.is_empty());
    let (listed, _) = same(&mut via, &mut direct, "resources/templates/list", json!({})).await;
    let templates = array(&listed.result()["resourceTemplates"]);
    assert!(!templates.is_empty());
    for template in &templates {
        // Every variable of these templates is a positive integer id.
        let parts = template["uriTemplate"].as_str().unwrap().split('{').enumerate();
        let uri = parts.map(|(i, part)| if i == 0 { part } else { part.split_once('}').unwrap().1 });
        uris.push(json!(uri.collect::<Vec<_>>().join("1")));
    }
    for uri in uris {
        let (read, _) = same(&mut via, &mut direct, "resources/read", json!({"uri": uri})).await;
        assert_eq!(read.result()["contents"][0]["uri"], uri);
    }

    let (listed, _) = same(&mut via, &mut direct, "prompts/list", json!({})).await;
    let prompts = array(&listed.result()["prompts"]);
    assert!(!prompts.is_empty());
    for prompt in &prompts {
        for resource_type in ["Text", "Blob"] {
            let declared = prompt["arguments"].as_array().into_iter().flatten();
            let arguments: serde_json::Map<String, Value> = declared
                .map(|arg| {
                    let name = arg["name"].as_str().unwrap().to_string();
                    let value = if name == "resourceType" { resource_type } else { "1" };
                    (name, json!(value))
                })
                .collect();
            let params = json!({"name": prompt["name"], "arguments": arguments});
            let (got, _) = same(&mut via, &mut direct, "prompts/get", params).await;
            assert!(!array(&got.result()["messages"]).is_empty());
        }
    }
}

#[tokio::test]
async fn client_capabilities_reach_the_remote_unchanged() {
    let (_peer, url) = support::spawn_server_everything();
    let most = json!({"sampling": {}, "elicitation": {"form": {}, "url": {}}, "roots": {"listChanged": true},
        "tasks": {"requests": {"sampling": {"createMessage": {}}, "elicitation": {"create": {}}}}});
    let mut counts = Vec::new();
    for caps in [json!({}), full_caps(), most] {
        let (mut via, via_init) = Via::start(&url, None, caps.clone()).await;
        let (mut direct, direct_init) = Direct::connect(&url, caps.clone()).await;
        assert_eq!(via_init, direct_init, "initialize result with {caps}");
        let (listed, _) = same(&mut via, &mut direct, "tools/list", json!({})).await;
        counts.push(array(&listed.result()["tools"]).len());
    }
    assert_eq!(counts[1], 16, "tool counts for none/some/most capabilities: {counts:?}");
    assert!(counts[0] < counts[1] && counts[1] < counts[2], "{counts:?}");
}

/// Starts server-everything's `mode` (`sse` or `streamableHttp`) on loopback
/// `port` (0: any) like `support::spawn_server_everything`; returns its port.
fn spawn_everything(mode: &str, port: u16) -> (PeerProcess, u16) {
    const MARKER: &str = "MCP_TEST_PEER_LISTENING 127.0.0.1 ";
    let entry = support::node_package_dir("@modelcontextprotocol/server-everything").join("dist/index.js");
    let preload = support::peers_dir().join("loopback-listen.cjs");
    let mut cmd = Command::new(support::node_exe());
    cmd.arg("--require").arg(preload).arg(entry).arg(mode);
    cmd.env("PORT", port.to_string()).current_dir(std::env::temp_dir());
    let mut peer = PeerProcess::spawn(&format!("server-everything {mode}"), cmd);
    let line = peer.wait_for_line(Stream::Stderr, support::STARTUP_TIMEOUT, |l| l.starts_with(MARKER));
    let port: u16 = line[MARKER.len()..].trim().parse().expect("port in listen marker");
    support::wait_for_port(([127, 0, 0, 1], port).into(), support::STARTUP_TIMEOUT);
    (peer, port)
}

fn echo(text: &str) -> Value {
    json!({"name": "echo", "arguments": {"message": text}})
}

#[tokio::test]
async fn legacy_sse_server_works_with_auto_and_sse() {
    let (_sse_peer, sse_port) = spawn_everything("sse", 0);
    let (_http_peer, http_url) = support::spawn_server_everything();
    // The reference: the same server code over Streamable HTTP.
    let (mut direct, direct_init) = Direct::connect(&http_url, full_caps()).await;
    let sampling = json!({"name": "trigger-sampling-request", "arguments": {"prompt": "over legacy SSE"}});
    let calls = [
        ("tools/list", json!({})),
        ("tools/call", echo("over legacy SSE")),
        ("tools/call", sampling),
    ];
    let mut expected = Vec::new();
    for (method, params) in &calls {
        expected.push(direct.call(method, params.clone()).await.result().clone());
    }

    for transport in ["auto", "sse"] {
        let url = format!("http://127.0.0.1:{sse_port}/sse");
        let (mut via, init) = Via::start(&url, Some(transport), full_caps()).await;
        assert_eq!(init["serverInfo"], direct_init["serverInfo"], "{transport}");
        assert_eq!(init["capabilities"], direct_init["capabilities"], "{transport}");
        for ((method, params), want) in calls.iter().zip(&expected) {
            let got = via.call(method, params.clone()).await;
            assert_eq!(got.result(), want, "{transport}: {method} {params} over legacy SSE");
        }
        assert!(
            via.answered.iter().any(|m| m == "sampling/createMessage"),
            "{transport}"
        );
    }
}

#[tokio::test]
async fn a_restarted_remote_is_reinitialised_transparently() {
    let (mut peer, port) = spawn_everything("streamableHttp", 0);
    let url = format!("http://127.0.0.1:{port}/mcp");
    let (mut via, _) = Via::start(&url, None, full_caps()).await;
    let before = via.call("tools/call", echo("before the restart")).await;
    assert!(before.result()["content"].is_array(), "{}", before.response);

    // The new process knows nothing of the bridge's session: it answers the
    // old Mcp-Session-Id with 400 "No valid session ID".
    peer.kill().expect("kill server-everything");
    peer.wait().expect("reap server-everything");
    drop(peer);
    let (_peer, same_port) = spawn_everything("streamableHttp", port);
    assert_eq!(same_port, port);

    let (mut direct, _) = Direct::connect(&url, full_caps()).await;
    let after = via.call("tools/call", echo("after the restart")).await;
    let reference = direct.call("tools/call", echo("after the restart")).await;
    assert_eq!(after.response.get("error"), None, "{}", after.response);
    assert_eq!(after.result(), reference.result());
    // The replayed initialize carried the client's capabilities.
    let tools = via.call("tools/list", json!({})).await;
    assert_eq!(tools.result(), direct.call("tools/list", json!({})).await.result());
    let errors: Vec<&Value> = (after.notifications.iter().chain(&tools.notifications))
        .chain(via.bridge.unread())
        .filter(|m| m.get("error").is_some() || m["params"]["level"] == "error")
        .collect();
    assert!(errors.is_empty(), "errors reached the client: {errors:#?}");
    // Server→client requests of the new session reach the client too.
    let roots = json!({"name": "get-roots-list", "arguments": {}});
    same(&mut via, &mut direct, "tools/call", roots).await;
}
