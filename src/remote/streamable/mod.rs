//! The Streamable HTTP transport (MCP 2025-03-26 … 2025-11-25, and the
//! sessionless 2026-07-28 revision).
//!
//! It owns the remote session: the `Mcp-Session-Id` and negotiated protocol
//! version sent on every request, transparent re-initialisation when the
//! remote forgets the session (404, or a 400 saying the ID is not valid),
//! resumption of a cut response stream with `Last-Event-ID`, the GET stream
//! for server-initiated messages, and DELETE at the end.

use super::body::{self, StreamEnd};
use super::exchange::{ACCEPT_BOTH, Exchange, MCP_METHOD, MCP_NAME, PROTOCOL_VERSION};
use super::inbound::Route;
use super::outgoing::Outgoing;
use crate::credential::Auth;
use crate::message::Message;
use crate::remote::error::RemoteError;
use http::{HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

mod listener;

const SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

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
    ex: Arc<Exchange>,
    state: Mutex<SessionState>,
    reinit: tokio::sync::Mutex<()>,
    listener: Mutex<Option<JoinHandle<()>>>,
    /// The GET streams being opened (see `listener`).
    openings: listener::Openings,
}

impl Streamable {
    pub(crate) fn new(ex: Arc<Exchange>) -> Arc<Self> {
        Arc::new(Self {
            ex,
            state: Mutex::new(SessionState::default()),
            reinit: tokio::sync::Mutex::new(()),
            listener: Mutex::new(None),
            openings: listener::Openings::default(),
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

    /// A request to the endpoint with `auth`, marked as part of session `s`.
    fn session_request(&self, method: Method, s: &SessionState, auth: &Auth) -> Outgoing<'_> {
        let mut req = self.ex.http.build(method, &self.ex.endpoint.url, auth);
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
        let ex = &self.ex;
        let body = msg.text();
        let method = msg.method();
        let resp = ex
            .http
            .send_authorized(|auth| {
                let mut req = self
                    .session_request(Method::POST, s, auth)
                    .header(http::header::ACCEPT, HeaderValue::from_static(ACCEPT_BOTH))
                    .header(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"))
                    .body(body.clone());
                if let Some(m) = method {
                    req = req.header(MCP_METHOD, m);
                    if let Some(name) = msg.name().or(msg.uri())
                        && name.is_ascii()
                    {
                        req = req.header(MCP_NAME, name);
                    }
                }
                req
            })
            .await?;
        let status = resp.status();
        if s.id.is_some() && status == StatusCode::NOT_FOUND {
            return Ok(Posted::SessionGone);
        }
        if !status.is_success() {
            let body = Box::pin(ex.bodies.excerpt(resp)).await;
            if s.id.is_some() && status == StatusCode::BAD_REQUEST && says_invalid_session(&body) {
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
        match &*body::content_type(&resp) {
            "text/event-stream" => {
                let inbound = &ex.inbound;
                let end = ex
                    .bodies
                    .read_sse(resp, |_| {}, || awaited.is_some_and(|id| !inbound.is_pending(id)))
                    .await;
                Ok(Posted::Body(end))
            }
            "application/json" => {
                ex.bodies.read_json(resp).await?;
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
        self.openings.before(msg.method()).await;
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
                    if !self.ex.inbound.is_pending(id) {
                        return Ok(());
                    }
                    if let Some(too_large) = end.too_large {
                        return Err(RemoteError::Protocol(too_large));
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
        let ex = &self.ex;
        for _ in 0..MAX_RESUMES {
            let Some(last) = end.last_event_id.clone() else {
                return Err(RemoteError::Protocol(
                    "the response stream ended without an answer and cannot be resumed (no event id)".into(),
                ));
            };
            tokio::time::sleep(end.retry.unwrap_or(DEFAULT_RETRY)).await;
            let s = self.snapshot();
            let resp = ex
                .http
                .send_authorized(|auth| {
                    self.session_request(Method::GET, &s, auth)
                        .header(http::header::ACCEPT, "text/event-stream")
                        .header(LAST_EVENT_ID, &last)
                })
                .await?;
            if !resp.status().is_success() {
                let status = resp.status().as_u16();
                let body = ex.bodies.excerpt(resp).await;
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
            end = ex.bodies.read_sse(resp, |_| {}, || !ex.inbound.is_pending(id)).await;
            if !ex.inbound.is_pending(id) {
                return Ok(());
            }
            if let Some(too_large) = end.too_large.take() {
                return Err(RemoteError::Protocol(too_large));
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
        tracing::info!(server = %self.ex.endpoint.server, "remote session expired; re-initialising");
        let init = self.ex.init_request();
        {
            let mut st = self.state();
            st.id = None;
        }
        if let Some(mut init) = init {
            let id = crate::ids::next_id("reinit");
            init["id"] = id.clone();
            let init = Message::from_value(init);
            let answer = self.ex.inbound.expect(&id, "initialize", Route::Bridge);
            let s = self.snapshot();
            let posted = tokio::time::timeout(self.ex.endpoint.timeout, self.post(&init, &s, Some(&id))).await;
            let result = match posted {
                Ok(Ok(_)) => tokio::time::timeout(Duration::from_secs(30), answer)
                    .await
                    .ok()
                    .and_then(Result::ok),
                Ok(Err(e)) => {
                    self.ex.inbound.forget(&id);
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
            self.ex.inbound.forget(&id);
            let Some(result) = result else {
                return Err(RemoteError::SessionLost("the server did not answer initialize".into()));
            };
            if let Some(err) = result.get("error") {
                return Err(RemoteError::SessionLost(format!(
                    "the server refused initialize: {err}"
                )));
            }
            self.on_initialized_result(&result);
            if self.ex.client_initialized() {
                let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
                let s = self.snapshot();
                self.post(&note.into(), &s, None).await?;
            }
        }
        self.state().generation += 1;
        if self.ex.client_initialized() {
            self.listen().await;
        }
        Ok(())
    }

    /// Send the client's `notifications/initialized` (`msg`) out of line:
    /// the request behind it (the first `tools/list`) goes out beside it
    /// instead of a round trip later. Servers take requests once
    /// `initialize` is answered (the MCP SDKs do). It goes once `ready`
    /// resolves, holding `in_order` (later notifications wait for it); the
    /// GET stream opens once the remote has it.
    pub fn initialized_beside(
        self: &Arc<Self>,
        msg: Message,
        in_order: tokio::sync::OwnedMutexGuard<()>,
        ready: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let me = self.clone();
        let opening = self.openings.start();
        tokio::spawn(async move {
            let _in_order = in_order;
            ready.await;
            if let Err(e) = me.send(&msg).await {
                let server = &me.ex.endpoint.server;
                let text = format!("server `{server}`: could not deliver notifications/initialized: {e}");
                tracing::warn!("{}", me.ex.redact(&text));
            }
            me.ex.set_client_initialized();
            drop(me.listen_after(opening));
        });
    }

    /// Open (or re-open) the GET stream for server-initiated messages, and
    /// return once the server has answered it (see `listener`), so nothing
    /// the server sends there in answer to the next request is lost.
    pub fn listen(self: &Arc<Self>) -> impl Future<Output = ()> + Send + 'static {
        self.listen_after(self.openings.start())
    }

    /// `listen`, for an opening already counted.
    fn listen_after(self: &Arc<Self>, opening: listener::Opening) -> impl Future<Output = ()> + Send + 'static {
        let task = tokio::spawn(listener::run(self.clone(), opening));
        if let Some(old) = self.listener.lock().unwrap_or_else(|e| e.into_inner()).replace(task) {
            old.abort();
        }
        self.openings.opened()
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
        let ex = &self.ex;
        let del = ex
            .http
            .send_authorized(|auth| self.session_request(Method::DELETE, &s, auth));
        match tokio::time::timeout(Duration::from_secs(3), del).await {
            Ok(Ok(r)) => tracing::debug!(status = r.status().as_u16(), "session closed"),
            Ok(Err(e)) => tracing::debug!("DELETE failed: {e}"),
            Err(_) => tracing::debug!("DELETE timed out"),
        }
    }
}

/// Whether a 400 body says the session ID is unknown (Integration.app and
/// server-everything answer a stale session this way instead of 404).
fn says_invalid_session(body: &str) -> bool {
    let b = body.to_ascii_lowercase();
    b.contains("session")
        && (b.contains("no valid")
            || b.contains("invalid")
            || b.contains("not found")
            || b.contains("unknown")
            || b.contains("expired"))
}
