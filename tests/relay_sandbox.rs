//! The relay against the sandbox provider, through the public surface: the
//! test spawns `mcp-bridge serve`, speaks stdio to it, and points it at a
//! sandbox it starts itself on loopback (in this process, so it can look at
//! what the sandbox received, or as a separate `mcp-bridge sandbox` process
//! it can kill and restart).

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::{Bridge, free_port, sandbox, sandbox_with, spawn_sandbox_on, toml_string};

const CAPS: fn() -> Value = || json!({"elicitation": {}, "sampling": {}, "roots": {"listChanged": true}});

fn config_for(url: &str, extra: &str) -> String {
    format!("[servers.remote]\nurl = {}\n{extra}\n", toml_string(url))
}

fn text(result: &Value) -> String {
    result["content"][0]["text"].as_str().unwrap_or_default().to_string()
}

async fn call(bridge: &mut Bridge, tool: &str, args: Value) -> Value {
    bridge
        .request_ok("tools/call", json!({"name": tool, "arguments": args}))
        .await
}

#[tokio::test]
async fn builtin_sandbox_provider_initialize_list_call() {
    let mut b = Bridge::serve("[servers.sbx]\nprovider = \"sandbox\"\n", "sbx");
    let init = b.initialize(CAPS()).await;
    assert_eq!(init["serverInfo"]["name"], "mcp-bridge-sandbox");
    let tools = b.request_ok("tools/list", json!({})).await;
    let names: Vec<&str> = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for want in ["chat_list_channels", "chat_send_message", "progress_demo", "ask_user"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let sent = call(
        &mut b,
        "chat_send_message",
        json!({"channel": "general", "text": "hi there"}),
    )
    .await;
    let id = sent["structuredContent"]["message_id"]
        .as_str()
        .expect("message id")
        .to_string();
    let read = call(&mut b, "chat_read_messages", json!({"channel": "general"})).await;
    assert!(
        read.to_string().contains(&id) && read.to_string().contains("hi there"),
        "{read}"
    );
}

#[tokio::test]
async fn injects_the_bearer_and_session_headers() {
    let sbx = sandbox_with(Some("tok-injected-123"), None).await;
    let mut b = Bridge::serve(&config_for(&sbx.url(), "bearer = \"tok-injected-123\""), "remote");
    b.initialize(CAPS()).await;
    call(&mut b, "chat_list_channels", json!({})).await;
    let reqs = sbx.requests();
    let posts: Vec<_> = reqs.iter().filter(|r| r.http_method == "POST").collect();
    assert!(posts.len() >= 3, "{reqs:?}");
    assert!(
        posts
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer tok-injected-123"))
    );
    // The bridge's own server/discover (which era the sandbox speaks) comes
    // before any session; every message of the client's after initialize
    // is in the session.
    let after_init: Vec<_> = posts
        .iter()
        .filter(|r| !matches!(r.rpc_method.as_deref(), Some("initialize" | "server/discover")))
        .collect();
    assert!(
        after_init
            .iter()
            .all(|r| r.session_id.is_some() && r.protocol_version.as_deref() == Some("2025-11-25")),
        "{reqs:?}"
    );
}

#[tokio::test]
async fn wrong_token_gives_a_clear_error_without_the_token() {
    let sbx = sandbox_with(Some("the-right-token"), None).await;
    let mut b = Bridge::serve(&config_for(&sbx.url(), "bearer = \"a-wrong-token-xyz\""), "remote");
    let resp = b
        .request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
        )
        .await;
    let msg = resp["error"]["message"].as_str().expect("error").to_string();
    assert!(
        msg.contains("`remote`") && msg.contains("401") && msg.contains("bearer"),
        "{msg}"
    );
    assert!(!msg.contains("a-wrong-token-xyz") && !b.stderr_text().contains("a-wrong-token-xyz"));
}

#[tokio::test]
async fn progress_arrives_before_the_result() {
    let sbx = sandbox().await;
    let mut b = Bridge::serve(&config_for(&sbx.url(), ""), "remote");
    b.initialize(CAPS()).await;
    let resp = b
        .request("tools/call", json!({"name": "progress_demo", "arguments": {"steps": 4, "delay_ms": 10}, "_meta": {"progressToken": "p-1"}}))
        .await;
    assert_eq!(text(&resp["result"]), "Completed 4 steps.");
    let mut seen = vec![];
    while let Some(n) = b.next_other() {
        assert_eq!(n["method"], "notifications/progress");
        assert_eq!(n["params"]["progressToken"], "p-1");
        seen.push(n["params"]["progress"].as_f64().unwrap());
    }
    assert_eq!(seen, vec![1.0, 2.0, 3.0, 4.0]);
}

