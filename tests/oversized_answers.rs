//! A token endpoint or an authorization server that never stops sending
//! (broken, or out to exhaust the person's memory) is cut off after 1 MiB:
//! the bridge says so at once, instead of reading on until the request's
//! timeout, and keeps serving.

mod oauth_support;
mod support;

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use std::time::{Duration, Instant};
use support::Bridge;

/// An answer of 200 whose body never ends: 64 KiB chunks of spaces, which
/// would still be JSON (white space) however much of it were read.
fn endless() -> Response {
    let chunk = Bytes::from(vec![b' '; 64 << 10]);
    let stream = futures::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        Body::from_stream(stream),
    )
        .into_response()
}

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

#[tokio::test]
async fn a_token_endpoint_that_never_stops_sending_is_cut_off_at_one_mib() {
    let api = serve(axum::Router::new().fallback(|| async { endless() })).await;
    // The request's own timeout is far away: only the limit ends the read.
    let config = support::pipedream_config(&format!("{api}/v3"), &api, "pd-secret-endless-1", "timeout = 120\n");
    let mut b = Bridge::serve_isolated(&config, "pd", &[]);
    b.timeout = Duration::from_secs(30);
    let started = Instant::now();
    let r = b.initialize_answer().await;
    let said = r.to_string();
    assert!(said.contains("longer than 1 MiB"), "{r}");
    assert!(!said.contains("pd-secret-endless-1"), "{r}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "cut off, not read until a timeout: {:?}",
        started.elapsed()
    );
    // Still serving: the next request gets its answer too.
    let again = b.request("ping", serde_json::json!({})).await;
    assert!(again.get("result").is_some() || again.get("error").is_some(), "{again}");
}

#[tokio::test]
async fn an_authorization_server_whose_metadata_never_ends_is_cut_off_at_one_mib() {
    let base = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let challenge = format!("Bearer resource_metadata=\"{base}/.well-known/oauth-protected-resource/mcp\"");
        let app = axum::Router::new()
            .route(
                "/mcp",
                any(move || {
                    let challenge = challenge.clone();
                    async move { (StatusCode::UNAUTHORIZED, [("www-authenticate", challenge)]).into_response() }
                }),
            )
            .route("/.well-known/oauth-protected-resource/mcp", get(|| async { endless() }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    };
    let env = oauth_support::Env::new(&format!("{base}/mcp"), "");
    let started = Instant::now();
    let (ok, _url, stderr) = oauth_support::login(&env, false).await;
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("longer than 1 MiB"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "cut off, not read until the 30 s timeout: {:?}",
        started.elapsed()
    );
}
