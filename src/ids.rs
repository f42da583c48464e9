//! The ids of the bridge's own requests, to the client (a connect-link
//! elicitation) or to a remote (a replayed `initialize`, a retried call, a
//! bundle's fan-out): all made here, as `mcp-bridge-<random>-<what>-<n>`.
//!
//! The random part is drawn once per process, so a remote cannot guess an
//! id of the bridge's and answer it in the client's name, and the bridge
//! knows its own ids by their prefix: the client's answer to one is not for
//! the remote.

use serde_json::Value;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// `mcp-bridge-<random>-`: what every id of this process starts with.
static PREFIX: LazyLock<String> = LazyLock::new(|| {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("mcp-bridge-{}-", &random[..16])
});

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A fresh id for a request of the bridge's own; `what` says what it is for
/// (`reinit`, `connect`, …), for whoever reads a log.
pub fn next(what: &str) -> String {
    format!("{}{what}-{}", *PREFIX, NEXT.fetch_add(1, Ordering::Relaxed))
}

/// `next` as a JSON-RPC id.
pub fn next_id(what: &str) -> Value {
    Value::String(next(what))
}

/// Whether `id` is one this process made.
pub fn is_own(id: &Value) -> bool {
    id.as_str().is_some_and(|id| id.starts_with(PREFIX.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_fresh_recognised_and_not_guessable_from_their_shape() {
        let (a, b) = (next("connect"), next("connect"));
        assert_ne!(a, b);
        assert!(a.starts_with("mcp-bridge-") && a.contains("-connect-"), "{a}");
        assert!(is_own(&Value::String(a.clone())) && is_own(&next_id("reinit")));
        // The old fixed shape, or a number, is not ours.
        for forged in ["mcp-bridge-connect-1", "mcp-bridge-reinit-0", ""] {
            assert!(!is_own(&Value::String(forged.into())), "{forged}");
        }
        assert!(!is_own(&serde_json::json!(1)));
    }
}
