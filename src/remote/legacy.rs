//! The legacy HTTP+SSE transport (MCP 2024-11-05): a GET opens an event
//! stream whose first `endpoint` event names the URL to POST messages to;
//! every answer comes back on that stream.
//!
//! If the stream drops, the next message reconnects and, when the client had
//! already initialised, replays its `initialize` first, so the client never
//! sees the break.

use super::body;
use super::error::RemoteError;
use super::exchange::Exchange;
use super::inbound::Route;
use crate::message::Message;
use reqwest::Method;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

/// How long the bridge waits for the `endpoint` event.
const ENDPOINT_WAIT: Duration = Duration::from_secs(15);

struct Connection {
    post_url: Url,
    reader: JoinHandle<()>,
}

pub struct Legacy {
    ex: Arc<Exchange>,
    conn: tokio::sync::Mutex<Option<Connection>>,
}

impl Legacy {
    pub(crate) fn new(ex: Arc<Exchange>) -> Arc<Self> {
        Arc::new(Self {
            ex,
            conn: tokio::sync::Mutex::new(None),
        })
    }

    /// Open the event stream and wait for its `endpoint` event.
    async fn connect(&self) -> Result<Connection, RemoteError> {
        let ex = self.ex.clone();
        let resp = ex
            .http
            .send_authorized(|auth| {
                ex.http
                    .build(Method::GET, &ex.endpoint.url, auth)
                    .header(http::header::ACCEPT, "text/event-stream")
            })
            .await?;
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let body = ex.bodies.excerpt(resp).await;
            return Err(RemoteError::Status { status, body });
        }
        if body::content_type(&resp) != "text/event-stream" {
            return Err(RemoteError::Protocol(
                "the SSE endpoint did not answer with an event stream".into(),
            ));
        }
        let (tx, rx) = oneshot::channel::<String>();
        let tx = Mutex::new(Some(tx));
        let reader_ex = ex.clone();
        let reader = tokio::spawn(async move {
            reader_ex
                .bodies
                .read_sse(
                    resp,
                    |sse| {
                        if sse.event.as_deref() == Some("endpoint")
                            && let Some(tx) = tx.lock().unwrap_or_else(|e| e.into_inner()).take()
                        {
                            let _ = tx.send(String::from_utf8_lossy(&sse.data).into_owned());
                        }
                    },
                    || false,
                )
                .await;
            tracing::info!(server = %reader_ex.endpoint.server, "legacy SSE stream closed");
        });
        let endpoint = match tokio::time::timeout(ENDPOINT_WAIT, rx).await {
            Ok(Ok(e)) => e,
            _ => {
                reader.abort();
                return Err(RemoteError::Protocol("the SSE stream sent no `endpoint` event".into()));
            }
        };
        let post_url = ex
            .endpoint
            .url
            .join(endpoint.trim())
            .map_err(|e| RemoteError::Protocol(format!("the `endpoint` event holds a bad URL ({e})")))?;
        if post_url.origin() != ex.endpoint.url.origin() {
            reader.abort();
            return Err(RemoteError::Protocol(
                "the `endpoint` event points at another origin; refused".into(),
            ));
        }
        ex.endpoint.redactor.add(post_url.query().unwrap_or_default());
        Ok(Connection { post_url, reader })
    }

    /// Send one message, connecting (and replaying initialize) if needed.
    pub async fn send(&self, msg: &Message) -> Result<(), RemoteError> {
        let post_url = {
            let mut conn = self.conn.lock().await;
            let alive = conn.as_ref().is_some_and(|c| !c.reader.is_finished());
            if !alive {
                let fresh = self.connect().await?;
                let url = fresh.post_url.clone();
                *conn = Some(fresh);
                if msg.method() != Some("initialize") {
                    self.replay_init(&url).await?;
                }
            }
            conn.as_ref()
                .map(|c| c.post_url.clone())
                .ok_or_else(|| RemoteError::Protocol("not connected".into()))?
        };
        self.post(&post_url, msg).await
    }

    async fn post(&self, url: &Url, msg: &Message) -> Result<(), RemoteError> {
        let ex = &self.ex;
        let body = msg.text();
        let resp = ex
            .http
            .send_authorized(|auth| {
                ex.http
                    .build(Method::POST, url, auth)
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
            })
            .await?;
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let body = ex.bodies.excerpt(resp).await;
            return Err(RemoteError::Status { status, body });
        }
        // Some servers answer in the POST body too; take it if it is JSON-RPC.
        if body::content_type(&resp) == "application/json" {
            let _ = ex.bodies.read_json(resp).await;
        }
        Ok(())
    }

    /// After a reconnect, bring the new connection to the state the client
    /// believes it is in.
    async fn replay_init(&self, url: &Url) -> Result<(), RemoteError> {
        let Some(mut init) = self.ex.init_request() else {
            return Ok(());
        };
        let id = crate::ids::next_id("reinit");
        init["id"] = id.clone();
        let answer = self.ex.inbound.expect(&id, "initialize", Route::Bridge);
        self.post(url, &init.into()).await?;
        let got = tokio::time::timeout(self.ex.endpoint.timeout, answer).await;
        self.ex.inbound.forget(&id);
        if !matches!(got, Ok(Ok(_))) {
            return Err(RemoteError::SessionLost("the server did not answer initialize".into()));
        }
        if self.ex.client_initialized() {
            let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
            self.post(url, &note.into()).await?;
        }
        Ok(())
    }

    pub fn close(&self) {
        if let Ok(mut conn) = self.conn.try_lock()
            && let Some(c) = conn.take()
        {
            c.reader.abort();
        }
    }
}
