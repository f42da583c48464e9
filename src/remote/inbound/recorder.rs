//! What `Inbound` lets a recorder see: the remote's answers to some
//! requests before any transform rewrites them, with each request's params
//! (the list cache keeps them for a warm start).

use crate::hooks::Upstream;
use serde_json::Value;
use std::sync::Weak;

/// Sees the remote's answers to some requests before any transform does,
/// and each request's params (the list cache keeps them).
pub(crate) trait Recorder: Send + Sync {
    /// Whether it records the answers to `method`.
    fn keeps(&self, method: &str) -> bool;
    /// The remote's `response` to a `method` request with `params`, or the
    /// bridge's answer made from the remote's (`hints` says whose caching
    /// hints it carries).
    fn record(&self, method: &str, params: &Value, response: &Value, hints: Hints);
    /// The remote the answers come from, once it exists.
    fn bind(&self, upstream: Weak<dyn Upstream>);
}

/// Whose caching hints (`ttlMs`, `cacheScope`) a recorded answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hints {
    /// The remote's own: the answer is as it sent it.
    Remote,
    /// The bridge's: the answer was made from the remote's in the other
    /// era (a 2025 server's `initialize` result as a discover result), so
    /// it is kept as a 2025 server's is.
    Bridge,
}
