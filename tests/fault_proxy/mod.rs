//! A fault-injecting HTTP proxy for the fault suite (`tests/fault_*.rs`).
//!
//! It listens on 127.0.0.1 and forwards every request, streaming, to an
//! upstream base URL (the sandbox or an emulator) that a test can change at
//! any time (a remote restarted on another port). A test orders faults with
//! [`FaultProxy::on`]: a rule matches an HTTP method and/or a JSON-RPC
//! method in the request body, fires a given number of times, and either
//! answers a status itself, forwards after a delay, or forwards and cuts the
//! response body in the middle of the SSE event that carries the answer.
//! [`FaultProxy::log`] shows what passed and what was injected; the
//! exchanges' ends ([`FaultProxy::ended`]), the upstream's answers heads
//! ([`FaultProxy::upstream_heads`]) and the JSON-RPC answers the proxy
//! passed back ([`FaultProxy::passed_answer`]) are the signals a test waits
//! on instead of a fixed time.
#![allow(dead_code)] // each fault test crate uses a different subset

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a matching rule does to a request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer this status and JSON body without forwarding.
    Status(u16, &'static str),
    /// Answer this status with a body that echoes the request (its path
    /// and query, and every header), as a careless server's error page does.
    Echo(u16),
    /// Forward after waiting this long.
    Delay(Duration),
    /// Forward once the test calls [`FaultProxy::release`].
    Hold,
    /// Forward, but end the response body half-way through the first SSE
    /// event whose data holds this text (e.g. `"result"`, or
    /// `notifications/progress`).
    CutSse(&'static str),
}

/// Which requests a rule applies to (`None`: any).
#[derive(Clone, Debug, Default)]
pub struct Match {
    pub http: Option<Method>,
    pub rpc: Option<&'static str>,
    /// Only requests carrying this `Mcp-Session-Id`.
    pub session: Option<String>,
}

impl Match {
    pub fn rpc(method: &'static str) -> Match {
        Match {
            http: Some(Method::POST),
            rpc: Some(method),
            session: None,
        }
    }
    pub fn http(method: Method) -> Match {
        Match {
            http: Some(method),
            ..Match::default()
        }
    }
    /// Every request of one session (the remote forgot it).
    pub fn session(id: &str) -> Match {
        Match {
            session: Some(id.to_string()),
            ..Match::default()
        }
    }
    pub fn any_post() -> Match {
        Match::http(Method::POST)
    }
}

struct Rule {
    matches: Match,
    fault: Fault,
    times: usize,
}

/// One request as the proxy saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub http: String,
    pub rpc: Option<String>,
    pub last_event_id: Option<String>,
    pub session: Option<String>,
    /// The fault injected, if any.
    pub fault: Option<String>,
}

#[derive(Default)]
struct Inner {
    upstream: Mutex<String>,
    rules: Mutex<Vec<Rule>>,
    log: Mutex<Vec<Seen>>,
    /// The JSON-RPC method of each request whose upstream answer head came.
    heads: Mutex<Vec<Option<String>>>,
    /// The JSON-RPC method of each request whose exchange is over: answered
    /// in full, failed, or dropped by the bridge.
    ended: Mutex<Vec<Option<String>>>,
    /// The ids of the JSON-RPC answers seen in upstream bodies on their way
    /// back (whether or not the bridge was still there to take them).
    answers: Mutex<Vec<Value>>,
    /// How many times the test has released the held requests.
    releases: tokio::sync::watch::Sender<u64>,
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    pub url: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Proxies `http://127.0.0.1:PORT/<path>` to `upstream` + `<path>`
    /// (`upstream` is a base such as `http://127.0.0.1:4000`).
    pub async fn start(upstream: &str) -> FaultProxy {
        let inner = Arc::new(Inner::default());
        *inner.upstream.lock().unwrap() = upstream.trim_end_matches('/').to_string();
        let client = reqwest::Client::builder().no_proxy().build().expect("proxy client");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(forward).with_state((inner.clone(), client));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FaultProxy { url, inner, task }
    }

    /// Points the proxy at another upstream base URL.
    pub fn set_upstream(&self, upstream: &str) {
        *self.inner.upstream.lock().unwrap() = upstream.trim_end_matches('/').to_string();
    }

