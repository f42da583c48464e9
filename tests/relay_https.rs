//! A remote over HTTPS, through the public surface. Every hosted provider is
//! reached this way (reqwest with rustls and the platform's trust store),
//! unlike the loopback remotes of the other tests, which the bridge speaks
//! plain HTTP/1.1 to itself. The test makes a certificate authority and a
//! certificate for `localhost`, puts a TLS front on loopback before an
//! in-process sandbox, and starts the bridge with `SSL_CERT_FILE` naming the
//! trust store it should use: the authority's PEM, or another authority's
//! (the case of a corporate proxy or a private server the machine does not
//! trust yet).

mod support;
mod tls_support;

use mcp_bridge::sandbox::{Sandbox, SandboxOptions};
use rcgen::{CertifiedIssuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use support::{Bridge, toml_string};
use tls_support::{authority, certificate_for_name, server_certificate, write_pem};
use tokio::net::{TcpListener, TcpStream};

const TOKEN: &str = "tok-https-9f2c41d7e";

/// A TLS front on loopback that relays each connection's plain bytes to
/// `backend`, counting the handshakes that succeeded and those that failed.
struct Front {
    addr: SocketAddr,
    handshakes: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
}

async fn tls_front(
    listener: TcpListener,
    backend: SocketAddr,
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> Front {
    // The sandbox speaks HTTP/1.1 only, and the front relays bytes as they are.
    let acceptor = tls_support::acceptor(cert, key, &[b"http/1.1"]);
    let addr = listener.local_addr().unwrap();
    let handshakes = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let (ok, bad) = (handshakes.clone(), refused.clone());
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let (acceptor, ok, bad) = (acceptor.clone(), ok.clone(), bad.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(conn).await else {
                    bad.fetch_add(1, Ordering::SeqCst);
                    return;
                };
                ok.fetch_add(1, Ordering::SeqCst);
                if let Ok(mut plain) = TcpStream::connect(backend).await {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                }
            });
        }
    });
    Front {
        addr,
        handshakes,
        refused,
    }
}

/// The sandbox (requiring `TOKEN`) behind a TLS front whose certificate
/// `ca` signed.
async fn https_sandbox(ca: &CertifiedIssuer<'static, KeyPair>) -> (Sandbox, Front) {
    https_sandbox_with(ca, false).await
}

async fn https_sandbox_with(ca: &CertifiedIssuer<'static, KeyPair>, expired: bool) -> (Sandbox, Front) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front = format!("localhost:{}", listener.local_addr().unwrap().port());
    let options = SandboxOptions {
        token: Some(TOKEN.to_string()),
        ..SandboxOptions::default()
    };
    let sandbox = Sandbox::start_behind(options, Some(front))
        .await
        .expect("start sandbox");
    let (cert, key) = server_certificate(ca, expired);
    let front = tls_front(listener, sandbox.addr, cert, key).await;
    (sandbox, front)
}

/// A config naming `https://localhost:PORT/mcp` (the front) as server `tls`,
/// with the sandbox's token as its bearer.
fn config(front: &Front) -> (tempfile::TempDir, PathBuf) {
    let url = format!("https://localhost:{}/mcp", front.addr.port());
    let toml = format!(
        "[servers.tls]\nurl = {}\nbearer = {}\n",
        toml_string(&url),
        toml_string(TOKEN)
    );
    support::write_config(&toml)
}

/// `mcp-bridge --config CONFIG` trusting only the authorities in `trust`,
/// with no proxy from the environment.
fn command(config: &Path, trust: &Path) -> tokio::process::Command {
    let mut cmd = Bridge::command();
    cmd.arg("--config").arg(config);
    tls_support::trust_only(&mut cmd, trust);
    cmd
}

/// `mcp-bridge serve tls` logging at trace, trusting only `trust`.
fn bridge(front: &Front, trust: &Path) -> Bridge {
    let (dir, path) = config(front);
    let mut cmd = command(&path, trust);
    cmd.args(["--log", "trace", "serve", "tls"]);
    let mut bridge = Bridge::spawn(cmd);
    bridge.keep(dir);
    bridge
}

fn initialize_params() -> Value {
    json!({
        "protocolVersion": support::PROTOCOL_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "mcp-bridge-tests", "version": "0.0.0"}
    })
}

