//! Reading the server's answers: a JSON body (one message or a batch) or
//! an SSE body, message by message, into `Inbound`; a short excerpt of an
//! error body. After the awaited answer, the rest of a response stream is
//! read briefly, so its connection goes back to the pool.

use super::error::RemoteError;
use super::inbound::Inbound;
use super::reply::{BodyError, Reply as Response};
use crate::redact::Redactor;
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

/// The longest body excerpt put in an error message.
const BODY_EXCERPT: usize = 300;

/// A short excerpt of `text` for an error message: redacted first, then
/// cut to `BODY_EXCERPT` characters, so a secret the cut runs through is
/// hidden whole, not shown by its beginning.
pub fn excerpt(redactor: &Redactor, text: &str) -> String {
    let redacted = redactor.apply(text.trim());
    let mut e: String = redacted.chars().take(BODY_EXCERPT).collect();
    if redacted.chars().count() > BODY_EXCERPT {
        e.push('…');
    }
    e
}

/// One server's answers, read into its `Inbound`.
pub(crate) struct Bodies {
    inbound: Arc<Inbound>,
    /// The server's name, for the log.
    server: String,
    redactor: Redactor,
    /// `max_message_size`: the largest body or SSE event read.
    max_message_size: usize,
}

impl Bodies {
    pub fn new(inbound: Arc<Inbound>, server: String, redactor: Redactor, max_message_size: usize) -> Arc<Bodies> {
        Arc::new(Bodies {
            inbound,
            server,
            redactor,
            max_message_size,
        })
    }

    /// A short, redacted excerpt of an error body: its first few KiB, read
    /// for a few seconds at most.
    pub async fn excerpt(&self, resp: Response) -> String {
        let text = Box::pin(resp.excerpt(ERROR_BODY_READ, ERROR_BODY_WAIT)).await;
        excerpt(&self.redactor, &text)
    }

    /// Read a JSON body: one message or a batch, each dispatched.
    pub async fn read_json(&self, resp: Response) -> Result<(), RemoteError> {
        let bytes = resp
            .bytes(self.max_message_size)
            .await
            .map_err(|e| RemoteError::Unreachable(self.redactor.apply(&e.text())))?;
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
        let mut events = crate::sse::Reader::with_limit(resp.bytes_stream(), self.max_message_size);
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
        let bodies = self.clone();
        tokio::spawn(async move {
            let rest = async {
                while let Some(item) = events.next().await {
                    if !bodies.pass_on(item, &mut end) {
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
                        let text = super::reply::too_large("an SSE event", self.max_message_size);
                        tracing::warn!("server `{}`: {text}; the stream is dropped", self.server);
                        end.too_large = Some(text.clone());
                        text
                    }
                };
                tracing::debug!("SSE stream broke: {}", self.redactor.apply(&text));
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
                self.server
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Outbox;
    use crate::remote::inbound::Inbound;

    #[tokio::test]
    async fn a_secret_the_excerpt_cut_runs_through_is_hidden_whole() {
        let redactor = Redactor::new();
        redactor.add("sk-live-0123456789abcdef");
        let bodies = Bodies::new(
            Arc::new(Inbound::new(Outbox::channel().0)),
            "s".into(),
            redactor,
            1 << 20,
        );
        // The secret starts 10 characters before the excerpt's end.
        let text = format!("{} sk-live-0123456789abcdef and more", "x".repeat(BODY_EXCERPT - 11));
        let resp = http::Response::builder().status(500).body(text).unwrap();
        let shown = bodies.excerpt(Response::General(resp.into())).await;
        assert!(!shown.contains("sk-live-01"), "{shown}");
        assert!(shown.ends_with('…') && shown.contains("[redac"), "{shown}");
    }
}