#[tokio::test]
async fn server_to_client_requests_are_answered_by_the_client() {
    let sbx = sandbox().await;
    let mut b = Bridge::serve(&config_for(&sbx.url(), ""), "remote");
    b.initialize(CAPS()).await;
    let id = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "ask_user", "arguments": {"question": "Colour?"}}}))
        .await;
    let ask = b.next_other_timeout(Duration::from_secs(10)).await;
    assert_eq!(ask["method"], "elicitation/create", "{ask}");
    assert_eq!(ask["params"]["message"], "Colour?");
    b.respond(&ask["id"], json!({"action": "accept", "content": {"answer": "teal"}}))
        .await;
    let resp = b.wait_response(&id, Duration::from_secs(10)).await;
    assert_eq!(text(&resp["result"]), "The user answered: teal");

    let id = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "sample_llm", "arguments": {"prompt": "Say hi"}}}))
        .await;
    let sample = b.next_other_timeout(Duration::from_secs(10)).await;
    assert_eq!(sample["method"], "sampling/createMessage", "{sample}");
    b.respond(
        &sample["id"],
        json!({"role": "assistant", "content": {"type": "text", "text": "hi from the model"}, "model": "test-model"}),
    )
    .await;
    let resp = b.wait_response(&id, Duration::from_secs(10)).await;
    assert!(resp["result"].to_string().contains("hi from the model"), "{resp}");
}

#[tokio::test]
async fn a_slow_call_does_not_block_a_fast_one() {
    let sbx = sandbox().await;
    let mut b = Bridge::serve(&config_for(&sbx.url(), ""), "remote");
    b.initialize(CAPS()).await;
    // The slow call waits on the client: it asks a question, and it cannot
    // end before the client answers.
    let slow = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": slow, "method": "tools/call", "params": {"name": "ask_user", "arguments": {"question": "Slow?"}}}))
        .await;
    let ask = b.next_other_timeout(Duration::from_secs(10)).await;
    assert_eq!(ask["method"], "elicitation/create", "{ask}");
    let fast = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": fast, "method": "tools/call", "params": {"name": "chat_list_channels", "arguments": {}}}))
        .await;
    let first = b.recv_timeout(Duration::from_secs(10)).await;
    assert_eq!(first["id"], fast, "the fast call must be answered first: {first}");
    b.respond(&ask["id"], json!({"action": "accept", "content": {"answer": "done"}}))
        .await;
    let second = b.wait_response(&slow, Duration::from_secs(10)).await;
    assert_eq!(text(&second["result"]), "The user answered: done");
}

#[tokio::test]
async fn cancellation_reaches_the_remote_and_nothing_hangs() {
    let sbx = sandbox().await;
    let mut b = Bridge::serve(&config_for(&sbx.url(), ""), "remote");
    b.initialize(CAPS()).await;
    // A call that would run for an hour, cancelled once it runs at the remote.
    let id = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "slow_echo", "arguments": {"text": "x", "delay_ms": 3_600_000}}}))
        .await;
    support::wait_for_rpc(&sbx, "tools/call", 1).await;
    b.notify(
        "notifications/cancelled",
        json!({"requestId": id, "reason": "user pressed stop"}),
    )
    .await;
    support::wait_for_rpc(&sbx, "notifications/cancelled", 1).await;
    // The bridge keeps working, and sends nothing for the cancelled request.
    let ok = call(&mut b, "chat_list_channels", json!({})).await;
    assert!(text(&ok).contains("#general"));
    let fenced = b.fence().await;
    assert!(fenced.is_empty(), "{fenced:?}");
    // And stdin closing does not wait for the cancelled call: the bridge
    // closes stdout and exits (long before the hour is up), and it never
    // answered the cancelled call.
    let rest = b.close_and_read_rest().await;
    assert!(Bridge::answers_to(&rest, &id).is_empty(), "{rest:?}");
    assert!(b.wait_exit(support::SIGNAL_TIMEOUT).await.success());
}

