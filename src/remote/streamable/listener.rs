//! The GET stream: the one long-lived stream on which the remote sends
//! messages of its own (list changes, logs, requests not tied to a call).
//! It is opened once the client is initialised, reconnects with
//! `Last-Event-ID` after the server's `retry`, backs off on failures, stops
//! for good on 405 (the server offers none), and re-initialises the session
//! when the remote has forgotten it.
//!
//! Its opening is awaited (bounded by [`OPENING_LIMIT`]) by every request
//! that can lead the server to ask the client something (all but the
//! handshake, `ping` and the lists; see [`Openings`]): a server may send a
//! request not tied to a call on this stream only (the TypeScript SDK's
//! `server.request` does), and drops it when the stream is not open yet,
//! which left that call waiting forever. The lists do not wait, so the
//! first `tools/list` still goes out beside `notifications/initialized`.

use super::{DEFAULT_RETRY, LAST_EVENT_ID, Streamable};
use crate::remote::body;
use reqwest::{Method, StatusCode};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long the client's next message waits for the GET stream to be
/// answered (open, refused or failed) before going out anyway.
pub(super) const OPENING_LIMIT: Duration = Duration::from_secs(3);

/// The GET streams being opened, and a wait for them to be answered.
#[derive(Default)]
pub(super) struct Openings(Arc<watch::Sender<u32>>);

/// One GET stream being opened: it counts until dropped, once the first
/// GET has its answer's head (or failed, or its task was stopped).
pub(super) struct Opening(Arc<watch::Sender<u32>>);

impl Openings {
    /// A GET stream is about to be opened: requests that may need it wait.
    pub(super) fn start(&self) -> Opening {
        self.0.send_modify(|n| *n += 1);
        Opening(self.0.clone())
    }

    /// Wait until no GET stream is being opened, at most [`OPENING_LIMIT`],
    /// if `method` can lead the server to ask the client something.
    pub(super) async fn before(&self, method: Option<&str>) {
        let asks_nothing = match method {
            Some(m) => m == "initialize" || m == "ping" || m.ends_with("/list"),
            None => true,
        };
        // Most calls find nothing opening: no wait, and no timer made.
        if !asks_nothing && *self.0.borrow() > 0 {
            self.opened().await;
        }
    }

    /// Wait until no GET stream is being opened, at most [`OPENING_LIMIT`].
    pub(super) fn opened(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.0.subscribe();
        async move {
            let _ = tokio::time::timeout(OPENING_LIMIT, rx.wait_for(|n| *n == 0)).await;
        }
    }
}

impl Drop for Opening {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Keep the GET stream of `streamable` open until it is told to stop (aborted), the
/// server offers none, or it failed too often. `answered` is dropped once the
/// first GET has its answer's head (or failed).
pub(super) async fn run(streamable: Arc<Streamable>, answered: Opening) {
    let mut answered = Some(answered);
    let ex = &streamable.ex;
    let mut last: Option<String> = None;
    let mut wait = DEFAULT_RETRY;
    let mut failures = 0u32;
    loop {
        let s = streamable.snapshot();
        let resp = ex
            .http
            .send_authorized(|auth| {
                let req = streamable
                    .session_request(Method::GET, &s, auth)
                    .header(http::header::ACCEPT, "text/event-stream");
                match &last {
                    Some(l) => req.header(LAST_EVENT_ID, l),
                    None => req,
                }
            })
            .await;
        drop(answered.take());
        match resp {
            Ok(r) if r.status() == StatusCode::METHOD_NOT_ALLOWED => {
                tracing::debug!("server offers no GET stream (405)");
                return;
            }
            Ok(r) if r.status().is_success() && body::content_type(&r) == "text/event-stream" => {
                failures = 0;
                let end = ex.bodies.read_sse(r, |_| {}, || false).await;
                last = end.last_event_id.or(last);
                wait = end.retry.unwrap_or(wait);
            }
            Ok(r) if s.id.is_some() && matches!(r.status(), StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST) => {
                let status = r.status();
                let body = ex.bodies.excerpt(r).await;
                if status == StatusCode::NOT_FOUND || super::says_invalid_session(&body) {
                    // The session is gone; re-initialising starts a new listener.
                    if let Err(e) = streamable.reinitialise(s.generation).await {
                        tracing::warn!("{}", ex.redact(&format!("server `{}`: {e}", ex.endpoint.server)));
                    }
                    return;
                }
                failures += 1;
            }
            Ok(r) => {
                tracing::debug!(status = r.status().as_u16(), "GET stream refused");
                failures += 1;
            }
            Err(e) => {
                tracing::debug!("GET stream failed: {e}");
                failures += 1;
            }
        }
        if failures > 8 {
            tracing::info!("giving up on the GET stream after repeated failures");
            return;
        }
        tokio::time::sleep(backoff(wait, failures)).await;
    }
}

/// The pause before the next GET: the server's `retry` (any number it
/// likes, hence saturating), doubled per failure up to 32 times, at most 30 s.
fn backoff(wait: Duration, failures: u32) -> Duration {
    wait.saturating_mul(2u32.saturating_pow(failures.min(5)))
        .min(Duration::from_secs(30))
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn a_remote_retry_of_u64_max_ms_never_overflows_the_backoff() {
        let huge = Duration::from_millis(u64::MAX);
        for failures in [0, 1, 5, 9, u32::MAX] {
            assert_eq!(backoff(huge, failures), Duration::from_secs(30));
        }
        assert_eq!(backoff(Duration::from_secs(1), 2), Duration::from_secs(4));
    }
}
