//! The Streamable HTTP transport of the 2026-07-28 revision.
//!
//! No session: every POST stands alone and says what it is in its headers
//! (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`, and `Mcp-Param-*` for
//! tool arguments marked `x-mcp-header`, from the declarations of the last
//! `tools/list` seen). No GET stream, no DELETE, no resumption: a response
//! stream that ends before its answer loses the request. The client's
//! notifications are not posted (the revision defines none over HTTP; a
//! cancellation is the closing of the request's stream, which the request
//! path does by dropping it).
//!
//! The probe (`discover`) and the bridge's own listen stream for a legacy
//! client (`listen`) live here too.

use super::body;
use super::era_shared::EraShared;
use super::error::RemoteError;
use super::exchange::{ACCEPT_BOTH, Exchange, MCP_METHOD, MCP_NAME, PROTOCOL_VERSION};
use super::reply::Reply;
use crate::client::Outbox;
use crate::era::headers::{self as std_headers};
use crate::era::meta::ClientIdentity;
use crate::era::{self, listen, probe};
use crate::hooks::{Asked, Transform};
use crate::message::Message;
use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// JSON-RPC's "method not found": a server without `subscriptions/listen`.
const METHOD_NOT_FOUND: i64 = -32601;

/// The most of an error body (or a probe's answer) the bridge reads.
const SMALL_BODY: usize = 1 << 20;

pub struct Modern {
    ex: Arc<Exchange>,
    shared: Arc<EraShared>,
}

/// What one POST carries besides its body.
pub struct Heads<'m> {
    pub version: &'m str,
    pub method: &'m str,
    /// `params.name` or `params.uri`, for the methods that name a target.
    pub name: Option<&'m str>,
    /// The call's arguments, when the tool declared headers for some.
    pub arguments: Option<&'m Value>,
}

impl Modern {
    pub(crate) fn new(ex: Arc<Exchange>, shared: Arc<EraShared>) -> Arc<Self> {
        Arc::new(Modern { ex, shared })
    }