#[tokio::test]
async fn relays_to_an_https_remote_whose_authority_the_machine_trusts() {
    let ca = authority("mcp-bridge test CA");
    let (sandbox, front) = https_sandbox(&ca).await;
    let dir = tempfile::tempdir().unwrap();
    let trust = write_pem(&dir, "ca.pem", &ca.pem());
    let mut b = bridge(&front, &trust);

    b.initialize(json!({})).await;
    let result = b
        .request_ok(
            "tools/call",
            json!({"name": "slow_echo", "arguments": {"text": "over tls", "delay_ms": 0}}),
        )
        .await;
    assert_eq!(result["content"][0]["text"], "over tls", "{result}");
    let tools = b.request_ok("tools/list", Value::Null).await;
    assert!(tools["tools"].as_array().is_some_and(|t| !t.is_empty()), "{tools}");

    // It went through the TLS front, with the bearer from the config.
    assert!(front.handshakes.load(Ordering::SeqCst) >= 1);
    assert_eq!(front.refused.load(Ordering::SeqCst), 0);
    let posts: Vec<_> = sandbox
        .requests()
        .into_iter()
        .filter(|r| r.http_method == "POST")
        .collect();
    assert!(posts.len() >= 4, "{posts:?}");
    let bearer = format!("Bearer {TOKEN}");
    assert!(
        posts
            .iter()
            .all(|r| r.authorization.as_deref() == Some(bearer.as_str()))
    );

    b.close_stdin();
    b.wait_exit(std::time::Duration::from_secs(10)).await;
    let log = b.stderr_text();
    assert!(!log.is_empty(), "no trace log was written");
    assert!(!log.contains(TOKEN), "the token is in the log:\n{log}");
}

#[tokio::test]
async fn an_untrusted_certificate_gets_an_error_that_says_how_to_trust_it() {
    let ca = authority("mcp-bridge test CA");
    let (_sandbox, front) = https_sandbox(&ca).await;
    // The machine trusts another authority only.
    let dir = tempfile::tempdir().unwrap();
    let trust = write_pem(&dir, "other.pem", &authority("some other CA").pem());
    let mut b = bridge(&front, &trust);

    let answer = b.request("initialize", initialize_params()).await;
    let message = answer["error"]["message"].as_str().unwrap_or_default().to_string();
    assert!(answer.get("result").is_none(), "{answer}");
    assert!(message.contains("certificate"), "{message}");
    assert!(message.contains("SSL_CERT_FILE"), "{message}");
    assert!(message.contains("[servers.tls]"), "{message}");
    assert!(!message.contains(TOKEN), "{message}");
    // The front sees the refused handshake once the bridge's alert reaches it.
    support::wait_until("the front to see the refused handshake", || {
        front.refused.load(Ordering::SeqCst) >= 1
    })
    .await;
    assert_eq!(front.handshakes.load(Ordering::SeqCst), 0);

    // The bridge keeps answering: the next request gets its own error.
    let again = b.request("initialize", initialize_params()).await;
    assert!(
        again["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("certificate")),
        "{again}"
    );
    b.close_stdin();
    b.wait_exit(std::time::Duration::from_secs(10)).await;
    assert!(!b.stderr_text().contains(TOKEN));

    // `doctor`, the command the errors point to, says the same.
    let (_config_dir, config) = config(&front);
    let out = command(&config, &trust)
        .args(["doctor", "tls"])
        .output()
        .await
        .expect("run doctor");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("not trusted") && text.contains("SSL_CERT_FILE"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
}

#[tokio::test]
async fn a_certificate_for_another_name_gets_an_error_that_names_the_url() {
    let ca = authority("mcp-bridge test CA");
    // The front on 127.0.0.1 serves a certificate for another host only,
    // signed by an authority the bridge trusts.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let options = SandboxOptions {
        token: Some(TOKEN.to_string()),
        ..SandboxOptions::default()
    };
    let sandbox = Sandbox::start_behind(options, Some(format!("127.0.0.1:{port}")))
        .await
        .expect("start sandbox");
    let (cert, key) = certificate_for_name(&ca, "mcp.other.example");
    let front = tls_front(listener, sandbox.addr, cert, key).await;
    let dir = tempfile::tempdir().unwrap();
    let trust = write_pem(&dir, "ca.pem", &ca.pem());
    let url = format!("https://127.0.0.1:{port}/mcp");
    let (config_dir, config) = support::write_config(&format!(
        "[servers.tls]\nurl = {}\nbearer = {}\n",
        toml_string(&url),
        toml_string(TOKEN)
    ));
    let mut cmd = command(&config, &trust);
    cmd.args(["serve", "tls"]);
    let mut b = Bridge::spawn(cmd);
    b.keep(config_dir);

    let answer = b.request("initialize", initialize_params()).await;
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("not for the host name"), "{answer}");
    assert!(message.contains("`url` in [servers.tls]"), "{answer}");
    assert!(!message.contains("SSL_CERT_FILE"), "{answer}");
    assert!(!message.contains(TOKEN), "{answer}");
    // The bridge refused the certificate: no handshake completed, no request
    // reached the sandbox.
    assert_eq!(front.handshakes.load(Ordering::SeqCst), 0);
    assert!(sandbox.requests().is_empty(), "{:?}", sandbox.requests());
}

#[tokio::test]
async fn an_expired_certificate_gets_an_error_that_says_so() {
    let ca = authority("mcp-bridge test CA");
    let (_sandbox, front) = https_sandbox_with(&ca, true).await;
    let dir = tempfile::tempdir().unwrap();
    let trust = write_pem(&dir, "ca.pem", &ca.pem());
    let mut b = bridge(&front, &trust);

    let answer = b.request("initialize", initialize_params()).await;
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("out of date"), "{answer}");
    assert!(!message.contains("SSL_CERT_FILE"), "{answer}");
    assert_eq!(front.handshakes.load(Ordering::SeqCst), 0);
}