    /// Orders `fault` for the next `times` requests that match.
    pub fn on(&self, matches: Match, fault: Fault, times: usize) {
        self.inner.rules.lock().unwrap().push(Rule { matches, fault, times });
    }

    /// Every request so far, oldest first.
    pub fn log(&self) -> Vec<Seen> {
        self.inner.log.lock().unwrap().clone()
    }

    /// How many requests got a fault injected.
    pub fn injected(&self) -> usize {
        self.log().iter().filter(|s| s.fault.is_some()).count()
    }

    /// Lets every request held so far ([`Fault::Hold`]) go on.
    pub fn release(&self) {
        self.inner.releases.send_modify(|n| *n += 1);
    }

    /// How many requests with JSON-RPC method `rpc` reached the proxy.
    pub fn seen(&self, rpc: &str) -> usize {
        self.log().iter().filter(|s| s.rpc.as_deref() == Some(rpc)).count()
    }

    /// How many `rpc` requests the upstream has started to answer (for a
    /// `tools/call`: the tool runs, its stream is open).
    pub fn upstream_heads(&self, rpc: &str) -> usize {
        count(&self.inner.heads, rpc)
    }

    /// How many `rpc` exchanges are over at the proxy: answered in full,
    /// failed, or given up by the bridge.
    pub fn ended(&self, rpc: &str) -> usize {
        count(&self.inner.ended, rpc)
    }

    /// Whether an upstream answer to `id` has passed through the proxy.
    pub fn passed_answer(&self, id: &Value) -> bool {
        self.inner.answers.lock().unwrap().contains(id)
    }
}

fn count(list: &Mutex<Vec<Option<String>>>, rpc: &str) -> usize {
    list.lock()
        .unwrap()
        .iter()
        .filter(|m| m.as_deref() == Some(rpc))
        .count()
}

/// One exchange at the proxy: reads the JSON-RPC answers in the upstream's
/// body as it passes, and records the exchange's end when dropped (with the
/// body, or with the handler if the bridge went away first).
struct Exchange {
    inner: Arc<Inner>,
    rpc: Option<String>,
    line: Vec<u8>,
    json_body: bool,
}

impl Exchange {
    fn observe(&mut self, chunk: &[u8]) {
        for &byte in chunk {
            if byte == b'\n' {
                let line = std::mem::take(&mut self.line);
                if let Some(data) = line.strip_prefix(b"data:") {
                    self.record(data);
                }
            } else if self.json_body || self.line.starts_with(b"data:") || self.line.len() < 5 {
                self.line.push(byte);
            }
        }
    }

    fn record(&self, data: &[u8]) {
        let Ok(message) = serde_json::from_slice::<Value>(data) else {
            return;
        };
        let answer =
            message.get("method").is_none() && (message.get("result").is_some() || message.get("error").is_some());
        if let Some(id) = message.get("id").filter(|_| answer) {
            self.inner.answers.lock().unwrap().push(id.clone());
        }
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        if self.json_body {
            let body = std::mem::take(&mut self.line);
            self.record(&body);
        }
        self.inner.ended.lock().unwrap().push(self.rpc.clone());
    }
}

/// The base URL (scheme://host:port) of a URL like `http://127.0.0.1:P/mcp`.
pub fn base_of(url: &str) -> String {
    let u = url::Url::parse(url).expect("url");
    format!("{}://{}", u.scheme(), u.host_str().unwrap()) + &u.port().map(|p| format!(":{p}")).unwrap_or_default()
}

type Shared = (Arc<Inner>, reqwest::Client);

fn rpc_method(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("method").and_then(Value::as_str).map(str::to_string)
}

fn take_fault(inner: &Inner, method: &Method, rpc: Option<&str>, session: Option<&str>) -> Option<Fault> {
    let mut rules = inner.rules.lock().unwrap();
    let rule = rules.iter_mut().find(|r| {
        r.times > 0
            && r.matches.http.as_ref().is_none_or(|m| m == method)
            && r.matches.rpc.is_none_or(|want| rpc == Some(want))
            && r.matches.session.as_deref().is_none_or(|want| session == Some(want))
    })?;
    rule.times -= 1;
    Some(rule.fault.clone())
}

const HOP: [&str; 5] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
];