    /// The POST of `body`, with the standard headers of `heads`.
    async fn post(&self, body: &Bytes, heads: &Heads<'_>) -> Result<Reply, RemoteError> {
        let ex = &self.ex;
        let params = match (heads.method, heads.name) {
            ("tools/call", Some(tool)) if heads.arguments.is_some() => self
                .shared
                .declared
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(tool)
                .map(|d| d.for_arguments(heads.arguments))
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        ex.http
            .send_authorized(|auth| {
                let mut req = ex
                    .http
                    .build(Method::POST, &ex.endpoint.url, auth)
                    .header(http::header::ACCEPT, HeaderValue::from_static(ACCEPT_BOTH))
                    .header(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"))
                    .header(PROTOCOL_VERSION, heads.version)
                    .header(MCP_METHOD, heads.method)
                    .body(body.clone());
                if let Some(name) = heads.name {
                    req = req.header(MCP_NAME, std_headers::encode(name).as_ref());
                }
                for (header, value) in &params {
                    if let Ok(header) = HeaderName::from_bytes(header.as_bytes()) {
                        req = req.header(header, value.as_str());
                    }
                }
                req
            })
            .await
    }

    /// Deliver a client request (`msg`, whose id is `id`); its answer is
    /// dispatched to `Inbound`, or an error is returned.
    pub async fn request(&self, msg: &Message, heads: &Heads<'_>, id: &Value) -> Result<(), RemoteError> {
        let ex = &self.ex;
        let resp = self.post(msg.text(), heads).await?;
        let status = resp.status();
        if !status.is_success() {
            return self.refused(resp, id).await;
        }
        match &*body::content_type(&resp) {
            "text/event-stream" => {
                let inbound = &ex.inbound;
                let end = ex.bodies.read_sse(resp, |_| {}, || !inbound.is_pending(id)).await;
                if let Some(too_large) = end.too_large.filter(|_| inbound.is_pending(id)) {
                    return Err(RemoteError::Protocol(too_large));
                }
            }
            "application/json" => ex.bodies.read_json(resp).await?,
            "" if status == StatusCode::ACCEPTED => {}
            "" => {}
            other => {
                return Err(RemoteError::Protocol(format!(
                    "unexpected content type `{other}` (expected JSON or an event stream)"
                )));
            }
        }
        if ex.inbound.is_pending(id) {
            return Err(RemoteError::Protocol(
                "the response stream ended before the answer (under 2026-07-28 a stream cannot be resumed)".into(),
            ));
        }
        Ok(())
    }

    /// A request the remote refused with an HTTP error: a JSON-RPC error in
    /// the body is the answer (a modern one explained); anything else is
    /// the bridge's error.
    async fn refused(&self, resp: Reply, id: &Value) -> Result<(), RemoteError> {
        let status = resp.status().as_u16();
        let (body, text) = read_small(resp).await;
        if let Some(mut answer) = body.filter(|b| b.get("error").is_some_and(Value::is_object)) {
            if answer.get("id").is_none_or(Value::is_null) {
                answer["id"] = id.clone();
            }
            if answer.get("id") == Some(id) {
                explain_in_place(&mut answer, self.server());
                self.ex.inbound.dispatch(answer);
                return Ok(());
            }
        }
        Err(RemoteError::Status {
            status,
            body: body::excerpt(&self.ex.endpoint.redactor, &text),
        })
    }

    fn server(&self) -> &str {
        &self.ex.endpoint.server
    }

    /// Ask the remote what it is: `server/discover` at `version`, judged.
    pub async fn discover(&self, who: &ClientIdentity, version: &str) -> Result<probe::Verdict, RemoteError> {
        let id = crate::ids::next_id("discover");
        let mut msg = json!({"jsonrpc": "2.0", "id": id, "method": "server/discover"});
        who.stamp(&mut msg, version);
        let body = Bytes::from(crate::jsonrpc::to_line(&msg));
        let heads = Heads {
            version,
            method: "server/discover",
            name: None,
            arguments: None,
        };
        let (status, answer) = self.exchange(&body, &heads, &id).await?;
        Ok(probe::judge(status, answer.as_ref(), version))
    }

    /// POST `body` (a request with id `id`) and read its answer here, not
    /// through `Inbound`: the HTTP status, and the JSON-RPC answer when
    /// the body held one.
    pub async fn exchange(
        &self,
        body: &Bytes,
        heads: &Heads<'_>,
        id: &Value,
    ) -> Result<(u16, Option<Value>), RemoteError> {
        let resp = self.post(body, heads).await?;
        let status = resp.status().as_u16();
        let answer = if body::content_type(&resp) == "text/event-stream" {
            first_answer(resp, id, self.ex.endpoint.max_message_size).await
        } else {
            read_small(resp).await.0
        };
        Ok((status, answer))
    }

    /// Keep a `subscriptions/listen` stream open for a legacy client,
    /// asking for `filter`, and pass on what comes as legacy notifications
    /// (via `deliver`). Reopened when it ends, after a pause that grows
    /// with each failure; ends when the task is aborted, or when the server
    /// says it has no such method.
    pub async fn listen(
        self: Arc<Self>,
        filter: Value,
        who: ClientIdentity,
        version: String,
        deliver: impl Fn(Value) + Send,
    ) {
        let mut pause = Duration::from_millis(500);
        loop {
            let id = crate::ids::next_id("listen");
            let mut msg = json!({"jsonrpc": "2.0", "id": id, "method": "subscriptions/listen",
                "params": {"notifications": filter}});
            who.stamp(&mut msg, &version);
            let body = Bytes::from(crate::jsonrpc::to_line(&msg));
            let heads = Heads {
                version: &version,
                method: "subscriptions/listen",
                name: None,
                arguments: None,
            };
            let opened = match self.post(&body, &heads).await {
                Ok(resp) if resp.status().is_success() && body::content_type(&resp) == "text/event-stream" => {
                    let limit = self.ex.endpoint.max_message_size;
                    let mut events = crate::sse::Reader::with_limit(resp.bytes_stream(), limit);
                    let mut any = false;
                    while let Some(Ok(event)) = events.next().await {
                        let Ok(message) = serde_json::from_slice::<Value>(&event.data) else {
                            continue;
                        };
                        if message.get("id") == Some(&id) {
                            break; // the server ended the subscription
                        }
                        any = true;
                        if let Some(note) = listen::for_legacy_client(message) {
                            deliver(note);
                        }
                    }
                    any
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let (answer, text) = read_small(resp).await;
                    let code = answer.as_ref().and_then(|a| a.pointer("/error/code"));
                    if code.and_then(Value::as_i64) == Some(METHOD_NOT_FOUND) {
                        tracing::debug!(
                            server = self.server(),
                            "the server has no subscriptions/listen: no list changes reach the client"
                        );
                        return;
                    }
                    tracing::debug!(
                        "{}",
                        self.ex.redact(&format!(
                            "server `{}` refused subscriptions/listen (HTTP {status}): {}",
                            self.server(),
                            body::excerpt(&self.ex.endpoint.redactor, &text)
                        ))
                    );
                    false
                }
                Err(e) => {
                    tracing::debug!(
                        "{}",
                        self.ex.redact(&format!("server `{}`: listen: {e}", self.server()))
                    );
                    false
                }
            };
            pause = if opened {
                Duration::from_millis(500)
            } else {
                (pause * 2).min(Duration::from_secs(60))
            };
            tokio::time::sleep(pause).await;
        }
    }
}

/// Add what a modern error means to its message, naming the server.
pub fn explain_in_place(answer: &mut Value, server: &str) {
    let Some(error) = answer.get_mut("error").and_then(Value::as_object_mut) else {
        return;
    };
    let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
    let message = error.get("message").and_then(Value::as_str).unwrap_or("").to_string();
    if let Some(text) = era::explain(code, &message, error.get("data")) {
        error.insert("message".into(), json!(format!("server `{server}`: {text}")));
    }
}

/// Up to `SMALL_BODY` of a body, as JSON when it is, and as text.
async fn read_small(resp: Reply) -> (Option<Value>, String) {
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    let read = async {
        while let Some(Ok(chunk)) = stream.next().await {
            body.extend_from_slice(&chunk);
            if body.len() > SMALL_BODY {
                body.truncate(SMALL_BODY);
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), read).await;
    let json = serde_json::from_slice(&body).ok();
    (json, String::from_utf8_lossy(&body).into_owned())
}

/// The message answering `id` on an SSE response, if it comes; the
/// stream ends at an event over `limit` (the server's `max_message_size`).
/// The rest of the stream is read briefly after it, so the connection
/// goes back to the pool instead of being closed.
async fn first_answer(resp: Reply, id: &Value, limit: usize) -> Option<Value> {
    let mut events = crate::sse::Reader::with_limit(resp.bytes_stream(), limit);
    let wait = async {
        while let Some(Ok(event)) = events.next().await {
            if let Ok(message) = serde_json::from_slice::<Value>(&event.data)
                && message.get("id") == Some(id)
            {
                return Some(message);
            }
        }
        None
    };
    let answer = tokio::time::timeout(Duration::from_secs(30), wait).await.ok().flatten();
    let rest = async { while let Some(Ok(_)) = events.next().await {} };
    let _ = tokio::time::timeout(Duration::from_millis(250), rest).await;
    answer
}

/// Screens a modern remote's `tools/list` answers: a tool whose
/// `x-mcp-header` declarations break the rules is left out (with a warn
/// line naming it and why), and the declarations of the rest are kept for
/// the headers of their calls.
pub struct ToolHeaders(pub Arc<EraShared>);

impl Transform for ToolHeaders {
    fn wants(&self, method: &str, _text: &[u8]) -> bool {
        method == "tools/list" && self.0.modern()
    }

    fn response(&self, asked: &Asked<'_>, response: &mut Value, _out: &Outbox) {
        if !self.wants(asked.method, b"") {
            return;
        }
        let Some(result) = response.get_mut("result") else {
            return;
        };
        let (kept, dropped) = std_headers::screen_tools(result);
        for (tool, why) in dropped {
            tracing::warn!(
                "server `{}`: tool `{}` is left out of tools/list: {}",
                self.0.server,
                tool.escape_debug(),
                why
            );
        }
        self.0.declared.lock().unwrap_or_else(|e| e.into_inner()).extend(kept);
    }
}

#[cfg(test)]
mod tests;
