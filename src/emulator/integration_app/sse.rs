//! The Integration.app emulator's legacy HTTP+SSE transport, as
//! integration-app/mcp-server src/server/routes/sse.ts serves it behind the
//! auth middleware: `GET /sse` opens a session whose first event,
//! `endpoint`, names `/sse/messages?token=<the token>&sessionId=<id>` (the
//! route builds the transport with `/sse/messages?token=${token}` and the
//! MCP SDK's `SSEServerTransport` adds `sessionId` to that URL's query);
//! each message POSTed there is answered 202 and its responses go on the
//! stream. Every request passes the auth middleware first, so a POST whose
//! URL carries `token` twice is refused with 401.

use super::{Ia, Query, auth};
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Open streams by session ID.
#[derive(Default)]
pub(super) struct Streams(Mutex<HashMap<String, mpsc::UnboundedSender<Value>>>);

fn error(status: StatusCode, text: &str) -> Response {
    (status, axum::Json(json!({"error": text}))).into_response()
}

pub(super) async fn open(State(ia): State<Arc<Ia>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let query = Query::parse(q.as_deref());
    let caller = match auth::authenticate(&headers, &query) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    // A GET naming a session: 404 when it is unknown (a known one is left
    // hanging by the real route; not emulated).
    if query.one("sessionId").is_some() {
        return error(StatusCode::NOT_FOUND, "Session not found");
    }
    // `createMcpServer` lists the connections with the token before the
    // stream starts: a token Membrane refuses ends in the route's catch.
    if !ia.accepted(&caller.token) {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error");
    }
    let session = ia.mcp.open(&headers, &query.first_values());
    let (tx, rx) = mpsc::unbounded_channel::<Value>();
    ia.streams
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(session.id.clone(), tx);
    let endpoint = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", &caller.token)
        .append_pair("sessionId", &session.id)
        .finish();
    let first = format!("event: endpoint\ndata: /sse/messages?{endpoint}\n\n");
    let rest = futures::stream::unfold(rx, |mut rx| async move {
        let m = rx.recv().await?;
        Some((Bytes::from(format!("event: message\ndata: {m}\n\n")), rx))
    });
    let stream = futures::stream::once(async move { Bytes::from(first) })
        .chain(rest)
        .map(Ok::<_, Infallible>);
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

pub(super) async fn post(
    State(ia): State<Arc<Ia>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let query = Query::parse(q.as_deref());
    if let Err(r) = auth::authenticate(&headers, &query) {
        return *r;
    }
    let Some(id) = query.one("sessionId") else {
        return error(StatusCode::BAD_REQUEST, "Session ID required");
    };
    let tx = ia.streams.0.lock().unwrap_or_else(|e| e.into_inner()).get(id).cloned();
    let (Some(tx), Some(session)) = (tx, ia.mcp.session(id)) else {
        return error(StatusCode::NOT_FOUND, "Session not found");
    };
    // The SDK's `handlePostMessage`: 400 for a body that is no JSON-RPC
    // message, else 202 "Accepted" and the answers on the stream.
    let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "Invalid message").into_response();
    };
    for out in ia.mcp.process(&session, &headers, &msg) {
        let _ = tx.send(out);
    }
    (StatusCode::ACCEPTED, "Accepted").into_response()
}
