//! Session storage and expiry for the sandbox.
//!
//! Sessions live in rmcp's in-memory [`LocalSessionManager`]. Expiry uses its
//! own idle timer, `SessionConfig::keep_alive`: a session whose worker sees
//! no event (client message, new stream, server message) for that long
//! stops, and the manager forgets it. rmcp then answers any request carrying
//! that `Mcp-Session-Id` with HTTP 404 `Not Found: Session not found`, the
//! spec's "session expired, re-initialize" signal.
//!
//! Caveat of the idle timer: it does not know about a tool call that is
//! still running without emitting anything, so a call that stays silent for
//! longer than the ttl loses its session. Keep test ttls above the longest
//! silent call.

use std::sync::Arc;
use std::time::Duration;

use rmcp::transport::streamable_http_server::session::SessionManager;
use rmcp::transport::streamable_http_server::session::local::{LocalSessionManager, SessionConfig};

/// Builds the session manager. `ttl: None` means sessions never expire for
/// idleness (they still end on DELETE or sandbox shutdown).
pub(crate) fn manager(ttl: Option<Duration>, sse_retry: Duration) -> Arc<LocalSessionManager> {
    let mut config = SessionConfig::default();
    config.keep_alive = ttl;
    config.sse_retry = Some(sse_retry);
    let mut manager = LocalSessionManager::default();
    manager.session_config = config;
    Arc::new(manager)
}

/// The ids of the sessions currently alive.
pub(crate) async fn ids(manager: &LocalSessionManager) -> Vec<String> {
    let mut ids: Vec<String> = manager.sessions.read().await.keys().map(|id| id.to_string()).collect();
    ids.sort();
    ids
}

/// Ends one session as if it had expired; later requests with its id get
/// 404. Returns whether it existed.
pub(crate) async fn drop_session(manager: &LocalSessionManager, id: &str) -> bool {
    let id: Arc<str> = Arc::from(id);
    let existed = manager.sessions.read().await.contains_key(&id);
    if existed && let Err(e) = manager.close_session(&id).await {
        tracing::warn!(session = %id, error = %e, "sandbox: closing session failed");
    }
    existed
}
