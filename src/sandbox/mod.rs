//! The sandbox provider: a local emulator of a hosted integration provider
//! (think Pipedream or Zapier hosting a chat app), served as a real MCP
//! Streamable HTTP server on 127.0.0.1 so the bridge can be tested end to
//! end without the network.
//!
//! This file owns starting and stopping the server and the HTTP stack:
//! `/mcp` is rmcp's [`StreamableHttpService`] in session mode (SSE priming
//! events carry a `retry`), wrapped by the bearer-token check and the
//! request log from [`layers`]. The tools are in [`tools`], their chat state
//! in [`chat`], session expiry in [`session`].

mod chat;
mod layers;
mod peer_requests;
mod results;
mod session;
mod tools;

#[cfg(test)]
mod tests;

use axum::serve::ListenerExt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use chat::{ChannelSummary, ChatMessage};
pub use layers::RecordedRequest;
pub use tools::{Revisions, SERVER_NAME};

/// The `retry` the sandbox puts in SSE priming events.
pub const SSE_RETRY: Duration = Duration::from_millis(500);

/// How long [`Sandbox::shutdown`] waits for open connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Default)]
pub struct SandboxOptions {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// When set, every request must carry `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// When set, a session unused for this long expires.
    pub session_ttl: Option<Duration>,
}

/// A running sandbox. Dropping it also stops the server (without waiting);
/// [`Sandbox::shutdown`] stops it and waits until the port is free.
pub struct Sandbox {
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
    log: layers::RequestLog,
    chat: Arc<chat::ChatState>,
    sessions: Arc<LocalSessionManager>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("addr", &self.addr).finish()
    }
}

impl Sandbox {
    /// Binds 127.0.0.1:`opts.port`, starts serving in a spawned task and
    /// returns once the socket is listening.
    pub async fn start(opts: SandboxOptions) -> std::io::Result<Sandbox> {
        Sandbox::start_behind(opts, None).await
    }

    /// [`Sandbox::start`], also taking requests whose `Host` is `front`
    /// (`host:port`): the sandbox behind a proxy of a test's own, such as a
    /// TLS front. Any other `Host` is refused, as rmcp refuses it by default
    /// (DNS rebinding protection).
    pub async fn start_behind(opts: SandboxOptions, front: Option<String>) -> std::io::Result<Sandbox> {
        Sandbox::start_speaking(opts, front, Revisions::Both).await
    }

    /// [`Sandbox::start_behind`], speaking only `revisions` (the relay
    /// bench's 2026-07-28-only server, which a 2025 client reaches only
    /// through the bridge's translation).
    pub async fn start_speaking(
        opts: SandboxOptions,
        front: Option<String>,
        revisions: Revisions,
    ) -> std::io::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, opts.port)).await?;
        let addr = listener.local_addr()?;

        let chat = Arc::new(chat::ChatState::seeded());
        let sessions = session::manager(opts.session_ttl, SSE_RETRY);
        let log = layers::RequestLog::default();

        let config = StreamableHttpServerConfig::default()
            .with_sse_retry(Some(SSE_RETRY))
            .with_allowed_hosts(
                [
                    format!("127.0.0.1:{}", addr.port()),
                    format!("localhost:{}", addr.port()),
                ]
                .into_iter()
                .chain(front),
            );
        let cancel = config.cancellation_token.clone();
        let factory_chat = chat.clone();
        let service = StreamableHttpService::new(
            move || Ok(tools::SandboxServer::new(factory_chat.clone(), revisions)),
            sessions.clone(),
            config,
        );

        let mut router = Router::new().route_service("/mcp", service);
        if let Some(token) = opts.token {
            let token: Arc<str> = Arc::from(token);
            router = router.layer(axum::middleware::from_fn_with_state(token, layers::require_bearer));
        }
        let router = router.layer(axum::middleware::from_fn_with_state(log.clone(), layers::record));

        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(
                // Without TCP_NODELAY each SSE answer waits on the client's delayed ACK (~40 ms a call).
                listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                }),
                router,
            )
            .with_graceful_shutdown(async move {
                // Fires on `shutdown` and when the Sandbox is dropped.
                let _ = stopped.await;
                cancel.cancel();
            })
            .await
        });
        tracing::debug!(%addr, "sandbox provider listening");
        Ok(Sandbox {
            addr,
            stop,
            task,
            log,
            chat,
            sessions,
        })
    }

    /// The MCP endpoint, `http://127.0.0.1:PORT/mcp`.
    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// Stops serving: ends every session and SSE stream, then waits (at most
    /// a few seconds) for connections to close. The port is free afterwards.
    pub async fn shutdown(self) {
        let Sandbox { stop, mut task, .. } = self;
        let _ = stop.send(());
        let joined = match tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await {
            Ok(joined) => joined,
            Err(_) => {
                tracing::warn!("sandbox connections still open after grace period; aborting");
                task.abort();
                task.await
            }
        };
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "sandbox server ended with an error"),
            Err(e) if e.is_cancelled() => {}
            Err(e) => tracing::warn!(error = %e, "sandbox server task failed"),
        }
    }

    /// Every HTTP request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log.snapshot()
    }

    /// The channels of the fake chat app.
    pub fn channels(&self) -> Vec<ChannelSummary> {
        self.chat.channels()
    }

    /// The messages in `channel`, oldest first (empty for unknown channels).
    pub fn messages(&self, channel: &str) -> Vec<ChatMessage> {
        self.chat.read(channel, None).unwrap_or_default()
    }

    /// The ids of the sessions currently alive.
    pub async fn session_ids(&self) -> Vec<String> {
        session::ids(&self.sessions).await
    }

    /// Ends a session now, as if its ttl had passed: later requests carrying
    /// its id get HTTP 404. Returns whether the session existed.
    pub async fn expire_session(&self, id: &str) -> bool {
        session::drop_session(&self.sessions, id).await
    }
}
