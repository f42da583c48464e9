//! A connection's bytes to the remote: TCP, or TLS over TCP for `https://`
//! (rustls with the platform's verifier and trust store, as reqwest's, the
//! same `SSL_CERT_FILE` on Linux), offering HTTP/2 and HTTP/1.1 by ALPN.
//! TCP_NODELAY is set: without it a request written in two pieces waits
//! for the delayed ACK. An error is text with no URL in it, worded as
//! reqwest words its own (`error sending request: …`), rustls's reason for
//! a refused certificate included, so the remote side's advice reads it.

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use url::Url;

pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// A stream just opened, and whether the server chose HTTP/2.
pub struct Opened {
    pub stream: Stream,
    pub h2: bool,
}

/// Open a stream to `url`'s host and port (and TLS for `https://`), all of
/// it within `timeout`.
pub async fn open(url: &Url, timeout: Duration) -> Result<Opened, String> {
    match tokio::time::timeout(timeout, open_now(url)).await {
        Ok(opened) => opened,
        Err(_) => Err(format!(
            "error sending request: cannot connect (timed out after {timeout:?})"
        )),
    }
}

async fn open_now(url: &Url) -> Result<Opened, String> {
    let port = url.port_or_known_default().unwrap_or(80);
    let tcp = async {
        match url.host() {
            Some(url::Host::Ipv4(ip)) => TcpStream::connect((ip, port)).await,
            Some(url::Host::Ipv6(ip)) => TcpStream::connect((ip, port)).await,
            Some(url::Host::Domain(d)) => TcpStream::connect((d, port)).await,
            None => Err(io::Error::other("the URL names no host")),
        }
    };
    let (tcp, ()) = tokio::join!(tcp, async {
        if url.scheme() == "https" {
            tls_ready().await;
        }
    });
    let tcp = tcp.map_err(|e| format!("error sending request: cannot connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    if url.scheme() != "https" {
        return Ok(Opened {
            stream: Stream::Plain(tcp),
            h2: false,
        });
    }
    let host = url.host_str().unwrap_or("").trim_matches(['[', ']']).to_string();
    let name = ServerName::try_from(host).map_err(|e| format!("error sending request: {e}"))?;
    let tls = tokio_rustls::TlsConnector::from(tls_config()?)
        .connect(name, tcp)
        .await
        .map_err(|e| {
            format!(
                "error sending request: TLS handshake: {}",
                crate::redact::with_causes(&e)
            )
        })?;
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    Ok(Opened {
        stream: Stream::Tls(Box::new(tls)),
        h2,
    })
}

/// The TLS settings made, and the crypto's first use over, on a blocking
/// thread while the first TCP connect is under way: that first use costs
/// tens of milliseconds (measured: 30 ms for the first client hello, then
/// 16 µs), which on the relay's one thread would hold up answers the list
/// cache gives while the connection opens.
async fn tls_ready() {
    static READY: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    READY
        .get_or_init(|| async {
            let _ = tokio::task::spawn_blocking(|| {
                let name = ServerName::try_from("localhost").expect("a valid name");
                if let Ok(config) = tls_config() {
                    let _ = rustls::ClientConnection::new(config, name);
                }
            })
            .await;
        })
        .await;
}

/// The process's TLS settings, made at the first `https://` connection
/// (the platform's roots are loaded at the first certificate checked).
fn tls_config() -> Result<Arc<ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
                .map_err(|e| format!("cannot load the platform's TLS verifier: {e}"))?;
            let mut config = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("cannot set up TLS: {e}"))?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth();
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            Ok(Arc::new(config))
        })
        .clone()
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(&mut **s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(&mut **s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(&mut **s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(&mut **s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(&mut **s).poll_shutdown(cx),
        }
    }
}
