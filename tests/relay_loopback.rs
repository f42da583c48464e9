//! The loopback way (`src/remote/loopback/`): the bridge's own HTTP/1.1 to
//! a remote on this machine, through the public surface. The remote here is
//! a scripted MCP server written straight on TCP, so each call can pick how
//! its answer is framed on the wire (a length, chunks cut anywhere, up to the
//! close, after an interim 100, or broken) and the test can count the
//! connections the bridge opens.

mod support;

use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use support::{Bridge, toml_string};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A scripted MCP server on loopback; `accepted` counts its connections,
/// `closed` those it has ended.
struct Scripted {
    url: String,
    accepted: Arc<AtomicUsize>,
    closed: Arc<AtomicUsize>,
}

async fn scripted() -> Scripted {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(AtomicUsize::new(0));
    let (count, ended) = (accepted.clone(), closed.clone());
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let ended = ended.clone();
            tokio::spawn(async move {
                serve_conn(conn).await;
                ended.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    Scripted { url, accepted, closed }
}

/// One request read off the connection: method, and the JSON body if any.
async fn read_request(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<(String, Value)> {
    let mut line = String::new();
    if r.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let method = line.split(' ').next()?.to_string();
    let mut length = 0;
    loop {
        line.clear();
        r.read_line(&mut line).await.ok()?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    r.read_exact(&mut body).await.ok()?;
    Some((method, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

async fn serve_conn(conn: TcpStream) {
    let (r, mut w) = conn.into_split();
    let mut r = BufReader::new(r);
    while let Some((method, msg)) = read_request(&mut r).await {
        if method != "POST" {
            let status = if method == "GET" {
                "405 Method Not Allowed"
            } else {
                "200 OK"
            };
            let head = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
            if w.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            continue;
        }
        let Some(id) = msg.get("id").cloned() else {
            // A notification: accepted, nothing to say.
            let _ = w.write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n").await;
            continue;
        };
        let (result, framing) = match msg["method"].as_str() {
            Some("initialize") => (
                json!({"protocolVersion": msg["params"]["protocolVersion"], "capabilities": {"tools": {}},
                       "serverInfo": {"name": "scripted", "version": "1"}}),
                "length",
            ),
            Some("tools/call") => {
                let args = &msg["params"]["arguments"];
                (
                    json!({"content": [{"type": "text", "text": args["text"]}]}),
                    args["framing"].as_str().unwrap_or("length"),
                )
            }
            _ => (json!({"tools": []}), "length"),
        };
        let answer = json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string();
        if !answer_in(&mut w, framing, &answer).await {
            return; // this framing ends the connection
        }
    }
}

/// Write `answer` framed as `framing`; false when the connection is done.
async fn answer_in(w: &mut tokio::net::tcp::OwnedWriteHalf, framing: &str, answer: &str) -> bool {
    let json_head = |extra: &str| {
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nmcp-session-id: s-1\r\n{extra}content-length: {}\r\n\r\n{answer}",
            answer.len()
        )
    };
    match framing {
        "length" => w.write_all(json_head("").as_bytes()).await.is_ok(),
        "continue" => {
            let wire = format!("HTTP/1.1 100 Continue\r\n\r\n{}", json_head(""));
            w.write_all(wire.as_bytes()).await.is_ok()
        }
        "until-close" => {
            let wire =
                format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{answer}");
            let _ = w.write_all(wire.as_bytes()).await;
            false
        }
        "then-idle-close" => {
            // Kept alive by the head, but closed soon after, as servers
            // close idle connections: the next call must not use it.
            let _ = w.write_all(json_head("").as_bytes()).await;
            tokio::time::sleep(Duration::from_millis(30)).await;
            false
        }
        "sse-pieces" => {
            // One event over several chunks (one with an extension), each
            // written on its own, then the last chunk with a trailer.
            let event = format!("id: 1\nevent: message\ndata: {answer}\n\n");
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
            if w.write_all(head.as_bytes()).await.is_err() {
                return false;
            }
            let (a, rest) = event.split_at(5);
            let (b, c) = rest.split_at(rest.len() / 2);
            for (i, piece) in [a, b, c].into_iter().enumerate() {
                let ext = if i == 1 { ";name=value" } else { "" };
                let chunk = format!("{:x}{ext}\r\n{piece}\r\n", piece.len());
                for half in [&chunk[..chunk.len() / 2], &chunk[chunk.len() / 2..]] {
                    if w.write_all(half.as_bytes()).await.is_err() {
                        return false;
                    }
                    tokio::time::sleep(Duration::from_millis(3)).await;
                }
            }
            w.write_all(b"0\r\nx-done: yes\r\n\r\n").await.is_ok()
        }
        "cut-mid-chunk" => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
            let _ = w
                .write_all(format!("{head}200\r\ndata: {{\"jsonrpc\"").as_bytes())
                .await;
            false
        }
        "not-http" => {
            let _ = w.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\r\n").await;
            false
        }
        other => panic!("unknown framing {other}"),
    }
}

fn config_for(url: &str) -> String {
    format!("[servers.remote]\nurl = {}\n", toml_string(url))
}

async fn echo(b: &mut Bridge, framing: &str, text: &str) -> Value {
    b.request(
        "tools/call",
        json!({"name": "echo", "arguments": {"framing": framing, "text": text}}),
    )
    .await
}

/// Each framing a server may choose is read to the same answer, and a
/// connection the server ended (or spoiled) is never used again.
#[tokio::test]
async fn every_framing_of_a_loopback_answer_is_read() {
    let server = scripted().await;
    let mut b = Bridge::serve(&config_for(&server.url), "remote");
    let init = b.initialize(json!({})).await;
    assert_eq!(init["serverInfo"]["name"], "scripted", "{init}");
    for round in 0..2 {
        for framing in [
            "length",
            "sse-pieces",
            "continue",
            "until-close",
            "then-idle-close",
            "length",
        ] {
            let text = format!("{framing} #{round}: ünïcode \"quoted\"");
            let closed = server.closed.load(Ordering::SeqCst);
            let resp = echo(&mut b, framing, &text).await;
            assert_eq!(resp["result"]["content"][0]["text"], json!(text), "{framing}: {resp}");
            if framing == "then-idle-close" {
                // The next call comes once the server has closed this one.
                support::wait_until("the server to close the idle connection", || {
                    server.closed.load(Ordering::SeqCst) > closed
                })
                .await;
            }
        }
    }
}

/// A broken answer (cut in the middle of a chunk, or not HTTP at all) is an
/// error for that call alone, naming the server; the next call goes through.
#[tokio::test]
async fn a_broken_loopback_answer_fails_only_its_call() {
    let server = scripted().await;
    let mut b = Bridge::serve(&config_for(&server.url), "remote");
    b.initialize(json!({})).await;
    for framing in ["cut-mid-chunk", "not-http"] {
        let resp = echo(&mut b, framing, "lost").await;
        let message = resp["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("server `remote`"), "{framing}: {resp}");
        let after = echo(&mut b, "length", "still here").await;
        assert_eq!(
            after["result"]["content"][0]["text"], "still here",
            "after {framing}: {after}"
        );
    }
}

/// Sequential calls share one kept-alive connection: a pool that lost its
/// connections would open one per request.
#[tokio::test]
async fn sequential_calls_share_one_connection() {
    let server = scripted().await;
    let mut b = Bridge::serve(&config_for(&server.url), "remote");
    b.initialize(json!({})).await;
    for i in 0..20 {
        let framing = if i % 2 == 0 { "length" } else { "sse-pieces" };
        let resp = echo(&mut b, framing, &format!("call {i}")).await;
        assert_eq!(resp["result"]["content"][0]["text"], format!("call {i}"), "{resp}");
    }
    let opened = server.accepted.load(Ordering::SeqCst);
    assert!(opened <= 2, "{opened} connections for 22 requests");
}

/// A connection idle for longer than servers keep theirs (Node.js and
/// uvicorn close them after 5 s) is not used again: the next call gets a
/// new one instead of racing the server's close.
#[tokio::test]
async fn a_connection_idle_for_seconds_is_not_reused() {
    let server = scripted().await;
    let mut b = Bridge::serve(&config_for(&server.url), "remote");
    b.initialize(json!({})).await;
    let first = echo(&mut b, "length", "before").await;
    assert_eq!(first["result"]["content"][0]["text"], "before", "{first}");
    let opened = server.accepted.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let after = echo(&mut b, "length", "after").await;
    assert_eq!(after["result"]["content"][0]["text"], "after", "{after}");
    assert_eq!(
        server.accepted.load(Ordering::SeqCst),
        opened + 1,
        "a new connection after the pause"
    );
}
