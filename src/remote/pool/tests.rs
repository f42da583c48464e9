//! The loopback way against a server scripted byte by byte on TCP: each
//! framing of an answer, broken answers, the request as it goes out, and
//! how connections are kept, reused and let go.

use super::Pool;
use crate::remote::outgoing::Outgoing;
use crate::remote::reply::Reply;
use futures::StreamExt;
use http::{HeaderMap, HeaderName, Method};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use url::Url;

/// What the server writes for one request.
enum Piece {
    Bytes(&'static [u8]),
    /// Wait until the test says go on.
    Wait(Arc<Notify>),
    /// Close the connection (after this long).
    Close(Duration),
}

/// A server that answers each request, on whatever connection it comes,
/// with the next script; it keeps each request's text and counts its
/// connections.
struct Scripted {
    url: Url,
    accepted: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

async fn scripted(scripts: Vec<Vec<Piece>>) -> Scripted {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/mcp", listener.local_addr().unwrap())).unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let scripts = Arc::new(Mutex::new(VecDeque::from(scripts)));
    let (count, seen) = (accepted.clone(), requests.clone());
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve(conn, scripts.clone(), seen.clone()));
        }
    });
    Scripted {
        url,
        accepted,
        requests,
    }
}

async fn serve(mut conn: TcpStream, scripts: Arc<Mutex<VecDeque<Vec<Piece>>>>, seen: Arc<Mutex<Vec<String>>>) {
    let mut buf = Vec::new();
    loop {
        let Some(request) = read_request(&mut conn, &mut buf).await else {
            return;
        };
        seen.lock().unwrap().push(request);
        let Some(script) = scripts.lock().unwrap().pop_front() else {
            return;
        };
        for piece in script {
            match piece {
                Piece::Bytes(b) => {
                    if conn.write_all(b).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Piece::Wait(go) => go.notified().await,
                Piece::Close(after) => {
                    tokio::time::sleep(after).await;
                    return;
                }
            }
        }
    }
}

/// One request's head and body, as text.
async fn read_request(conn: &mut TcpStream, buf: &mut Vec<u8>) -> Option<String> {
    let end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let mut more = [0u8; 4096];
        let n = conn.read(&mut more).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&more[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map_or(0, |n| n.trim().parse().unwrap());
    while buf.len() < end + length {
        let mut more = [0u8; 4096];
        let n = conn.read(&mut more).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&more[..n]);
    }
    let request = String::from_utf8_lossy(&buf[..end + length]).into_owned();
    buf.drain(..end + length);
    Some(request)
}

fn bytes(b: &'static [u8]) -> Piece {
    Piece::Bytes(b)
}

const OK_JSON: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";

fn way(url: &Url, idle: Duration) -> Pool {
    Pool::to(url, Duration::from_secs(5), idle).expect("a URL no proxy applies to")
}

fn post(url: &Url, body: &'static str) -> Outgoing<'static> {
    Outgoing::new(Method::POST, Cow::Owned(url.clone()), &HeaderMap::new()).body(body)
}

async fn send(lo: &Pool, req: Outgoing<'_>) -> Reply {
    lo.send(req).await.expect("sent").expect("answered on the loopback way")
}

async fn body_of(reply: Reply) -> Result<Vec<u8>, String> {
    reply.bytes(usize::MAX).await.map(|b| b.to_vec()).map_err(|e| e.text())
}

#[tokio::test]
async fn every_framing_is_read_to_its_body() {
    let server = scripted(vec![
        vec![bytes(OK_JSON)],
        // Chunked, cut everywhere, with an extension and a trailer.
        vec![
            bytes(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r"),
            bytes(b"\nhel"),
            bytes(b"lo\r\n7;ext=1\r\n, wo"),
            bytes(b"rld\r\n0\r\nx-trailer: 1\r\n\r\n"),
        ],
        // An interim 100 before the answer.
        vec![bytes(b"HTTP/1.1 100 Continue\r\n\r\n"), bytes(OK_JSON)],
        // HTTP/1.0 asking to be kept alive.
        vec![bytes(
            b"HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 3\r\n\r\nabc",
        )],
        // Nothing to read.
        vec![bytes(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")],
        vec![bytes(b"HTTP/1.1 204 No Content\r\n\r\n")],
        // Up to the close.
        vec![
            bytes(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil "),
            bytes(b"the close"),
            Piece::Close(Duration::ZERO),
        ],
    ])
    .await;
    let lo = way(&server.url, Duration::from_secs(60));
    let want: [(u16, &[u8]); 7] = [
        (200, b"{}"),
        (200, b"hello, world"),
        (200, b"{}"),
        (200, b"abc"),
        (202, b""),
        (204, b""),
        (200, b"until the close"),
    ];
    for (i, (status, body)) in want.into_iter().enumerate() {
        let reply = send(&lo, post(&server.url, "{}")).await;
        assert_eq!(reply.status().as_u16(), status, "answer {i}");
        assert_eq!(body_of(reply).await.unwrap(), body, "answer {i}");
    }
    // All but the last on one connection.
    assert_eq!(server.accepted.load(Ordering::SeqCst), 1);
}

/// An SSE answer reaches the reader piece by piece, as the server writes
/// it, not once it has ended.
#[tokio::test]
async fn an_event_stream_is_read_as_it_arrives() {
    let go = Arc::new(Notify::new());
    let server = scripted(vec![vec![
        bytes(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"),
        bytes(b"f\r\ndata: {\"a\":1}\n\n\r\n"),
        Piece::Wait(go.clone()),
        bytes(b"f\r\ndata: {\"b\":2}\n\n\r\n0\r\n\r\n"),
    ]])
    .await;
    let lo = way(&server.url, Duration::from_secs(60));
    let reply = send(&lo, post(&server.url, "{}")).await;
    assert_eq!(reply.headers()["content-type"], "text/event-stream");
    let mut body = reply.bytes_stream();
    let first = tokio::time::timeout(Duration::from_secs(5), body.next())
        .await
        .expect("the first event before the server goes on")
        .unwrap()
        .unwrap();
    assert_eq!(&first[..], b"data: {\"a\":1}\n\n");
    go.notify_one();
    let second = body.next().await.unwrap().unwrap();
    assert_eq!(&second[..], b"data: {\"b\":2}\n\n");
    assert!(body.next().await.is_none());
}

/// A broken answer is an error for its request alone; the next one goes
/// through on a new connection.
#[tokio::test]
async fn a_broken_answer_is_an_error_and_the_next_request_goes_through() {
    let broken: Vec<(&str, Vec<Piece>)> = vec![
        (
            "not HTTP",
            vec![bytes(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"), Piece::Close(Duration::ZERO)],
        ),
        (
            "cut in the head",
            vec![bytes(b"HTTP/1.1 200 OK\r\ncontent-le"), Piece::Close(Duration::ZERO)],
        ),
        (
            "two lengths",
            vec![
                bytes(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd"),
                Piece::Close(Duration::ZERO),
            ],
        ),
        (
            "a bad chunk size",
            vec![
                bytes(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n"),
                Piece::Close(Duration::ZERO),
            ],
        ),
        (
            "cut in a chunk",
            vec![
                bytes(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n200\r\ndata: {"),
                Piece::Close(Duration::ZERO),
            ],
        ),
        (
            "cut short of its length",
            vec![
                bytes(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc"),
                Piece::Close(Duration::ZERO),
            ],
        ),
    ];
    let names: Vec<&str> = broken.iter().map(|(n, _)| *n).collect();
    let mut scripts = Vec::new();
    for (_, script) in broken {
        scripts.push(script);
        scripts.push(vec![bytes(OK_JSON)]);
    }
    let server = scripted(scripts).await;
    let lo = way(&server.url, Duration::from_secs(60));
    for name in names {
        let failed = match lo.send(post(&server.url, "{}")).await {
            Err(e) => e,
            Ok(Some(reply)) => body_of(reply).await.expect_err(name),
            Ok(None) => panic!("{name}: left to reqwest"),
        };
        assert!(
            failed.starts_with("error sending request") || failed.starts_with("error reading the response body"),
            "{name}: {failed}"
        );
        assert!(!failed.contains("127.0.0.1"), "{name}: {failed}");
        let after = send(&lo, post(&server.url, "{}")).await;
        assert_eq!(body_of(after).await.unwrap(), b"{}", "after {name}");
    }
}

#[tokio::test]
async fn a_request_goes_out_as_built() {
    let server = scripted(vec![vec![bytes(OK_JSON)], vec![bytes(OK_JSON)], vec![bytes(OK_JSON)]]).await;
    let lo = way(&server.url, Duration::from_secs(60));
    let mut url = server.url.clone();
    url.set_query(Some("k=v"));
    let req = post(&url, "{\"x\":1}").header(HeaderName::from_static("mcp-session-id"), "s-1");
    body_of(send(&lo, req).await).await.unwrap();
    let get = Outgoing::new(Method::GET, Cow::Borrowed(&server.url), &HeaderMap::new());
    body_of(send(&lo, get).await).await.unwrap();
    body_of(send(&lo, post(&server.url, "")).await).await.unwrap();
    let requests: Vec<Request> = server.requests.lock().unwrap().iter().map(|r| Request::of(r)).collect();
    let host = format!("host: 127.0.0.1:{}", server.url.port().unwrap());
    assert_eq!(requests[0].line, "POST /mcp?k=v HTTP/1.1");
    assert_eq!(
        requests[0].headers,
        ["content-length: 7", host.as_str(), "mcp-session-id: s-1"]
    );
    assert_eq!(requests[0].body, "{\"x\":1}");
    assert_eq!(requests[1].line, "GET /mcp HTTP/1.1");
    assert_eq!(requests[1].headers, [host.as_str()]);
    assert_eq!(requests[2].line, "POST /mcp HTTP/1.1");
    assert_eq!(requests[2].headers, ["content-length: 0", host.as_str()]);
    assert_eq!(requests[2].body, "");
    // Another server on this machine (a legacy server's message endpoint
    // may be one): its own host, and its own connections.
    let other = scripted(vec![vec![bytes(OK_JSON)]]).await;
    let mut there = other.url.clone();
    there.set_path("/messages");
    body_of(send(&lo, post(&there, "{}")).await).await.unwrap();
    let request = Request::of(&other.requests.lock().unwrap()[0]);
    assert_eq!(request.line, "POST /messages HTTP/1.1");
    let host = format!("host: 127.0.0.1:{}", other.url.port().unwrap());
    assert_eq!(request.headers, ["content-length: 2", host.as_str()]);
    assert_eq!(server.accepted.load(Ordering::SeqCst), 1);
}

/// A request as the server read it, its header lines sorted.
struct Request {
    line: String,
    headers: Vec<String>,
    body: String,
}

impl Request {
    fn of(text: &str) -> Request {
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let mut lines = head.split("\r\n");
        let line = lines.next().unwrap().to_string();
        let mut headers: Vec<String> = lines.map(str::to_string).collect();
        headers.sort();
        Request {
            line,
            headers,
            body: body.to_string(),
        }
    }
}

/// Sequential requests share one connection; one whose answer was not read
/// whole is not used again.
#[tokio::test]
async fn sequential_requests_share_one_connection() {
    let mut scripts: Vec<Vec<Piece>> = (0..10).map(|_| vec![bytes(OK_JSON)]).collect();
    scripts.push(vec![bytes(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n",
    )]);
    scripts.push(vec![bytes(OK_JSON)]);
    let server = scripted(scripts).await;
    let lo = way(&server.url, Duration::from_secs(60));
    for i in 0..10 {
        let reply = send(&lo, post(&server.url, "{}")).await;
        assert_eq!(body_of(reply).await.unwrap(), b"{}", "request {i}");
    }
    assert_eq!(server.accepted.load(Ordering::SeqCst), 1);
    // Left before its end: that connection goes.
    let mut unfinished = send(&lo, post(&server.url, "{}")).await.bytes_stream();
    assert_eq!(&unfinished.next().await.unwrap().unwrap()[..], b"abc");
    drop(unfinished);
    let reply = send(&lo, post(&server.url, "{}")).await;
    assert_eq!(body_of(reply).await.unwrap(), b"{}");
    assert_eq!(server.accepted.load(Ordering::SeqCst), 2);
}

/// The end of a body that has arrived with its last piece is read at once,
/// with no wait (the bridge reads the rest of a response stream this way
/// after its answer, so the connection goes back to the pool).
#[tokio::test]
async fn the_end_of_a_body_that_has_arrived_is_read_at_once() {
    let server = scripted(vec![
        vec![bytes(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n6\r\ndata: \r\n0\r\n\r\n",
        )],
        vec![bytes(OK_JSON)],
    ])
    .await;
    let lo = way(&server.url, Duration::from_secs(60));
    let mut body = send(&lo, post(&server.url, "{}")).await.bytes_stream();
    assert_eq!(&body.next().await.unwrap().unwrap()[..], b"data: ");
    assert!(
        matches!(futures::FutureExt::now_or_never(body.next()), Some(None)),
        "the end is there"
    );
    drop(body);
    body_of(send(&lo, post(&server.url, "{}")).await).await.unwrap();
    assert_eq!(server.accepted.load(Ordering::SeqCst), 1);
}

/// A body with nothing in it need not be read for its connection to be
/// used again (the answer to a notification).
#[tokio::test]
async fn an_empty_answer_left_unread_keeps_its_connection() {
    let server = scripted(vec![
        vec![bytes(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")],
        vec![bytes(OK_JSON)],
    ])
    .await;
    let lo = way(&server.url, Duration::from_secs(60));
    let reply = send(&lo, post(&server.url, "{}")).await;
    assert_eq!(reply.status().as_u16(), 202);
    drop(reply);
    body_of(send(&lo, post(&server.url, "{}")).await).await.unwrap();
    assert_eq!(server.accepted.load(Ordering::SeqCst), 1);
}

/// Requests in flight together each have a connection of their own, and
/// the connections are all kept for later ones.
#[tokio::test]
async fn concurrent_requests_each_have_a_connection() {
    let server = scripted((0..8).map(|_| vec![bytes(OK_JSON)]).collect()).await;
    let lo = way(&server.url, Duration::from_secs(60));
    for round in 0..2 {
        let calls = (0..4).map(|_| async { body_of(send(&lo, post(&server.url, "{}")).await).await });
        for answer in futures::future::join_all(calls).await {
            assert_eq!(answer.unwrap(), b"{}", "round {round}");
        }
        assert_eq!(server.accepted.load(Ordering::SeqCst), 4, "round {round}");
    }
}

/// A connection idle for longer than the limit is not used again (the
/// bridge's is 4 s, under the 5 s after which Node.js and uvicorn close
/// theirs).
#[tokio::test]
async fn a_connection_idle_past_the_limit_is_not_used() {
    let server = scripted((0..3).map(|_| vec![bytes(OK_JSON)]).collect()).await;
    let lo = way(&server.url, Duration::from_millis(200));
    for pause in [0, 50, 400] {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let reply = send(&lo, post(&server.url, "{}")).await;
        assert_eq!(body_of(reply).await.unwrap(), b"{}");
    }
    assert_eq!(server.accepted.load(Ordering::SeqCst), 2);
}

/// A connection the server closed while it sat idle is not used: the next
/// request gets a new one and its answer.
#[tokio::test]
async fn a_connection_the_server_closed_while_idle_is_not_used() {
    let server = scripted(vec![
        vec![bytes(OK_JSON), Piece::Close(Duration::from_millis(10))],
        vec![bytes(OK_JSON)],
    ])
    .await;
    let lo = way(&server.url, Duration::from_secs(60));
    body_of(send(&lo, post(&server.url, "{}")).await).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let reply = send(&lo, post(&server.url, "{}")).await;
    assert_eq!(body_of(reply).await.unwrap(), b"{}");
    assert_eq!(server.accepted.load(Ordering::SeqCst), 2);
}

/// A redirect is left to reqwest, which follows it (the rule for servers a
/// proxy applies to, also left to reqwest, is `net::proxied`'s, tested
/// there).
#[tokio::test]
async fn a_redirect_is_left_to_reqwest() {
    let server = scripted(vec![vec![bytes(
        b"HTTP/1.1 307 Temporary Redirect\r\nlocation: /elsewhere\r\ncontent-length: 0\r\n\r\n",
    )]])
    .await;
    let pool = way(&server.url, Duration::from_secs(60));
    assert!(pool.send(post(&server.url, "{}")).await.unwrap().is_none());
    let tls = Url::parse("https://127.0.0.1:1/mcp").unwrap();
    assert!(Pool::to(&tls, Duration::from_secs(1), Duration::from_secs(1)).is_some());
    let ftp = Url::parse("ftp://127.0.0.1:1/mcp").unwrap();
    assert!(Pool::to(&ftp, Duration::from_secs(1), Duration::from_secs(1)).is_none());
}

#[tokio::test]
async fn a_refused_connection_is_an_error_naming_no_url() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/mcp", listener.local_addr().unwrap())).unwrap();
    drop(listener);
    let lo = way(&url, Duration::from_secs(60));
    let Err(e) = lo.send(post(&url, "{}")).await else {
        panic!("sent to a closed port")
    };
    assert!(e.starts_with("error sending request: cannot connect"), "{e}");
    assert!(!e.contains("/mcp"), "{e}");
}
