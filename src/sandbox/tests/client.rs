//! A deliberately raw MCP-over-HTTP test client: hand-written JSON-RPC
//! bodies, explicit headers and a minimal SSE parser, so the tests see the
//! sandbox's wire behaviour rather than a client library's view of it.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde_json::{Value, json};

pub const PROTOCOL: &str = "2025-06-18";
pub const ACCEPT: &str = "application/json, text/event-stream";

/// One server-sent event.
#[derive(Debug, Clone, Default)]
pub struct SseEvent {
    pub id: Option<String>,
    pub retry: Option<u64>,
    pub data: String,
}

impl SseEvent {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.data).ok()
    }
}

/// Parses one SSE event block (the text between blank lines).
fn parse_event(block: &str) -> Option<SseEvent> {
    let mut event = SseEvent::default();
    let mut seen = false;
    for line in block.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => event.id = Some(value.to_owned()),
            "retry" => event.retry = value.parse().ok(),
            "data" if event.data.is_empty() => event.data = value.to_owned(),
            "data" => event.data = format!("{}\n{value}", event.data),
            _ => continue, // comments (keep-alives) and unknown fields
        }
        seen = true;
    }
    seen.then_some(event)
}

/// Parses a complete SSE body.
pub fn parse_sse(body: &str) -> Vec<SseEvent> {
    body.replace("\r\n", "\n")
        .split("\n\n")
        .filter_map(parse_event)
        .collect()
}

/// Reads events from a still-open SSE response.
pub struct SseReader {
    stream: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    buf: String,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            stream: Box::pin(response.bytes_stream()),
            buf: String::new(),
        }
    }

    pub async fn next_event(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                match parse_event(&block) {
                    Some(event) => return Some(event),
                    None => continue,
                }
            }
            let chunk = self.stream.next().await?.ok()?;
            self.buf
                .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        }
    }

    /// The next event carrying a JSON-RPC message (skips priming events).
    pub async fn next_message(&mut self) -> Option<Value> {
        loop {
            if let Some(value) = self.next_event().await?.json() {
                return Some(value);
            }
        }
    }
}

pub struct RawClient {
    pub http: reqwest::Client,
    pub url: String,
    pub token: Option<String>,
    pub session: Option<String>,
    next_id: AtomicU64,
}

impl RawClient {
    pub fn new(url: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: url.to_owned(),
            token: None,
            session: None,
            next_id: AtomicU64::new(1),
        }
    }

    pub fn with_token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// A POST of `body` with the MCP headers this client would send.
    pub fn post(&self, body: &Value) -> reqwest::RequestBuilder {
        let mut req = self.http.post(&self.url).header("accept", ACCEPT).json(body);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(session) = &self.session {
            req = req
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", PROTOCOL);
        }
        req
    }

    pub fn request_body(&self, method: &str, params: Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
    }

    /// `initialize` (declaring `capabilities`) plus `notifications/initialized`.
    /// Returns the initialize result and the raw SSE events of its response.
    pub async fn initialize(&mut self, capabilities: Value) -> (Value, Vec<SseEvent>) {
        let body = self.request_body(
            "initialize",
            json!({
                "protocolVersion": PROTOCOL,
                "capabilities": capabilities,
                "clientInfo": { "name": "sandbox-test", "version": "0" }
            }),
        );
        let resp = self.post(&body).send().await.unwrap();
        assert_eq!(resp.status(), 200, "initialize failed");
        let session = resp.headers().get("mcp-session-id").expect("session id");
        self.session = Some(session.to_str().unwrap().to_owned());
        let events = parse_sse(&resp.text().await.unwrap());
        let result = events.iter().find_map(|e| e.json()).expect("initialize response")["result"].clone();
        let note = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
        let status = self.post(&note).send().await.unwrap().status();
        assert_eq!(status, 202, "initialized notification refused");
        (result, events)
    }

    /// Sends a request and reads its whole SSE response: every JSON-RPC
    /// message, the final response last.
    pub async fn call(&self, method: &str, params: Value) -> Vec<Value> {
        let resp = self.post(&self.request_body(method, params)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{method} failed");
        parse_sse(&resp.text().await.unwrap())
            .iter()
            .filter_map(SseEvent::json)
            .collect()
    }

    /// `tools/call`, returning the `result` object.
    pub async fn call_tool(&self, name: &str, args: Value) -> Value {
        let messages = self
            .call("tools/call", json!({ "name": name, "arguments": args }))
            .await;
        messages.last().expect("a response")["result"].clone()
    }

    /// Starts a request and returns its open SSE stream.
    pub async fn open(&self, method: &str, params: Value) -> SseReader {
        let resp = self.post(&self.request_body(method, params)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{method} failed");
        SseReader::new(resp)
    }

    /// Answers a server→client request; returns the HTTP status.
    pub async fn reply(&self, id: &Value, result: Value) -> u16 {
        let body = json!({ "jsonrpc": "2.0", "id": id, "result": result });
        self.post(&body).send().await.unwrap().status().as_u16()
    }
}

pub use crate::jsonrpc::result_text;
