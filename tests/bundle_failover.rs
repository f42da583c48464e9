//! A bundle keeps serving when one of its servers fails: the failed
//! server's tools leave the list (with a logged warning), the others keep
//! working, and when it answers again its tools come back on the next list
//! and the client is told with `notifications/tools/list_changed`. The
//! servers are `mcp-bridge sandbox --port P` processes, killed and
//! restarted on the same port.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::{Bridge, free_port, spawn_sandbox_on, toml_string};

fn port_of(url: &str) -> u16 {
    url::Url::parse(url).unwrap().port().unwrap()
}

fn serve(alpha: &str, beta: &str) -> Bridge {
    let config = format!(
        "[servers.alpha]\nurl = {}\ntimeout = 10\n[servers.beta]\nurl = {}\n",
        toml_string(alpha),
        toml_string(beta)
    );
    let (dir, path) = support::write_config(&config);
    let mut cmd = Bridge::command();
    cmd.arg("--config").arg(&path).args(["serve", "alpha", "beta"]);
    let mut b = Bridge::spawn(cmd);
    b.keep(dir);
    b
}

async fn tool_names(b: &mut Bridge) -> Vec<String> {
    let list = b.request_ok("tools/list", json!({})).await;
    list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

fn has(names: &[String], server: &str) -> bool {
    names.iter().any(|n| n == &format!("{server}__slow_echo"))
}

async fn echo(b: &mut Bridge, tool: &str) -> Value {
    b.request("tools/call", json!({"name": tool, "arguments": {"text": "ping"}}))
        .await
}

/// Waits for a `notifications/tools/list_changed` (other messages kept).
async fn list_changed(b: &mut Bridge) {
    loop {
        let m = b.next_other_timeout(Duration::from_secs(5)).await;
        if m["method"] == "notifications/tools/list_changed" {
            return;
        }
    }
}

#[tokio::test]
async fn a_killed_server_drops_out_and_comes_back_after_restart() {
    let (alpha, alpha_url) = spawn_sandbox_on(0, None);
    let (_beta, beta_url) = spawn_sandbox_on(0, None);
    let port = port_of(&alpha_url);
    let mut b = serve(&alpha_url, &beta_url);
    b.initialize(json!({})).await;
    let names = tool_names(&mut b).await;
    assert!(has(&names, "alpha") && has(&names, "beta"), "{names:?}");

    drop(alpha); // killed
    let names = tool_names(&mut b).await;
    assert!(!has(&names, "alpha") && has(&names, "beta"), "{names:?}");
    let log = b.stderr_text();
    assert!(
        log.contains("alpha") && log.contains("left out until it answers again"),
        "no warning logged:\n{log}"
    );
    let r = echo(&mut b, "beta__slow_echo").await;
    assert_eq!(r["result"]["content"][0]["text"], "ping", "{r}");
    let r = echo(&mut b, "alpha__slow_echo").await;
    assert!(r["error"]["message"].as_str().unwrap_or("").contains("`alpha`"), "{r}");

    let (_alpha, _) = spawn_sandbox_on(port, None);
    let names = tool_names(&mut b).await;
    assert!(has(&names, "alpha") && has(&names, "beta"), "{names:?}");
    list_changed(&mut b).await;
    let r = echo(&mut b, "alpha__slow_echo").await;
    assert_eq!(r["result"]["content"][0]["text"], "ping", "{r}");
}

#[tokio::test]
async fn a_server_down_at_the_start_joins_when_it_comes_up() {
    let port = free_port();
    let (_beta, beta_url) = spawn_sandbox_on(0, None);
    let mut b = serve(&format!("http://127.0.0.1:{port}/mcp"), &beta_url);
    let init = b.initialize(json!({})).await;
    assert_eq!(init["serverInfo"]["name"], "mcp-bridge", "{init}");
    let names = tool_names(&mut b).await;
    assert!(!has(&names, "alpha") && has(&names, "beta"), "{names:?}");

    let (_alpha, _) = spawn_sandbox_on(port, None);
    let names = tool_names(&mut b).await;
    assert!(has(&names, "alpha") && has(&names, "beta"), "{names:?}");
    list_changed(&mut b).await;
    let r = echo(&mut b, "alpha__slow_echo").await;
    assert_eq!(r["result"]["content"][0]["text"], "ping", "{r}");
}