#[tokio::test]
async fn session_expiry_mid_conversation_is_invisible() {
    let sbx = sandbox().await;
    let mut b = Bridge::serve(&config_for(&sbx.url(), ""), "remote");
    b.initialize(CAPS()).await;
    call(
        &mut b,
        "chat_send_message",
        json!({"channel": "random", "text": "before"}),
    )
    .await;
    let ids = sbx.session_ids().await;
    assert_eq!(ids.len(), 1);
    assert!(sbx.expire_session(&ids[0]).await);
    // Several calls at once all see the dead session; one re-initialise serves them all.
    let a = b.next_id();
    let c = b.next_id();
    for id in [&a, &c] {
        b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "chat_read_messages", "arguments": {"channel": "random"}}}))
            .await;
    }
    for id in [&a, &c] {
        let r = b.wait_response(id, Duration::from_secs(10)).await;
        assert!(r["result"].to_string().contains("before"), "{r}");
    }
    assert!(b.unread().is_empty(), "the client saw extra messages: {:?}", b.unread());
    let inits = sbx
        .requests()
        .iter()
        .filter(|r| r.rpc_method.as_deref() == Some("initialize"))
        .count();
    assert_eq!(inits, 2, "one initialize, one replay");
    assert_eq!(sbx.session_ids().await.len(), 1);
}

#[tokio::test]
async fn idle_session_ttl_expiry_is_invisible() {
    let sbx = sandbox_with(None, Some(Duration::from_millis(400))).await;
    let mut b = Bridge::serve(&config_for(&sbx.url(), ""), "remote");
    b.initialize(CAPS()).await;
    call(&mut b, "chat_list_channels", json!({})).await;
    support::wait_until_async("the idle session to expire", || async {
        sbx.session_ids().await.is_empty()
    })
    .await;
    let r = call(&mut b, "chat_list_channels", json!({})).await;
    assert!(text(&r).contains("#general"));
    assert!(
        sbx.requests().iter().any(|r| r.status == 404),
        "the session should have expired: {:?}",
        sbx.requests()
    );
}

#[tokio::test]
async fn remote_restart_between_calls() {
    let port = free_port();
    let (mut remote, _) = spawn_sandbox_on(port, None);
    let mut b = Bridge::serve(&config_for(&format!("http://127.0.0.1:{port}/mcp"), ""), "remote");
    b.initialize(CAPS()).await;
    call(
        &mut b,
        "chat_send_message",
        json!({"channel": "general", "text": "one"}),
    )
    .await;
    remote.kill().unwrap();
    remote.wait().unwrap();
    let _remote = spawn_sandbox_on(port, None);
    let r = call(&mut b, "chat_list_channels", json!({})).await;
    assert!(text(&r).contains("#general"), "{r}");
    assert!(b.unread().is_empty(), "{:?}", b.unread());
}

#[tokio::test]
async fn malformed_lines_get_parse_errors_and_the_bridge_goes_on() {
    let sbx = sandbox().await;
    let mut b = Bridge::serve(&config_for(&sbx.url(), ""), "remote");
    b.send_raw("this is not json").await;
    let e = b.recv_timeout(Duration::from_secs(5)).await;
    assert_eq!(e["error"]["code"], -32700);
    assert_eq!(e["id"], Value::Null);
    b.send_raw("{\"jsonrpc\":\"2.0\",\"id\":7}").await;
    let e = b.recv_timeout(Duration::from_secs(5)).await;
    assert_eq!((e["id"].clone(), e["error"]["code"].clone()), (json!(7), json!(-32600)));
    b.send_bytes(b"\xff\xfe\n").await;
    assert_eq!(b.recv_timeout(Duration::from_secs(5)).await["error"]["code"], -32700);
    b.initialize(CAPS()).await;
    assert!(text(&call(&mut b, "chat_list_channels", json!({})).await).contains("#general"));
}

#[tokio::test]
async fn stdin_close_finishes_in_flight_requests_then_exits_0() {
    let sbx = sandbox().await;
    let mut b = Bridge::serve(&config_for(&sbx.url(), ""), "remote");
    b.initialize(CAPS()).await;
    let id = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "slow_echo", "arguments": {"text": "last words", "delay_ms": 700}}}))
        .await;
    b.close_stdin();
    let r = b.wait_response(&id, Duration::from_secs(10)).await;
    assert_eq!(text(&r["result"]), "last words");
    b.expect_eof(Duration::from_secs(10)).await;
    assert!(b.wait_exit(Duration::from_secs(10)).await.success());
    assert!(
        sbx.requests().iter().any(|r| r.http_method == "DELETE"),
        "no DELETE at exit"
    );
}

