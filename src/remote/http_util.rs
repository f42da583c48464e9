//! HTTP plumbing shared by both transports: building an authorised request,
//! replaying it once after a 401 the credential can fix, and reading JSON or
//! SSE bodies into `Inbound`.

use super::outgoing::Outgoing;
use super::reply::{BodyError, Reply as Response};
use super::{Ctx, RemoteError, Way};
use crate::credential::{Auth, Retry};
use http::HeaderName;
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

pub const ACCEPT_BOTH: &str = "application/json, text/event-stream";
pub const SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
pub const PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
/// The request's method and tool (or resource) name, the standard headers
/// of the 2026-07-28 revision; set on every POST.
pub const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
pub const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");
pub const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// The longest body excerpt put in an error message.
const BODY_EXCERPT: usize = 300;

impl Ctx {
    /// A request to `url` with the configured headers and `auth` applied.
    pub fn build<'u>(&self, method: reqwest::Method, url: &'u Url, auth: &Auth) -> Outgoing<'u> {
        let url = if auth.query.is_empty() {
            Cow::Borrowed(url)
        } else {
            let mut url = url.clone();
            let mut q = url.query_pairs_mut();
            for (k, v) in &auth.query {
                q.append_pair(k, v);
            }
            drop(q);
            Cow::Owned(url)
        };
        let mut req = Outgoing::new(method, url, &self.endpoint.headers);
        for (k, v) in &auth.headers {
            req = req.header(k.clone(), v.clone());
        }
        req
    }

    /// Send the request `make` builds, with fresh auth; after a 401, let the
    /// credential refresh and replay once.
    pub async fn send_authorized<'u>(&self, make: impl Fn(&Auth) -> Outgoing<'u>) -> Result<Response, RemoteError> {
        let cred = &self.endpoint.credential;
        let mut replayed = false;
        loop {
            let auth = cred.auth().await.map_err(|e| RemoteError::Credential(e.0))?;
            let resp = self.send(|| make(&auth)).await?;
            let status = resp.status();
            if status != reqwest::StatusCode::UNAUTHORIZED && status != reqwest::StatusCode::FORBIDDEN {
                return Ok(resp);
            }
            let challenge = resp
                .headers()
                .get(http::header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            // A 403 goes to the credential only as a step-up (`insufficient_scope`);
            // otherwise, or if it cannot step up, the 403 is reported as it is.
            let step_up = status == reqwest::StatusCode::FORBIDDEN;
            if step_up && !challenge.as_deref().is_some_and(|c| c.contains("insufficient_scope")) {
                return Ok(resp);
            }
            if !replayed {
                let retry = cred
                    .unauthorized(&auth, challenge.as_deref())
                    .await
                    .map_err(|e| RemoteError::Credential(e.0))?;
                if retry == Retry::Replay {
                    replayed = true;
                    continue;
                }
            }
            if step_up {
                return Ok(resp);
            }
            return Err(RemoteError::Unauthorized {
                hint: cred.unauthorized_hint(),
            });
        }
    }

    /// Send the request `make` builds: the loopback way when the remote is
    /// on this machine, else (or to follow a redirect) with reqwest.
    async fn send<'u>(&self, make: impl Fn() -> Outgoing<'u>) -> Result<Response, RemoteError> {
        let req = make();
        req.check().map_err(RemoteError::Unreachable)?;
        let lo = match &self.way {
            Way::Loopback(lo) => lo,
            // Boxed here and below: these futures are large, and inline
            // they would grow every request's task, loopback ones too.
            Way::General(client) => {
                return Box::pin(req.into_reqwest(client).send())
                    .await
                    .map(Response::General)
                    .map_err(|e| self.transport_error(e));
            }
        };
        match lo.send(&req).await {
            Ok(Some(resp)) => return Ok(resp),
            Ok(None) => {}
            Err(text) => return Err(RemoteError::Unreachable(self.redact(&text))),
        }
        let general = lo.general().map_err(RemoteError::Unreachable)?;
        let req = make()
            .into_reqwest(&general)
            .build()
            .map_err(|e| self.transport_error(e))?;
        Box::pin(general.execute(req))
            .await
            .map(Response::General)
            .map_err(|e| self.transport_error(e))
    }

    /// A transport error as text with no URL (URLs can carry secrets).
    pub fn transport_error(&self, e: reqwest::Error) -> RemoteError {
        let text = crate::redact::http_error_text(e);
        RemoteError::Unreachable(self.redact(&text))
    }

    /// A short, redacted excerpt of an error body: its first few KiB, read
    /// for a few seconds at most.
    pub async fn body_excerpt(&self, resp: Response) -> String {
        let text = Box::pin(resp.excerpt(ERROR_BODY_READ, ERROR_BODY_WAIT)).await;
        let mut t: String = text.trim().chars().take(BODY_EXCERPT).collect();
        if text.trim().chars().count() > BODY_EXCERPT {
            t.push('…');
        }
        self.redact(&t)
    }

    /// Read a JSON body: one message or a batch, each dispatched.
    pub async fn read_json(&self, resp: Response) -> Result<(), RemoteError> {
        let bytes = resp
            .bytes(self.endpoint.max_message_size)
            .await
            .map_err(|e| RemoteError::Unreachable(self.redact(&e.text())))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        self.dispatch_text(Vec::from(bytes))
            .map_err(|e| RemoteError::Protocol(format!("the response body is not valid JSON ({e})")))
    }

    /// Dispatch one message (or batch) given as JSON text: as it is when
    /// `Inbound` can pass it on unread, else parsed.
    fn dispatch_text(&self, text: Vec<u8>) -> Result<(), serde_json::Error> {
        let Err(text) = self.inbound.dispatch_raw(text) else {
            return Ok(());
        };
        let parsed = serde_json::from_slice::<Value>(&text);
        drop(text); // a large answer is not held twice while it goes on
        self.dispatch_value(parsed?);
        Ok(())
    }

    fn dispatch_value(&self, value: Value) {
        match value {
            Value::Array(batch) => batch.into_iter().for_each(|m| self.inbound.dispatch(m)),
            m => self.inbound.dispatch(m),
        }
    }

    /// Read an SSE body. Message events are dispatched; other named events
    /// go to `on_event`. Stops at the end of the stream, or as soon as
    /// `done()` is true after a message; the rest of the body is then read
    /// in the background (see [`DRAIN_LIMIT`]).
    pub async fn read_sse(
        self: &Arc<Self>,
        resp: Response,
        mut on_event: impl FnMut(&crate::sse::Event),
        done: impl Fn() -> bool,
    ) -> StreamEnd {
        let mut end = StreamEnd::default();
        let mut events = crate::sse::Reader::with_limit(resp.bytes_stream(), self.endpoint.max_message_size);
        while let Some(item) = events.next().await {
            let Some(event) = self.sse_event(item, &mut end) else {
                break;
            };
            match event.event.as_deref() {
                None | Some("message") => {
                    if self.sse_message(event) && done() {
                        end.finished = true;
                        self.drain_sse(events);
                        break;
                    }
                }
                Some(_) => on_event(&event),
            }
        }
        end
    }

    /// The server usually ends a response stream right after the answer,
    /// but that end may still be on its way when the answer is read.
    /// Dropping the body before it would close the connection instead of
    /// returning it to the pool (a new TCP connection for a later call), so
    /// the rest is read here, briefly, and any message in it still goes on.
    fn drain_sse<S>(self: &Arc<Self>, mut events: crate::sse::Reader<S>)
    where
        S: futures::Stream<Item = Result<bytes::Bytes, BodyError>> + Unpin + Send + 'static,
    {
        // The end has often arrived with the answer: then it is read here.
        let mut end = StreamEnd::default();
        loop {
            match futures::FutureExt::now_or_never(events.next()) {
                None => break,
                Some(None) => return,
                Some(Some(item)) => {
                    if !self.pass_on(item, &mut end) {
                        return;
                    }
                }
            }
        }
        let ctx = self.clone();
        tokio::spawn(async move {
            let rest = async {
                while let Some(item) = events.next().await {
                    if !ctx.pass_on(item, &mut end) {
                        break;
                    }
                }
            };
            if tokio::time::timeout(DRAIN_LIMIT, rest).await.is_err() {
                tracing::trace!("a response stream stayed open after its answer; closed");
            }
        });
    }

    /// Pass on a message in the rest of a stream; false once it broke.
    fn pass_on(&self, item: Result<crate::sse::Event, crate::sse::ReadError<BodyError>>, end: &mut StreamEnd) -> bool {
        let Some(event) = self.sse_event(item, end) else {
            return false;
        };
        if matches!(event.event.as_deref(), None | Some("message")) {
            self.sse_message(event);
        }
        true
    }

    /// One item from an SSE reader: the event, with its id and retry noted in
    /// `end`, or None (logged, `end.broken` set) when the stream broke.
    fn sse_event(
        &self,
        item: Result<crate::sse::Event, crate::sse::ReadError<BodyError>>,
        end: &mut StreamEnd,
    ) -> Option<crate::sse::Event> {
        let event = match item {
            Ok(event) => event,
            Err(e) => {
                let text = match e {
                    crate::sse::ReadError::Stream(e) => e.text(),
                    crate::sse::ReadError::TooLarge(_) => {
                        let text = super::reply::too_large("an SSE event", self.endpoint.max_message_size);
                        tracing::warn!("server `{}`: {text}; the stream is dropped", self.endpoint.server);
                        end.too_large = Some(text.clone());
                        text
                    }
                };
                tracing::debug!("SSE stream broke: {}", self.redact(&text));
                end.broken = true;
                return None;
            }
        };
        if let Some(id) = &event.id {
            end.last_event_id = Some(id.clone());
        }
        if let Some(ms) = event.retry {
            end.retry = Some(Duration::from_millis(ms));
        }
        Some(event)
    }

    /// Dispatch a message event's data. Returns whether it held a message
    /// (was not blank).
    fn sse_message(&self, mut event: crate::sse::Event) -> bool {
        let data = std::mem::take(&mut event.data);
        if is_blank(&data) {
            return false;
        }
        if let Err(e) = self.dispatch_text(data) {
            tracing::warn!(
                "server `{}` sent an SSE event that is not JSON ({e}); skipped",
                self.endpoint.server
            );
        }
        true
    }
}

