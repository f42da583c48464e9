//! Redirects never carry a secret to another origin: a token endpoint's
//! redirect is not followed (its body holds `client_secret`), nor an OAuth
//! registration's, and an MCP request follows only a redirect within its
//! origin (it carries the configured secret headers and `?api_key=`), with
//! no `Referer` ever.

mod hostile_oauth;
mod oauth_support;
mod support;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use support::{Bridge, toml_string};

/// One request a server got: method, path and query, headers, body.
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

fn headers_text(h: &HeaderMap) -> String {
    h.iter()
        .map(|(k, v)| format!("{k}: {}\n", v.to_str().unwrap_or("?")))
        .collect()
}

/// A server that records everything and answers like a small MCP server.
async fn elsewhere() -> (String, Seen) {
    let seen = Seen::default();
    let s = seen.clone();
    let app = axum::Router::new().fallback(move |m: Method, uri: Uri, h: HeaderMap, body: Bytes| {
        let s = s.clone();
        async move {
            let body = String::from_utf8_lossy(&body).into_owned();
            s.lock()
                .unwrap()
                .push((format!("{m} {uri}"), headers_text(&h), body.clone()));
            mcp_answer(&body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

fn mcp_answer(body: &str) -> Response {
    let Ok(msg) = serde_json::from_str::<Value>(body) else {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    };
    let Some(id) = msg.get("id").cloned() else {
        return StatusCode::ACCEPTED.into_response();
    };
    let result = match msg["method"].as_str() {
        Some("initialize") => json!({"protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                                     "serverInfo": {"name": "s", "version": "1"}}),
        _ => json!({"tools": []}),
    };
    axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response()
}

/// A server whose every answer is a 307 to `to` (the same path, or `path`).
async fn redirecting(to: String, path: Option<&'static str>) -> (String, Seen) {
    let seen = Seen::default();
    let s = seen.clone();
    let app = axum::Router::new().fallback(move |m: Method, uri: Uri, h: HeaderMap, body: Bytes| {
        let (s, to) = (s.clone(), to.clone());
        async move {
            s.lock().unwrap().push((
                format!("{m} {uri}"),
                headers_text(&h),
                String::from_utf8_lossy(&body).into(),
            ));
            let target = format!("{to}{}", path.unwrap_or(uri.path()));
            (StatusCode::TEMPORARY_REDIRECT, [("location", target)]).into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

#[tokio::test]
async fn a_token_endpoint_redirect_to_another_origin_never_gets_the_client_secret() {
    let (attacker, stolen) = elsewhere().await;
    let (api, asked) = redirecting(attacker.clone(), None).await;
    let config = support::pipedream_config(&format!("{attacker}/v3"), &api, "pd-secret-4f9a7c1e", "timeout = 10\n");
    let mut b = Bridge::serve_isolated(&config, "pd", &[]);
    let r = b.initialize_answer().await;
    assert!(r.get("error").is_some(), "{r}");
    // The token request went out, with the secret, to the endpoint named.
    let asked = asked.lock().unwrap().clone();
    assert!(
        asked
            .iter()
            .any(|(what, _, body)| what.starts_with("POST /v1/oauth/token") && body.contains("pd-secret-4f9a7c1e")),
        "{r} {asked:?}"
    );
    let got = stolen.lock().unwrap().clone();
    assert!(
        got.iter()
            .all(|(_, h, body)| !body.contains("pd-secret-4f9a7c1e") && !h.contains("pd-secret")),
        "the secret followed the redirect: {got:?}"
    );
    assert!(got.iter().all(|(what, _, _)| !what.contains("oauth/token")), "{got:?}");
}

#[tokio::test]
async fn a_zapier_refresh_redirected_to_another_origin_never_gets_the_client_secret_or_refresh_token() {
    let (attacker, stolen) = elsewhere().await;
    let (token_url, asked) = redirecting(attacker.clone(), None).await;
    // The MCP server refuses the access token: the bridge refreshes it.
    let app = axum::Router::new().fallback(|| async { StatusCode::UNAUTHORIZED });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let remote = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let config = format!(
        "[servers.z]\nprovider = \"zapier\"\nurl = {}\naccess_token = \"z-access-1\"\n\
         refresh_token = \"z-refresh-6b1d\"\nclient_id = \"z-client\"\nclient_secret = \"z-secret-2e7c\"\n\
         token_url = {}\ntimeout = 10\n",
        toml_string(&remote),
        toml_string(&format!("{token_url}/oauth/token"))
    );
    let mut b = Bridge::serve_isolated(&config, "z", &[]);
    let r = b.initialize_answer().await;
    assert!(r.get("error").is_some(), "{r}");
    let asked = asked.lock().unwrap().clone();
    assert!(
        asked
            .iter()
            .any(|(what, _, body)| what.starts_with("POST /oauth/token") && body.contains("z-refresh-6b1d")),
        "the refresh went out to the endpoint named: {r} {asked:?}"
    );
    let got = stolen.lock().unwrap().clone();
    assert!(
        got.iter().all(|(_, h, body)| {
            let all = format!("{h}{body}");
            !all.contains("z-secret-2e7c") && !all.contains("z-refresh-6b1d") && !all.contains("z-client")
        }),
        "the refresh followed the redirect: {got:?}"
    );
}

#[tokio::test]
async fn an_mcp_redirect_to_another_origin_never_gets_the_secret_header_query_or_a_referer() {
    let (attacker, stolen) = elsewhere().await;
    let (remote, asked) = redirecting(attacker, None).await;
    let config = format!(
        "[servers.s]\nurl = {}\nheaders = {{ X-Custom = \"hdr-secret-8d2b\" }}\ntimeout = 10\n",
        toml_string(&format!("{remote}/mcp?api_key=query-secret-3c5e"))
    );
    let mut b = Bridge::serve(&config, "s");
    let r = b.initialize_answer().await;
    // The redirect is settled before the answer: followed or not.
    let message = r["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("set `url` in [servers.s]"), "{r}");
    assert!(!asked.lock().unwrap().is_empty());
    let got = stolen.lock().unwrap().clone();
    assert!(
        got.is_empty(),
        "the request followed the redirect to another origin: {got:?}"
    );
    let stderr = b.stderr_text();
    assert!(
        !stderr.contains("hdr-secret-8d2b") && !stderr.contains("query-secret-3c5e"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_redirect_within_the_origin_is_followed_without_a_referer() {
    // One server: `/old` answers 307 to `/new` on itself.
    let seen = Seen::default();
    let s = seen.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let new = format!("{base}/new");
    let app = axum::Router::new().fallback(move |m: Method, uri: Uri, h: HeaderMap, body: Bytes| {
        let (s, new) = (s.clone(), new.clone());
        async move {
            let body = String::from_utf8_lossy(&body).into_owned();
            s.lock()
                .unwrap()
                .push((format!("{m} {uri}"), headers_text(&h), body.clone()));
            if uri.path() == "/old" {
                return (StatusCode::TEMPORARY_REDIRECT, [("location", new)]).into_response();
            }
            mcp_answer(&body)
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let config = format!(
        "[servers.s]\nurl = {}\ntimeout = 10\n",
        toml_string(&format!("{base}/old?api_key=q-secret-77"))
    );
    let mut b = Bridge::serve(&config, "s");
    let r = b.initialize_answer().await;
    assert_eq!(r["result"]["serverInfo"]["name"], "s", "{r}");
    let got = seen.lock().unwrap().clone();
    assert!(got.iter().any(|(what, _, _)| what.starts_with("POST /new")), "{got:?}");
    assert!(
        got.iter().all(|(_, h, _)| !h.to_ascii_lowercase().contains("referer")),
        "{got:?}"
    );
}

#[tokio::test]
async fn an_oauth_registration_redirect_to_another_origin_is_not_followed() {
    let (attacker, stolen) = elsewhere().await;
    let url = hostile_oauth::start(hostile_oauth::Script {
        register_redirect: Some(format!("{attacker}/register")),
        ..Default::default()
    })
    .await;
    let env = oauth_support::Env::new(&url, "");
    let (ok, _, stderr) = oauth_support::login(&env, false).await;
    assert!(!ok, "{stderr}");
    let got = stolen.lock().unwrap().clone();
    assert!(got.is_empty(), "the registration followed the redirect: {got:?}");
}