fn copy_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (k, v) in from {
        if !HOP.contains(&k.as_str()) {
            to.append(HeaderName::from_bytes(k.as_str().as_bytes()).unwrap(), v.clone());
        }
    }
}

async fn forward(State((inner, client)): State<Shared>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let rpc = rpc_method(&body);
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let session = header("mcp-session-id");
    let mut exchange = Exchange {
        inner: inner.clone(),
        rpc: rpc.clone(),
        line: Vec::new(),
        json_body: false,
    };
    let mut released = inner.releases.subscribe();
    let fault = take_fault(&inner, &parts.method, rpc.as_deref(), session.as_deref());
    inner.log.lock().unwrap().push(Seen {
        http: parts.method.to_string(),
        rpc: rpc.clone(),
        last_event_id: header("last-event-id"),
        session,
        fault: fault.as_ref().map(|f| format!("{f:?}")),
    });
    match &fault {
        Some(Fault::Status(code, text)) => {
            let status = StatusCode::from_u16(*code).unwrap();
            return (status, [("content-type", "application/json")], *text).into_response();
        }
        Some(Fault::Echo(code)) => {
            let mut echo = format!("you sent {}", parts.uri);
            for (k, v) in &parts.headers {
                echo.push_str(&format!("\n{k}: {}", String::from_utf8_lossy(v.as_bytes())));
            }
            return (StatusCode::from_u16(*code).unwrap(), echo).into_response();
        }
        Some(Fault::Delay(d)) => tokio::time::sleep(*d).await,
        Some(Fault::Hold) => {
            let held_at = *released.borrow_and_update();
            let _ = released.wait_for(|n| *n > held_at).await;
        }
        _ => {}
    }
    let upstream = inner.upstream.lock().unwrap().clone();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut headers = HeaderMap::new();
    copy_headers(&parts.headers, &mut headers);
    let sent = client
        .request(parts.method.clone(), format!("{upstream}{path}"))
        .headers(headers)
        .body(body)
        .send()
        .await;
    let resp = match sent {
        Ok(r) => r,
        // The remote is down: as a gateway would, answer 502.
        Err(e) => return (StatusCode::BAD_GATEWAY, format!("proxy: upstream failed: {e}")).into_response(),
    };
    inner.heads.lock().unwrap().push(rpc);
    exchange.json_body = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    let mut out = Response::builder().status(resp.status().as_u16());
    copy_headers(resp.headers(), out.headers_mut().unwrap());
    let stream = resp.bytes_stream().map(move |chunk| {
        if let Ok(bytes) = &chunk {
            exchange.observe(bytes);
        }
        chunk
    });
    let body = if let Some(Fault::CutSse(pattern)) = fault {
        Body::from_stream(cut_mid_event(stream, pattern))
    } else {
        Body::from_stream(stream)
    };
    out.body(body).unwrap()
}

/// Passes chunks through until the one holding the event with `pattern`,
/// sends the first half of that event, then fails the body (the client
/// sees the stream break mid-event).
fn cut_mid_event(
    stream: impl futures::Stream<Item = reqwest::Result<Bytes>> + Send + 'static,
    pattern: &'static str,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let mut seen = Vec::<u8>::new();
    let mut done = false;
    stream
        .map(move |chunk| -> Vec<Result<Bytes, std::io::Error>> {
            if done {
                return vec![];
            }
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => return vec![Err(std::io::Error::other(e))],
            };
            let start = seen.len();
            seen.extend_from_slice(&chunk);
            let text = String::from_utf8_lossy(&seen);
            let Some(at) = text.find(pattern).filter(|at| *at >= start) else {
                return vec![Ok(chunk)];
            };
            done = true;
            let event_start = text[..at].rfind("data:").unwrap_or(at);
            let cut = (event_start + at) / 2 + 1;
            let keep = cut.saturating_sub(start).min(chunk.len());
            vec![
                Ok(chunk.slice(..keep)),
                Err(std::io::Error::other("fault proxy: stream cut mid-event")),
            ]
        })
        .flat_map(futures::stream::iter)
        .take_while({
            let mut failed = false;
            move |item| {
                let go = !failed;
                failed |= item.is_err();
                futures::future::ready(go)
            }
        })
}
