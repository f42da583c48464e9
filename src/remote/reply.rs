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

    /// The body, read whole. A body that arrives in one piece (most
    /// answers) is returned as that piece, not copied.
    pub async fn bytes(self) -> Result<Bytes, BodyError> {
        let body = match self {
            Reply::General(r) => return r.bytes().await.map_err(BodyError::General),
            Reply::Loopback { body, .. } => body,
        };
        let mut stream = Body::Loopback(body);
        let Some(first) = futures::StreamExt::next(&mut stream).await.transpose()? else {
            return Ok(Bytes::new());
        };
        let Some(second) = futures::StreamExt::next(&mut stream).await.transpose()? else {
            return Ok(first);
        };
        let mut all = BytesMut::from(&first[..]);
        all.extend_from_slice(&second);
        while let Some(piece) = futures::StreamExt::next(&mut stream).await.transpose()? {
            all.extend_from_slice(&piece);
        }
        Ok(all.freeze())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub async fn text(self) -> Result<String, BodyError> {
        Ok(String::from_utf8_lossy(&self.bytes().await?).into_owned())
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
}

impl BodyError {
    /// What went wrong, with no URL in it (URLs can carry secrets).
    pub fn text(self) -> String {
        match self {
            BodyError::Loopback(e) => format!("error reading the response body: {}", crate::redact::with_causes(&e)),
            BodyError::General(e) => crate::redact::http_error_text(e),
        }
    }
}
