//! The ids of the bridge's own requests, to the client (a connect-link
//! elicitation) or to a remote (a replayed `initialize`, a retried call, a
//! bundle's fan-out): all made here, as `mcp-bridge-<what>-<random>`.
//!
//! Each id has 128 random bits of its own, so seeing one (a remote sees
//! the ids of the requests the bridge sends it) says nothing of the next:
//! a remote cannot send the client a request under the id of an
//! elicitation the bridge has out and so answer it in the person's name.
//!
//! An id's shape decides nothing on its own: the client's answer goes to
//! the remote when the remote asked that id (`Inbound::answered`), to the
//! bridge when a request of its own with that id is still waiting, and is
//! dropped only when it is neither and has this shape (a late answer to an
//! elicitation that timed out is not for the remote).

use serde_json::Value;

/// What every id of the bridge's starts with.
const PREFIX: &str = "mcp-bridge-";

/// A fresh id for a request of the bridge's own; `what` says what it is for
/// (`reinit`, `connect`, …), for whoever reads a log.
pub fn next(what: &str) -> String {
    format!("{PREFIX}{what}-{}", uuid::Uuid::new_v4().simple())
}

/// `next` as a JSON-RPC id.
pub fn next_id(what: &str) -> Value {
    Value::String(next(what))
}

/// Whether `id` has the shape of the bridge's ids (which a remote can
/// copy: never a reason on its own to keep an answer from the remote).
pub fn is_own(id: &Value) -> bool {
    id.as_str().is_some_and(|id| id.starts_with(PREFIX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_fresh_and_one_says_nothing_of_the_next() {
        let (a, b) = (next("connect"), next("connect"));
        assert_ne!(a, b);
        assert!(a.starts_with("mcp-bridge-connect-"), "{a}");
        // Nothing the two share beyond their shape.
        let (ra, rb) = (&a["mcp-bridge-connect-".len()..], &b["mcp-bridge-connect-".len()..]);
        assert_eq!((ra.len(), rb.len()), (32, 32));
        assert!(
            ra.bytes().zip(rb.bytes()).filter(|(x, y)| x == y).count() < 16,
            "{a} {b}"
        );
        assert!(is_own(&Value::String(a)) && is_own(&next_id("reinit")));
        assert!(!is_own(&serde_json::json!(1)) && !is_own(&Value::String("bridge-1".into())));
    }
}