#[tokio::test]
async fn unreachable_remote_and_timeouts_get_errors_naming_the_server() {
    let port = free_port();
    let mut b = Bridge::serve(&config_for(&format!("http://127.0.0.1:{port}/mcp"), ""), "remote");
    let r = b
        .request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
        )
        .await;
    let msg = r["error"]["message"].as_str().unwrap();
    assert!(msg.contains("`remote`") && msg.contains("cannot reach"), "{msg}");
    // What to do about it: the config key to check and the command that checks.
    assert!(
        msg.contains("To fix: check `url` in [servers.remote]") && msg.contains("`mcp-bridge doctor remote`"),
        "{msg}"
    );

    let sbx = sandbox().await;
    let mut b = Bridge::serve(&config_for(&sbx.url(), "timeout = \"1s\""), "remote");
    b.initialize(CAPS()).await;
    let r = b
        .request(
            "tools/call",
            json!({"name": "slow_echo", "arguments": {"text": "x", "delay_ms": 5000}}),
        )
        .await;
    assert_eq!(r["error"]["code"], -32001, "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("timeout"), "{r}");
}

#[tokio::test]
async fn closing_stdin_while_the_server_waits_on_the_client_does_not_hang() {
    let sbx = sandbox().await;
    let mut b = Bridge::serve(&config_for(&sbx.url(), ""), "remote");
    b.initialize(CAPS()).await;
    let id = b.next_id();
    b.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "ask_user", "arguments": {"question": "Still there?"}}}))
        .await;
    let ask = b.next_other_timeout(Duration::from_secs(10)).await;
    assert_eq!(ask["method"], "elicitation/create");
    b.close_stdin();
    // The bridge tells the remote the client is gone, so the call ends now
    // rather than at the 5-minute timeout: the remote gets the bridge's
    // error answer to its question, and the call its error result.
    let r = b.wait_response(&id, support::SIGNAL_TIMEOUT).await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert!(text(&r["result"]).contains("elicitation failed"), "{r}");
    assert!(b.wait_exit(support::SIGNAL_TIMEOUT).await.success());
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_ends_the_session_cleanly() {
    let sbx = sandbox().await;
    let mut b = Bridge::serve(&config_for(&sbx.url(), ""), "remote");
    b.initialize(CAPS()).await;
    call(&mut b, "chat_list_channels", json!({})).await;
    let pid = b.pid().unwrap();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    assert!(b.wait_exit(Duration::from_secs(10)).await.success());
    assert!(
        sbx.requests().iter().any(|r| r.http_method == "DELETE"),
        "no DELETE after SIGTERM"
    );
}

/// `serve remote` for the server at `url`, with `proxy` as the environment's
/// HTTP and catch-all proxy (and no `NO_PROXY`).
fn serve_behind_proxy(url: &str, proxy: &str) -> Bridge {
    // A remote elsewhere over plain http is taken only when the entry says so.
    let (dir, config) = support::write_config(&config_for(url, "allow_http = true"));
    let mut cmd = Bridge::command();
    cmd.env("HTTP_PROXY", proxy)
        .env("http_proxy", proxy)
        .env("ALL_PROXY", proxy)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .arg("--config")
        .arg(&config)
        .args(["serve", "remote"]);
    let mut b = Bridge::spawn(cmd);
    b.keep(dir);
    b
}

#[tokio::test]
async fn a_proxy_in_the_environment_is_not_used_for_loopback_servers() {
    let sbx = sandbox().await;
    // A proxy that does not exist: using it would fail every request.
    let mut b = serve_behind_proxy(&sbx.url(), "http://127.0.0.1:9");
    b.initialize(CAPS()).await;
    assert!(text(&call(&mut b, "chat_list_channels", json!({})).await).contains("#general"));
}

/// A server elsewhere (not on this machine) is reached through the proxy
/// the environment names, by reqwest (`remote/loopback/` is only for
/// loopback). The proxy here is a plain HTTP forward proxy on loopback that
/// passes each request on to the sandbox and notes the host it was for.
#[tokio::test]
async fn a_server_elsewhere_is_reached_through_the_environments_proxy() {
    use std::sync::{Arc, Mutex};
    let sbx = sandbox().await;
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let (upstream, log) = (sbx.url(), seen.clone());
    let http = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let (upstream, log, http) = (upstream.clone(), log.clone(), http.clone());
        async move {
            log.lock().unwrap().push(req.uri().host().unwrap_or("").to_string());
            let (parts, body) = req.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            let mut fwd = http.request(parts.method, &upstream).body(body);
            for (k, v) in parts
                .headers
                .iter()
                .filter(|(k, _)| *k != "host" && !k.as_str().starts_with("proxy-"))
            {
                fwd = fwd.header(k, v);
            }
            let resp = fwd.send().await.unwrap();
            let mut out = axum::http::Response::builder().status(resp.status());
            for (k, v) in resp.headers() {
                out = out.header(k, v);
            }
            out.body(axum::body::Body::from_stream(resp.bytes_stream())).unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut b = serve_behind_proxy("http://mcp.remote.test/mcp", &proxy);
    b.initialize(CAPS()).await;
    assert!(text(&call(&mut b, "chat_list_channels", json!({})).await).contains("#general"));
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.len() >= 3 && seen.iter().all(|h| h == "mcp.remote.test"),
        "{seen:?}"
    );
}

