//! `mcp-bridge doctor` end to end: a passing sandbox server, servers that
//! fail each check with a line saying what to do, and no secret in the output.

mod cli_support;

use cli_support::{Home, SANDBOX};
use mcp_bridge::sandbox::{Sandbox, SandboxOptions};

#[test]
fn a_working_server_passes_every_check() {
    let home = Home::new();
    let config = home.file("config.toml", SANDBOX);
    let r = home.run(&["--config", config.to_str().unwrap(), "doctor"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let header = r.out.lines().find(|l| l.starts_with("SERVER")).expect("a table header");
    for column in ["CONFIG", "CREDENTIAL", "REACHABLE", "INITIALIZE + TOOLS/LIST", "TOKEN"] {
        assert!(header.contains(column), "{header}");
    }
    let row = r.out.lines().find(|l| l.starts_with("sb ")).expect("a row for sb");
    assert!(!row.contains("FAIL"), "{row}");
    // The tool count and round-trip times come from a real tools/list.
    assert!(
        row.contains(" tools (initialize ") && row.contains("tools/list"),
        "{row}"
    );
    let count: usize = row
        .split(" tools (")
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(count >= 5, "{row}");
    assert!(r.out.contains("All 1 server passed"), "{}", r.all());
}

#[test]
fn each_failure_is_shown_with_what_to_do_and_no_secret() {
    let home = Home::new();
    let config = home.file(
        "config.toml",
        &format!(
            "{SANDBOX}
[servers.down]
url = \"http://127.0.0.1:1/mcp?api_key=QUERYSECRET-77\"
bearer = \"BEARERSECRET-77\"

[servers.noenv]
url = \"http://127.0.0.1:1/mcp\"
bearer = \"${{MCPB_DOCTOR_UNSET_VAR}}\"

[servers.signedout]
url = \"http://127.0.0.1:1/mcp\"
auth = \"oauth\"
"
        ),
    );
    let r = home.run(&["--config", config.to_str().unwrap(), "doctor"]);
    assert_eq!(r.code, 1, "{}", r.all());
    let row = |name: &str| {
        r.out
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row for {name}: {}", r.all()))
            .to_string()
    };
    assert!(!row("sb").contains("FAIL"), "{}", r.all());
    assert!(
        row("down").contains("FAIL") && row("noenv").contains("FAIL"),
        "{}",
        r.all()
    );
    let problem = |name: &str| {
        r.out
            .lines()
            .find(|l| l.starts_with(&format!("✗ {name}: ")))
            .unwrap_or_else(|| panic!("no problem line for {name}: {}", r.all()))
            .to_string()
    };
    let down = problem("down");
    assert!(down.contains("unreachable") && down.contains("127.0.0.1:1"), "{down}");
    assert!(down.contains("To fix: check `url` in [servers.down]"), "{down}");
    let noenv = problem("noenv");
    assert!(
        noenv.contains("MCPB_DOCTOR_UNSET_VAR") && noenv.contains("To fix: set the variable"),
        "{noenv}"
    );
    let signedout = problem("signedout");
    assert!(
        signedout.contains("To fix: run `mcp-bridge login signedout`"),
        "{signedout}"
    );
    assert!(row("signedout").contains("not signed in"), "{}", r.all());
    for secret in ["QUERYSECRET-77", "BEARERSECRET-77"] {
        assert!(!r.all().contains(secret), "{secret} shown:\n{}", r.all());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_fails_initialize_without_showing_the_token() {
    let sandbox = Sandbox::start(SandboxOptions {
        port: 0,
        token: Some("the-right-token".into()),
        session_ttl: None,
    })
    .await
    .unwrap();
    let home = Home::new();
    let config = home.file(
        "config.toml",
        &format!(
            "[servers.wrong]\nurl = \"{}\"\nbearer = \"WRONG-TOKEN-SECRET-99\"\n",
            sandbox.url()
        ),
    );
    let r = home
        .run_async(&["--config", config.to_str().unwrap(), "doctor", "wrong"])
        .await;
    assert_eq!(r.code, 1, "{}", r.all());
    let row = r.out.lines().find(|l| l.starts_with("wrong ")).unwrap_or_default();
    // Reachable, but MCP fails.
    assert!(row.contains(" ms") && row.contains("FAIL"), "{}", r.all());
    let line = r
        .out
        .lines()
        .find(|l| l.starts_with("✗ wrong: initialize failed"))
        .unwrap_or_default();
    assert!(line.contains("401") && line.contains("To fix:"), "{}", r.all());
    assert!(!r.all().contains("WRONG-TOKEN-SECRET-99"), "{}", r.all());
    sandbox.shutdown().await;
}

#[test]
fn an_unknown_server_is_a_usage_error() {
    let home = Home::new();
    let config = home.file("config.toml", SANDBOX);
    let r = home.run(&["--config", config.to_str().unwrap(), "doctor", "sbb"]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.err.contains("Did you mean `sb`"), "{}", r.all());
}

#[test]
fn a_broken_config_file_fails_the_doctor() {
    let home = Home::new();
    let config = home.file("config.toml", "[servers.a]\nurl = \"http://x\"\ntranport = \"sse\"\n");
    let r = home.run(&["--config", config.to_str().unwrap(), "doctor"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.out.contains("config.toml:3,") && r.out.contains("To fix:"),
        "{}",
        r.all()
    );
}

#[tokio::test]
async fn an_error_page_echoing_the_request_shows_doctor_no_configured_value() {
    // Every answer is a 500 whose body repeats the request's query and headers.
    let app = axum::Router::new().fallback(|uri: axum::http::Uri, headers: axum::http::HeaderMap| async move {
        let mut echo = format!("you sent {uri}");
        for (k, v) in &headers {
            echo.push_str(&format!("; {k}: {}", String::from_utf8_lossy(v.as_bytes())));
        }
        (axum::http::StatusCode::INTERNAL_SERVER_ERROR, echo)
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let home = Home::new();
    let config = home.file(
        "config.toml",
        &format!(
            "[servers.echo]\nurl = \"http://{addr}/mcp?workspace=ws-doctor-1188\"\n\
             headers = {{ X-Team = \"team-doctor-2299\" }}\nquery = {{ region = \"region-doctor-3300\" }}\n"
        ),
    );
    let r = home.run_async(&["--config", config.to_str().unwrap(), "doctor"]).await;
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(r.all().contains("you sent"), "the echo is shown, redacted: {}", r.all());
    for v in ["ws-doctor-1188", "team-doctor-2299", "region-doctor-3300"] {
        assert!(!r.all().contains(v), "{v}: {}", r.all());
    }
}