/// How much of an error body is read (an excerpt of it is shown).
const ERROR_BODY_READ: usize = 4 << 10;
/// How long an error body is read at most.
const ERROR_BODY_WAIT: Duration = Duration::from_secs(5);

/// How long the rest of a response stream is read after its answer.
const DRAIN_LIMIT: Duration = Duration::from_millis(250);

/// Whether SSE data is empty or only whitespace (Unicode whitespace too, when
/// it is valid UTF-8), so carries no message.
fn is_blank(data: &[u8]) -> bool {
    match data.iter().position(|b| !b.is_ascii_whitespace()) {
        None => true,
        // The only ASCII whitespace `str::trim` knows and `is_ascii_whitespace` not: VT.
        Some(i) if data[i].is_ascii() && data[i] != b'\x0b' => false,
        Some(_) => std::str::from_utf8(data).is_ok_and(|s| s.trim().is_empty()),
    }
}

/// How an SSE stream ended.
#[derive(Debug, Default, Clone)]
pub struct StreamEnd {
    pub last_event_id: Option<String>,
    pub retry: Option<Duration>,
    /// The reader stopped because what it waited for had arrived.
    pub finished: bool,
    /// The connection broke mid-stream.
    pub broken: bool,
    /// An event was over `max_message_size` (what to tell the client):
    /// resuming would only send it again.
    pub too_large: Option<String>,
}

/// The response's media type, lower-cased, without parameters. Borrowed
/// when it is lower case already, as it nearly always is.
pub fn content_type(resp: &Response) -> Cow<'_, str> {
    let media = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim();
    if media.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(media.to_ascii_lowercase())
    } else {
        Cow::Borrowed(media)
    }
}

/// Whether a 400 body says the session ID is unknown (Integration.app and
/// server-everything answer a stale session this way instead of 404).
pub fn says_invalid_session(body: &str) -> bool {
    let b = body.to_ascii_lowercase();
    b.contains("session")
        && (b.contains("no valid")
            || b.contains("invalid")
            || b.contains("not found")
            || b.contains("unknown")
            || b.contains("expired"))
}