/// A TCP forwarder to `upstream` that counts the connections the bridge
/// closes, and holds back a chunked body's final `0\r\n\r\n` for a moment,
/// so an answer always arrives before the end of its response stream.
async fn closing_counter(upstream: std::net::SocketAddr) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let closed = std::sync::Arc::new(AtomicUsize::new(0));
    let count = closed.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut cr, &mut sw).await;
                    count.fetch_add(1, Ordering::SeqCst);
                    let _ = sw.shutdown().await;
                });
                let mut buf = vec![0u8; 64 * 1024];
                const END: &[u8] = b"0\r\n\r\n";
                while let Ok(n) = sr.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let data = &buf[..n];
                    let (head, tail) = if data.len() > END.len() && data.ends_with(END) {
                        data.split_at(data.len() - END.len())
                    } else {
                        (data, &[][..])
                    };
                    if cw.write_all(head).await.is_err() {
                        break;
                    }
                    if !tail.is_empty() {
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        if cw.write_all(tail).await.is_err() {
                            break;
                        }
                    }
                }
            });
        }
    });
    (format!("http://{addr}/mcp"), closed)
}

/// The rest of a response stream is read after its answer, so its pooled
/// connection is kept, not closed and replaced by a new one for each call.
#[tokio::test]
async fn sequential_calls_keep_their_connections() {
    let sbx = sandbox().await;
    let upstream: std::net::SocketAddr = sbx
        .url()
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .parse()
        .expect("sandbox address");
    let (url, closed) = closing_counter(upstream).await;
    // The sandbox accepts only its own Host (DNS-rebinding protection).
    let host = format!("headers = {{ Host = \"{upstream}\" }}");
    let mut b = Bridge::serve(&config_for(&url, &host), "remote");
    b.initialize(CAPS()).await;
    for i in 0..40 {
        let r = call(&mut b, "slow_echo", json!({"text": format!("n{i}"), "delay_ms": 0})).await;
        assert!(text(&r).contains(&format!("n{i}")), "{r}");
    }
    // One more round trip (a ping) lets a close after the last call show.
    assert!(b.fence().await.is_empty());
    let n = closed.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(n, 0, "the bridge closed {n} connections during 40 sequential calls");
    // The count does see a close: the bridge's own, when it exits.
    b.close_stdin();
    assert!(b.wait_exit(support::SIGNAL_TIMEOUT).await.success());
    support::wait_until("the forwarder to see the bridge close its connections", || {
        closed.load(std::sync::atomic::Ordering::SeqCst) >= 1
    })
    .await;
}

/// A server on this machine that moved: every request to it is answered
/// `307 Temporary Redirect` to the sandbox. The bridge sends to a loopback
/// remote its own lean way (`remote/loopback/`), which leaves redirects to
/// reqwest: one to another origin (here another port) is not followed, and
/// the error says which key to change.
#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed_and_the_error_says_to_set_url() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    // The request carries the configured credentials: they stay with the
    // origin they were configured for, even a loopback one on another port.
    let sbx = sandbox().await;
    let redirected = Arc::new(AtomicUsize::new(0));
    let (target, count) = (sbx.url(), redirected.clone());
    let app = axum::Router::new().fallback(move || {
        count.fetch_add(1, Ordering::SeqCst);
        let target = target.clone();
        async move { (axum::http::StatusCode::TEMPORARY_REDIRECT, [("location", target)]) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let old = format!("http://{}/old-mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut b = Bridge::serve(&config_for(&old, ""), "remote");
    let init = b
        .request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
        )
        .await;
    let message = init["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("HTTP 307") && message.contains("set `url` in [servers.remote]"),
        "{init}"
    );
    assert!(redirected.load(Ordering::SeqCst) >= 1);
    assert!(
        sbx.requests().iter().all(|r| r.http_method != "POST"),
        "the request followed the redirect to another origin"
    );
}
