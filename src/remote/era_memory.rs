//! The era found for a server, remembered in the token store between runs
//! (the key `protocol_era` of its record), for the URL it was found at: a
//! modern era with the remote's `server/discover` result, so a later run
//! answers a legacy client's `initialize` without asking. The URL is kept
//! as a digest (a URL may hold a secret).

use super::endpoint::Endpoint;
use crate::era::Era;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The store key the era is remembered under.
const MEMORY_KEY: &str = "protocol_era";

/// The era remembered for `ep`'s URL, if any, and (for a modern era) the
/// discover result it came with.
pub(super) fn recall(ep: &Endpoint) -> Option<(Era, Option<Value>)> {
    let store = ep.store.as_ref()?;
    let record = store.load(&ep.server).ok().flatten()?;
    let memory = record.extra.get(MEMORY_KEY)?;
    if memory.get("url").and_then(Value::as_str) != Some(&url_key(ep)) {
        return None;
    }
    let era: Era = serde_json::from_value(memory.get("era")?.clone()).ok()?;
    if era.is_modern() {
        let discover = memory.get("discover").filter(|d| d.is_object())?.clone();
        return Some((era, Some(discover)));
    }
    Some((era, None))
}

/// Remember `era` (and `discover`) for `ep`'s URL.
pub(super) async fn remember(ep: &Endpoint, era: &Era, discover: Option<Value>) {
    let Some(store) = &ep.store else { return };
    let memory = json!({
        "url": url_key(ep),
        "era": era,
        "discover": discover,
        "checked_at": crate::store::now(),
    });
    if let Err(e) = store
        .update(&ep.server, |r| {
            r.extra.insert(MEMORY_KEY.into(), memory);
        })
        .await
    {
        tracing::debug!(server = ep.server.as_str(), "could not remember the protocol era: {e}");
    }
}

/// The URL the memory is for, as a digest.
fn url_key(ep: &Endpoint) -> String {
    let digest = Sha256::digest(ep.url.as_str().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
