//! The Integration.app emulator's legacy HTTP+SSE transport: `GET /sse`
//! opens a session whose first event, `endpoint`, names
//! `/messages?sessionId=…`; each message POSTed there is answered with 202
//! and its responses are sent on the stream.

use super::{Ia, parse_query, refuse};
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::Value;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Open streams by session ID.
#[derive(Default)]
pub(super) struct Streams(Mutex<HashMap<String, mpsc::UnboundedSender<Value>>>);

pub(super) async fn open(State(ia): State<Arc<Ia>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let query = parse_query(q);
    if let Some(r) = refuse(&ia, &headers, &query) {
        return r;
    }
    let session = ia.mcp.open(&headers, &query);
    let (tx, rx) = mpsc::unbounded_channel::<Value>();
    ia.streams
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(session.id.clone(), tx);
    let first = format!("event: endpoint\ndata: /messages?sessionId={}\n\n", session.id);
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
    let query = parse_query(q);
    let id = query.get("sessionId").cloned().unwrap_or_default();
    let tx = ia.streams.0.lock().unwrap_or_else(|e| e.into_inner()).get(&id).cloned();
    let (Some(tx), Some(session)) = (tx, ia.mcp.session(&id)) else {
        return (StatusCode::BAD_REQUEST, "No transport found for sessionId").into_response();
    };
    let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "Invalid message").into_response();
    };
    for out in ia.mcp.process(&session, &headers, &msg) {
        let _ = tx.send(out);
    }
    (StatusCode::ACCEPTED, "Accepted").into_response()
}
