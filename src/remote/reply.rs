//! A response from the remote, whichever way it came: the loopback way's
//! (hyper's response, its body read through the loopback way's connection)
//! or reqwest's. The transports read its status, headers and body the same
//! way for both.
//!
//! A loopback response is not dressed up as a `reqwest::Response`: that
//! wrapper boxes the body twice over, maps its errors at each layer and
//! carries a URL, about a tenth of what a relayed call cost the bridge.

use bytes::{Bytes, BytesMut};
use futures::Stream;
use http::{HeaderMap, StatusCode};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

/// A body read by the loopback way: hyper's, and the connection it is
/// read from (the loopback way's own type, not named here).
pub type LoopbackBody = Pin<Box<dyn http_body::Body<Data = Bytes, Error = hyper::Error> + Send>>;

pub enum Reply {
    Loopback {
        status: StatusCode,
        headers: HeaderMap,
        body: LoopbackBody,
    },
    General(reqwest::Response),
}

impl Reply {
    pub fn status(&self) -> StatusCode {
        match self {
            Reply::Loopback { status, .. } => *status,
            Reply::General(r) => r.status(),
        }
    }

    pub fn headers(&self) -> &HeaderMap {
        match self {
            Reply::Loopback { headers, .. } => headers,
            Reply::General(r) => r.headers(),
        }
    }

    /// The body, read whole, if it holds at most `limit` bytes (a server's
    /// `max_message_size`; a declared length over it is refused before
    /// anything is read). A body that arrives in one piece (most answers)
    /// is returned as that piece, not copied.
    pub async fn bytes(self, limit: usize) -> Result<Bytes, BodyError> {
        let declared = self
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(BodyError::TooLarge(limit));
        }
        let mut stream = self.bytes_stream();
        let Some(first) = futures::StreamExt::next(&mut stream).await.transpose()? else {
            return Ok(Bytes::new());
        };
        if first.len() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        let Some(second) = futures::StreamExt::next(&mut stream).await.transpose()? else {
            return Ok(first);
        };
        let mut all = BytesMut::from(&first[..]);
        let mut piece = second;
        loop {
            if all.len() + piece.len() > limit {
                return Err(BodyError::TooLarge(limit));
            }
            all.extend_from_slice(&piece);
            match futures::StreamExt::next(&mut stream).await.transpose()? {
                Some(next) => piece = next,
                None => return Ok(all.freeze()),
            }
        }
    }

    /// At most `max` bytes of the body as text (invalid UTF-8 replaced),
    /// read for at most `wait`: for an error page, of which only the start
    /// is shown. The rest is never read.
    pub async fn excerpt(self, max: usize, wait: std::time::Duration) -> String {
        let mut stream = self.bytes_stream();
        let mut body = Vec::new();
        let read = async {
            while let Some(Ok(piece)) = futures::StreamExt::next(&mut stream).await {
                body.extend_from_slice(&piece[..piece.len().min(max - body.len())]);
                if body.len() >= max {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(wait, read).await;
        String::from_utf8_lossy(&body).into_owned()
    }

    /// The body as it arrives.
    pub fn bytes_stream(self) -> Body {
        match self {
            Reply::Loopback { body, .. } => Body::Loopback(body),
            Reply::General(r) => Body::General(Box::pin(r.bytes_stream())),
        }
    }
}

/// A response body as a stream of pieces.
pub enum Body {
    Loopback(LoopbackBody),
    General(Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>),
}

impl Stream for Body {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.get_mut() {
            Body::General(s) => s
                .as_mut()
                .poll_next(cx)
                .map(|o| o.map(|r| r.map_err(BodyError::General))),
            Body::Loopback(b) => loop {
                match ready!(b.as_mut().poll_frame(cx)) {
                    None => return Poll::Ready(None),
                    Some(Err(e)) => return Poll::Ready(Some(Err(BodyError::Loopback(e)))),
                    Some(Ok(frame)) => {
                        // Trailers carry nothing the bridge reads.
                        if let Ok(data) = frame.into_data() {
                            return Poll::Ready(Some(Ok(data)));
                        }
                    }
                }
            },
        }
    }
}

/// Reading a body failed.
#[derive(Debug)]
pub enum BodyError {
    Loopback(hyper::Error),
    General(reqwest::Error),
    /// It is larger than this many bytes (`max_message_size`).
    TooLarge(usize),
}

impl BodyError {
    /// What went wrong, with no URL in it (URLs can carry secrets).
    pub fn text(self) -> String {
        match self {
            BodyError::Loopback(e) => format!("error reading the response body: {}", crate::redact::with_causes(&e)),
            BodyError::General(e) => crate::redact::http_error_text(e),
            BodyError::TooLarge(limit) => too_large("the response body", limit),
        }
    }
}

/// What a person reads when `what` is over a server's `max_message_size`.
pub fn too_large(what: &str, limit: usize) -> String {
    format!(
        "{what} is larger than {} (the server's `max_message_size`; raise it in the server's entry if such \
         messages are expected)",
        crate::config::size::shown(limit)
    )
}
