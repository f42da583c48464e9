//! The Streamable HTTP transport (MCP 2025-03-26 … 2025-11-25, and the
//! sessionless 2026-07-28 revision).
//!
//! It owns the remote session: the `Mcp-Session-Id` and negotiated protocol
//! version sent on every request, transparent re-initialisation when the
//! remote forgets the session (404, or a 400 saying the ID is not valid),
//! resumption of a cut response stream with `Last-Event-ID`, the GET stream
//! for server-initiated messages, and DELETE at the end.

use super::http_util::{self, ACCEPT_BOTH, LAST_EVENT_ID, PROTOCOL_VERSION, SESSION_ID, StreamEnd};
use super::inbound::Route;
use super::outgoing::Outgoing;
use super::{Ctx, RemoteError};
use crate::message::Message;
use http::HeaderValue;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

mod listener;

/// How often a cut stream is resumed before the bridge gives up on it.
const MAX_RESUMES: usize = 5;
/// The wait before resuming when the server set no `retry`.
const DEFAULT_RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Default)]
struct SessionState {
    /// Kept as header values: each POST clones them (a reference count).
    id: Option<HeaderValue>,
    protocol: Option<HeaderValue>,
    /// Bumped at each re-initialisation, so concurrent failures re-init once.
    generation: u64,
}

/// What a POST came to.
enum Posted {
    /// 202 or an empty body: any answer comes on another stream.
    Accepted,
    /// A JSON or SSE body was read.
    Body(StreamEnd),
    /// The remote no longer knows our session.
    SessionGone,
}

pub struct Streamable {
    ctx: Arc<Ctx>,
    state: Mutex<SessionState>,
    reinit: tokio::sync::Mutex<()>,
    listener: Mutex<Option<JoinHandle<()>>>,
}

