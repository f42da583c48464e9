//! The era found for a server, remembered in the token store between runs
//! (the key `protocol_era` of its record), for the URL it was found at: a
//! modern era with the remote's `server/discover` result, so a later run
//! answers a legacy client's `initialize` without asking. The discover
//! result is read back as the list cache reads a list (`list_cache`): only
//! for the identity it was fetched as (none kept when the credential cannot
//! tell who it is) and while its `ttlMs` lasts (or, without one, the
//! server's `list_cache` age); else the era alone is, and the discover is
//! asked again. The URL and the identity are kept as digests (a URL may
//! hold a secret).

use super::endpoint::Endpoint;
use crate::era::Era;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// The store key the era is remembered under.
const MEMORY_KEY: &str = "protocol_era";

/// The era remembered for `ep`'s URL, if any, and (for a modern era) the
/// discover result it came with, when that may still be used.
pub(super) fn recall(ep: &Endpoint) -> Option<(Era, Option<Value>)> {
    let store = ep.store.as_ref()?;
    let record = store.load(&ep.server).ok().flatten()?;
    let memory = record.extra.get(MEMORY_KEY)?;
    if memory.get("url").and_then(Value::as_str) != Some(&url_key(ep)) {
        return None;
    }
    let era: Era = serde_json::from_value(memory.get("era")?.clone()).ok()?;
    if !era.is_modern() {
        return Some((era, None));
    }
    let discover = memory
        .get("discover")
        .filter(|d| d.is_object())
        .filter(|_| {
            memory
                .get("who")
                .and_then(Value::as_str)
                .is_some_and(|w| Some(w) == who_key(ep).as_deref())
        })
        .filter(|d| fresh(ep, d, memory.get("checked_at").and_then(Value::as_u64)))
        .cloned();
    Some((era, discover))
}

/// Whether a discover result fetched at `fetched` (seconds) is fresh: within
/// its `ttlMs`, or without one within the server's `list_cache` age.
fn fresh(ep: &Endpoint, discover: &Value, fetched: Option<u64>) -> bool {
    let Some(fetched) = fetched else { return false };
    let age = Duration::from_secs(crate::store::now().saturating_sub(fetched));
    let keep = match discover.get("ttlMs").and_then(Value::as_u64) {
        Some(ms) => Duration::from_millis(ms),
        None => ep.list_cache.max_age().unwrap_or_default(),
    };
    age < keep
}

/// Remember `era` (and `discover`, for the identity the requests are made
/// as; not at all when the credential cannot tell) for `ep`'s URL.
pub(super) async fn remember(ep: &Endpoint, era: &Era, discover: Option<Value>) {
    let Some(store) = &ep.store else { return };
    let who = who_key(ep);
    let memory = json!({
        "url": url_key(ep),
        "era": era,
        "discover": discover.filter(|_| who.is_some()),
        "who": who,
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

/// The identity the requests are made as, as a digest.
fn who_key(ep: &Endpoint) -> Option<String> {
    ep.credential
        .identity()
        .map(|who| digest(&format!("{}\n{who}", ep.url)))
}

/// The URL the memory is for, as a digest.
fn url_key(ep: &Endpoint) -> String {
    digest(ep.url.as_str())
}

fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
