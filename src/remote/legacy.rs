//! The legacy HTTP+SSE transport (MCP 2024-11-05): a GET opens an event
//! stream whose first `endpoint` event names the URL to POST messages to;
//! every answer comes back on that stream.
//!
//! If the stream drops, the next message reconnects and, when the client had
//! already initialised, replays its `initialize` first, so the client never
//! sees the break.

use super::http_util;
use super::inbound::Route;
use super::{Ctx, RemoteError};
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
    ctx: Arc<Ctx>,
    conn: tokio::sync::Mutex<Option<Connection>>,
}

impl Legacy {
    pub(crate) fn new(ctx: Arc<Ctx>) -> Arc<Self> {
        Arc::new(Self {
            ctx,
            conn: tokio::sync::Mutex::new(None),
        })
    }

    /// Open the event stream and wait for its `endpoint` event.
    async fn connect(&self) -> Result<Connection, RemoteError> {
        let ctx = self.ctx.clone();
        let resp = ctx
            .send_authorized(|auth| {
                ctx.build(Method::GET, &ctx.endpoint.url, auth)
                    .header(http::header::ACCEPT, "text/event-stream")
            })
            .await?;
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let body = ctx.body_excerpt(resp).await;
            return Err(RemoteError::Status { status, body });
        }
        if http_util::content_type(&resp) != "text/event-stream" {
            return Err(RemoteError::Protocol(
                "the SSE endpoint did not answer with an event stream".into(),
            ));
        }
        let (tx, rx) = oneshot::channel::<String>();
        let tx = Mutex::new(Some(tx));
        let reader_ctx = ctx.clone();
        let reader = tokio::spawn(async move {
            reader_ctx
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
            tracing::info!(server = %reader_ctx.endpoint.server, "legacy SSE stream closed");
        });
        let endpoint = match tokio::time::timeout(ENDPOINT_WAIT, rx).await {
            Ok(Ok(e)) => e,
            _ => {
                reader.abort();
                return Err(RemoteError::Protocol("the SSE stream sent no `endpoint` event".into()));
            }
        };
        let post_url = ctx
            .endpoint
            .url
            .join(endpoint.trim())
            .map_err(|e| RemoteError::Protocol(format!("the `endpoint` event holds a bad URL ({e})")))?;
        if post_url.origin() != ctx.endpoint.url.origin() {
            reader.abort();
            return Err(RemoteError::Protocol(
                "the `endpoint` event points at another origin; refused".into(),
            ));
        }
        ctx.endpoint.redactor.add(post_url.query().unwrap_or_default());
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
        let ctx = &self.ctx;
        let body = msg.text();
        let resp = ctx
            .send_authorized(|auth| {
                ctx.build(Method::POST, url, auth)
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
            })
            .await?;
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let body = ctx.body_excerpt(resp).await;
            return Err(RemoteError::Status { status, body });
        }
        // Some servers answer in the POST body too; take it if it is JSON-RPC.
        if http_util::content_type(&resp) == "application/json" {
            let _ = ctx.read_json(resp).await;
        }
        Ok(())
    }

    /// After a reconnect, bring the new connection to the state the client
    /// believes it is in.
    async fn replay_init(&self, url: &Url) -> Result<(), RemoteError> {
        let Some(mut init) = self.ctx.init_request() else {
            return Ok(());
        };
        let id = crate::ids::next_id("reinit");
        init["id"] = id.clone();
        let answer = self.ctx.inbound.expect(&id, "initialize", Route::Bridge);
        self.post(url, &init.into()).await?;
        let got = tokio::time::timeout(self.ctx.endpoint.timeout, answer).await;
        self.ctx.inbound.forget(&id);
        if !matches!(got, Ok(Ok(_))) {
            return Err(RemoteError::SessionLost("the server did not answer initialize".into()));
        }
        if self.ctx.client_initialized() {
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
