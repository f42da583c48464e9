//! The loopback redirect target: `http://127.0.0.1:<port>/callback`. It
//! waits for the authorization server to send the browser back, checks the
//! `state` and the issuer (RFC 9207, `issuer::check_response`), shows a
//! small page telling the person what happened, and gives up after a timeout
//! with a message saying what to do next.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// What the authorization server sent back (state already checked).
#[derive(Debug, Clone)]
pub struct Callback {
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// Why the response was refused (its issuer is not the expected one).
    pub refused: Option<String>,
}

struct Shared {
    state: String,
    expected: super::issuer::Expected,
    server: String,
    tx: mpsc::Sender<Callback>,
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>mcp-bridge: {t}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:34em;margin:4em auto;color:#222}}</style>\
         </head><body><h1>{t}</h1><p>{x}</p></body></html>",
        t = esc(title),
        x = esc(text)
    );
    (status, [(http::header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

async fn handle(State(sh): State<Arc<Shared>>, Query(q): Query<HashMap<String, String>>) -> Response {
    if q.get("state").map(String::as_str) != Some(sh.state.as_str()) {
        tracing::warn!("sign-in callback with a state that does not match the sign-in in progress; ignored");
        return page(
            StatusCode::BAD_REQUEST,
            "Sign-in link not recognised",
            "This response does not belong to the sign-in mcp-bridge is waiting for (the state does not \
             match), so it was ignored. Close this tab and start the sign-in again.",
        );
    }
    // RFC 9207: an error response is checked too, so a forged one cannot
    // make the bridge drop its registration.
    if let Err(why) = super::issuer::check_response(&sh.expected, q.get("iss").map(String::as_str)) {
        tracing::warn!("{why}");
        let _ = sh.tx.try_send(Callback {
            code: None,
            error: None,
            error_description: None,
            refused: Some(why.clone()),
        });
        return page(StatusCode::BAD_REQUEST, "Sign-in response refused", &why);
    }
    let cb = Callback {
        code: q.get("code").cloned(),
        error: q.get("error").cloned(),
        error_description: q.get("error_description").cloned(),
        refused: None,
    };
    if cb.code.is_none() && cb.error.is_none() {
        return page(
            StatusCode::BAD_REQUEST,
            "Incomplete response",
            "The authorization server sent neither a code nor an error.",
        );
    }
    let failed = cb.error.clone();
    let _ = sh.tx.try_send(cb);
    match failed {
        Some(e) => page(
            StatusCode::OK,
            "Sign-in failed",
            &format!(
                "The authorization server answered `{e}`. You can close this tab; mcp-bridge reports the details."
            ),
        ),
        None => page(
            StatusCode::OK,
            "Signed in",
            &format!(
                "mcp-bridge received the sign-in for `{}`. You can close this tab and go back to your app.",
                sh.server
            ),
        ),
    }
}

/// Bind the callback listener: `port`, or a free one when `None`.
pub async fn bind(port: Option<u16>) -> std::io::Result<TcpListener> {
    TcpListener::bind(("127.0.0.1", port.unwrap_or(0))).await
}

/// Serve the callback on `listener` until a response with `state` arrives or
/// `timeout` passes; `expected` says which issuer it must come from.
pub async fn wait(
    listener: TcpListener,
    state: &str,
    expected: &super::issuer::Expected,
    server: &str,
    timeout: Duration,
) -> Result<Callback, String> {
    let (tx, mut rx) = mpsc::channel(1);
    let shared = Arc::new(Shared {
        state: state.to_string(),
        expected: expected.clone(),
        server: server.to_string(),
        tx,
    });
    let app = Router::new().route("/callback", get(handle)).with_state(shared);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    let got = tokio::time::timeout(timeout, rx.recv()).await;
    let _ = stop.send(());
    // Let the page reach the browser, but never hang on a kept-alive tab.
    let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    match got {
        Ok(Some(cb)) => Ok(cb),
        _ => Err(format!(
            "the sign-in was not completed in the browser within {}s; call a tool again (or run \
             `mcp-bridge login {server}`) to get a new sign-in link",
            timeout.as_secs()
        )),
    }
}