impl Streamable {
    pub(crate) fn new(ctx: Arc<Ctx>) -> Arc<Self> {
        Arc::new(Self {
            ctx,
            state: Mutex::new(SessionState::default()),
            reinit: tokio::sync::Mutex::new(()),
            listener: Mutex::new(None),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SessionState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn snapshot(&self) -> SessionState {
        self.state().clone()
    }

    /// The session state once no re-initialisation is under way, so no
    /// message goes out in the moment between two sessions.
    async fn settled_snapshot(&self) -> SessionState {
        drop(self.reinit.lock().await);
        self.snapshot()
    }

    /// Remember the protocol version the remote chose in its initialize result.
    pub fn on_initialized_result(&self, resp: &Value) {
        if let Some(v) = resp.pointer("/result/protocolVersion").and_then(Value::as_str) {
            self.state().protocol = HeaderValue::from_str(v).ok();
        }
    }

    /// Headers that mark a request as part of the session.
    fn session_headers<'u>(&self, req: Outgoing<'u>, s: &SessionState) -> Outgoing<'u> {
        let mut req = req;
        if let Some(id) = &s.id {
            req = req.header(SESSION_ID, id.clone());
        }
        if let Some(p) = &s.protocol {
            req = req.header(PROTOCOL_VERSION, p.clone());
        }
        req
    }

    /// POST one message and read whatever body comes back.
    async fn post(&self, msg: &Message, s: &SessionState, awaited: Option<&Value>) -> Result<Posted, RemoteError> {
        let ctx = &self.ctx;
        let body = msg.text();
        let method = msg.method();
        let resp = ctx
            .send_authorized(|auth| {
                let mut req = ctx
                    .build(Method::POST, &ctx.endpoint.url, auth)
                    .header(http::header::ACCEPT, HeaderValue::from_static(ACCEPT_BOTH))
                    .header(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"))
                    .body(body.clone());
                if let Some(m) = method {
                    req = req.header(http_util::MCP_METHOD, m);
                    if let Some(name) = msg.name().or(msg.uri())
                        && name.is_ascii()
                    {
                        req = req.header(http_util::MCP_NAME, name);
                    }
                }
                self.session_headers(req, s)
            })
            .await?;
        let status = resp.status();
        if s.id.is_some() && status == StatusCode::NOT_FOUND {
            return Ok(Posted::SessionGone);
        }
        if !status.is_success() {
            let body = Box::pin(ctx.body_excerpt(resp)).await;
            if s.id.is_some() && status == StatusCode::BAD_REQUEST && http_util::says_invalid_session(&body) {
                return Ok(Posted::SessionGone);
            }
            return Err(RemoteError::Status {
                status: status.as_u16(),
                body,
            });
        }
        if method == Some("initialize")
            && let Some(id) = resp.headers().get(SESSION_ID).filter(|v| v.to_str().is_ok())
        {
            self.state().id = Some(id.clone());
        }
        if status == StatusCode::ACCEPTED {
            return Ok(Posted::Accepted);
        }
        match &*http_util::content_type(&resp) {
            "text/event-stream" => {
                let inbound = &ctx.inbound;
                let end = ctx
                    .read_sse(resp, |_| {}, || awaited.is_some_and(|id| !inbound.is_pending(id)))
                    .await;
                Ok(Posted::Body(end))
            }
            "application/json" => {
                ctx.read_json(resp).await?;
                Ok(Posted::Body(StreamEnd::default()))
            }
            "" => Ok(Posted::Accepted),
            other => Err(RemoteError::Protocol(format!(
                "unexpected content type `{other}` (expected JSON or an event stream)"
            ))),
        }
    }

    /// Deliver a client request; its response is dispatched to `Inbound`.
    pub async fn request(self: &Arc<Self>, msg: &Message, id: &Value) -> Result<(), RemoteError> {
        let mut reinitialised = false;
        loop {
            let s = self.settled_snapshot().await;
            match self.post(msg, &s, Some(id)).await? {
                Posted::SessionGone if !reinitialised => {
                    Box::pin(self.reinitialise(s.generation)).await?;
                    reinitialised = true;
                }
                Posted::SessionGone => {
                    return Err(RemoteError::SessionLost(
                        "the server dropped the new session at once".into(),
                    ));
                }
                Posted::Accepted => return Ok(()),
                Posted::Body(end) => {
                    if !self.ctx.inbound.is_pending(id) {
                        return Ok(());
                    }
                    return Box::pin(self.resume(id, end)).await;
                }
            }
        }
    }

    /// Deliver a client notification or response.
    pub async fn send(self: &Arc<Self>, msg: &Message) -> Result<(), RemoteError> {
        let s = self.settled_snapshot().await;
        match self.post(msg, &s, None).await? {
            Posted::SessionGone if msg.method() != Some("notifications/initialized") => {
                Box::pin(self.reinitialise(s.generation)).await?;
                let s = self.snapshot();
                Box::pin(self.post(msg, &s, None)).await.map(|_| ())
            }
            _ => Ok(()),
        }
    }

    /// The response stream for `id` ended before its answer: resume it with
    /// GET and `Last-Event-ID`, after the server's `retry` delay.
    async fn resume(&self, id: &Value, mut end: StreamEnd) -> Result<(), RemoteError> {
        let ctx = &self.ctx;
        for _ in 0..MAX_RESUMES {
            let Some(last) = end.last_event_id.clone() else {
                return Err(RemoteError::Protocol(
                    "the response stream ended without an answer and cannot be resumed (no event id)".into(),
                ));
            };
            tokio::time::sleep(end.retry.unwrap_or(DEFAULT_RETRY)).await;
            let s = self.snapshot();
            let resp = ctx
                .send_authorized(|auth| {
                    let req = ctx
                        .build(Method::GET, &ctx.endpoint.url, auth)
                        .header(http::header::ACCEPT, "text/event-stream")
                        .header(LAST_EVENT_ID, &last);
                    self.session_headers(req, &s)
                })
                .await?;
            if !resp.status().is_success() {
                let status = resp.status().as_u16();
                let body = ctx.body_excerpt(resp).await;
                return Err(RemoteError::Protocol(format!(
                    "the response stream was cut and resuming it failed (HTTP {status}{})",
                    if body.is_empty() {
                        String::new()
                    } else {
                        format!(": {body}")
                    }
                )));
            }
            let retry = end.retry;
            end = ctx.read_sse(resp, |_| {}, || !ctx.inbound.is_pending(id)).await;
            if !ctx.inbound.is_pending(id) {
                return Ok(());
            }
            end.retry = end.retry.or(retry);
            end.last_event_id = end.last_event_id.or(Some(last));
        }
        Err(RemoteError::Protocol(
            "the response stream kept breaking before the answer came".into(),
        ))
    }

    /// Re-create the session by replaying the client's own `initialize` and
    /// `notifications/initialized`. Runs once for all requests that saw the
    /// session of `failed` generation die.
    async fn reinitialise(self: &Arc<Self>, failed: u64) -> Result<(), RemoteError> {
        let _one_at_a_time = self.reinit.lock().await;
        if self.snapshot().generation != failed {
            return Ok(());
        }
        tracing::info!(server = %self.ctx.endpoint.server, "remote session expired; re-initialising");
        let init = self.ctx.init_request();
        {
            let mut st = self.state();
            st.id = None;
        }
        if let Some(mut init) = init {
            let id = crate::ids::next_id("reinit");
            init["id"] = id.clone();
            let init = Message::from_value(init);
            let answer = self.ctx.inbound.expect(&id, "initialize", Route::Bridge);
            let s = self.snapshot();
            let posted = tokio::time::timeout(self.ctx.endpoint.timeout, self.post(&init, &s, Some(&id))).await;
            let result = match posted {
                Ok(Ok(_)) => tokio::time::timeout(Duration::from_secs(30), answer)
                    .await
                    .ok()
                    .and_then(Result::ok),
                Ok(Err(e)) => {
                    self.ctx.inbound.forget(&id);
                    // The server's own refusal of initialize (e.g. Zapier's
                    // 404 for an expired token) is reported as it is, so
                    // its status can name the fix.
                    return Err(match e {
                        RemoteError::Status { .. } => e,
                        other => RemoteError::SessionLost(other.to_string()),
                    });
                }
                Err(_) => None,
            };
            self.ctx.inbound.forget(&id);
            let Some(result) = result else {
                return Err(RemoteError::SessionLost("the server did not answer initialize".into()));
            };
            if let Some(err) = result.get("error") {
                return Err(RemoteError::SessionLost(format!(
                    "the server refused initialize: {err}"
                )));
            }
            self.on_initialized_result(&result);
            if self.ctx.client_initialized() {
                let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
                let s = self.snapshot();
                self.post(&note.into(), &s, None).await?;
            }
        }
        self.state().generation += 1;
        if self.ctx.client_initialized() {
            self.listen();
        }
        Ok(())
    }

    /// Stop the GET stream and end the session with DELETE.
    pub async fn close(&self) {
        if let Some(task) = self.listener.lock().unwrap_or_else(|e| e.into_inner()).take() {
            task.abort();
        }
        let s = self.snapshot();
        if s.id.is_none() {
            return;
        }
        let ctx = &self.ctx;
        let del =
            ctx.send_authorized(|auth| self.session_headers(ctx.build(Method::DELETE, &ctx.endpoint.url, auth), &s));
        match tokio::time::timeout(Duration::from_secs(3), del).await {
            Ok(Ok(r)) => tracing::debug!(status = r.status().as_u16(), "session closed"),
            Ok(Err(e)) => tracing::debug!("DELETE failed: {e}"),
            Err(_) => tracing::debug!("DELETE timed out"),
        }
    }
}
