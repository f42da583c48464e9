//! HTTP middleware around the sandbox's rmcp service: the bearer-token check
//! (401 with `{"error":"unauthorized"}`) and the request log that tests use
//! to see exactly what a client sent.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Bodies larger than this are refused before reaching rmcp (which has its
/// own 4 MiB limit).
const MAX_LOGGED_BODY: usize = 16 * 1024 * 1024;

/// One HTTP request the sandbox received, recorded after it was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method: `POST`, `GET` or `DELETE`.
    pub http_method: String,
    /// The `Mcp-Session-Id` header, if sent.
    pub session_id: Option<String>,
    /// The `MCP-Protocol-Version` header, if sent.
    pub protocol_version: Option<String>,
    /// The `Authorization` header, verbatim (the sandbox's token is a test value).
    pub authorization: Option<String>,
    /// The `Last-Event-ID` header, if sent (SSE resumption).
    pub last_event_id: Option<String>,
    /// The JSON-RPC `method` of a POSTed request or notification; `None` for
    /// responses, unparsable bodies and bodiless requests.
    pub rpc_method: Option<String>,
    /// The HTTP status the sandbox answered with.
    pub status: u16,
}

/// Shared, append-only log of requests.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestLog(Arc<Mutex<Vec<RecordedRequest>>>);

impl RequestLog {
    pub(crate) fn snapshot(&self) -> Vec<RecordedRequest> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn push(&self, entry: RecordedRequest) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(entry);
    }
}

fn header_string(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Middleware: records every request with the status it got.
pub(crate) async fn record(State(log): State<RequestLog>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_LOGGED_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
    };
    let rpc_method = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("method")?.as_str().map(str::to_owned));
    let mut entry = RecordedRequest {
        http_method: parts.method.to_string(),
        session_id: header_string(&parts.headers, "mcp-session-id"),
        protocol_version: header_string(&parts.headers, "mcp-protocol-version"),
        authorization: header_string(&parts.headers, "authorization"),
        last_event_id: header_string(&parts.headers, "last-event-id"),
        rpc_method,
        status: 0,
    };
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    entry.status = response.status().as_u16();
    log.push(entry);
    response
}

/// Whether `headers` carry `Authorization: Bearer <token>` (scheme
/// case-insensitive, token compared in constant time).
fn has_bearer(headers: &HeaderMap, token: &str) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some((scheme, presented)) = value.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return false;
    }
    let (a, b) = (presented.trim().as_bytes(), token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The response to a request without the right bearer token.
pub(crate) fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        axum::Json(serde_json::json!({ "error": "unauthorized" })),
    )
        .into_response()
}

/// Middleware: refuses requests lacking `Authorization: Bearer <token>`.
pub(crate) async fn require_bearer(State(token): State<Arc<str>>, req: Request, next: Next) -> Response {
    if has_bearer(req.headers(), &token) {
        next.run(req).await
    } else {
        unauthorized()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, auth.parse().unwrap());
        h
    }

    #[test]
    fn bearer_check() {
        assert!(has_bearer(&headers("Bearer s3cret"), "s3cret"));
        assert!(has_bearer(&headers("bearer s3cret"), "s3cret"));
        assert!(!has_bearer(&headers("Bearer s3cre"), "s3cret"));
        assert!(!has_bearer(&headers("Basic s3cret"), "s3cret"));
        assert!(!has_bearer(&HeaderMap::new(), "s3cret"));
    }
}
