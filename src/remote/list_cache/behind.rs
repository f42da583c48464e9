//! What happens behind an answer from the cache: the real `initialize`
//! goes out at once (every other request waits for it); the real
//! `server/discover` too (the remote's answer, or the translation's for a
//! 2025 remote, is kept by the path that asks it; nothing waits for it);
//! and each list answered from the cache is fetched again; a changed one
//! is kept, and one the server now refuses is forgotten, and a 2025 client
//! is told either way with the matching `list_changed` (see `declared`).
//! What the remote says of them is logged with the server's secrets hidden.

use super::{ListCache, changed_notification, content, params_of};
use crate::message::Message;
use crate::remote::exchange::Exchange;
use crate::remote::inbound::{Hints, Route};
use serde_json::{Value, json};
use std::sync::{Arc, Weak};

/// Answer `msg` from the cache, if it may, as the remote's answer (to
/// the client through `ex`'s inbound, and a copy when `keep` or for
/// `initialize`), and send it to the remote behind the answer; `tell`: the
/// client (a 2025 one) is told when a list turns out to have changed.
/// Returns the copy, when it answered.
pub(crate) fn serve(
    cache: &Arc<ListCache>,
    msg: &Message,
    ex: &Exchange,
    keep: bool,
    tell: bool,
) -> Option<Option<Value>> {
    let cached = cache.answer(msg)?;
    let initialize = msg.method() == Some("initialize");
    let route = if initialize || keep {
        Route::ClientAndCopy
    } else {
        Route::Client
    };
    let served = cached.get("result").cloned().unwrap_or_default();
    let copy = ex.inbound.answer_now(msg, route, cached);
    if initialize {
        ex.remember_initialize(msg.value());
        handshake_behind(cache, msg);
    } else if msg.method() == Some("server/discover") {
        discover_behind(cache, msg, served);
    } else {
        let inbound = ex.inbound.clone();
        refresh_behind(cache, msg, move |note| {
            if tell {
                inbound.to_client(note);
            }
        });
    }
    Some(copy)
}

/// `msg` (`initialize`) was answered from the cache: send it to the
/// remote now, so the session exists, holding every other request
/// until it is answered.
fn handshake_behind(cache: &Arc<ListCache>, msg: &Message) {
    let Ok(held) = cache.handshake.clone().try_write_owned() else {
        return;
    };
    let mut init = msg.value().clone();
    init["id"] = crate::ids::next_id("initialize");
    let params = params_of(msg);
    let me = cache.clone();
    tokio::spawn(async move {
        let _held = held;
        let Some(remote) = me.upstream.get().and_then(Weak::upgrade) else {
            return;
        };
        let told = me.saved().as_ref().and_then(|s| {
            s.entries
                .get("initialize")
                .map(|e| e.result.get("protocolVersion").cloned())
        });
        match remote.request_own(init).await {
            Ok(answer) if answer.get("result").is_some() => {
                let version = answer["result"].get("protocolVersion").cloned();
                if told.is_some_and(|t| t != version) {
                    tracing::warn!(
                        "server `{}` now answers initialize with another protocol version than the cached answer the client got; it reads this session's answers as that version",
                        me.server
                    );
                }
                me.keep("initialize", &params, &answer, Hints::Remote);
            }
            Ok(answer) => tracing::warn!(
                "{}",
                me.redactor.apply(&format!(
                    "server `{}` refused initialize behind the cached answer: {}",
                    me.server,
                    answer.get("error").unwrap_or(&serde_json::Value::Null)
                ))
            ),
            Err(e) => tracing::warn!(
                "{}",
                me.redactor.apply(&format!(
                    "server `{}`: could not open the session behind the cached answer ({e}); each request tries again",
                    me.server
                ))
            ),
        }
    });
}

/// `msg` (a modern client's `server/discover`) was answered from the
/// cache with `served`: ask it again as the client's own would have been
/// (the remote's era found first; the answer is kept on the way, and
/// written to nobody). A 2026-07-28 client has no notification for a
/// changed discover result: it keeps the cached one this session, and
/// the next start gets the new one.
fn discover_behind(cache: &Arc<ListCache>, msg: &Message, served: Value) {
    let mut discover = msg.value().clone();
    discover["id"] = crate::ids::next_id("discover");
    let me = cache.clone();
    tokio::spawn(async move {
        let Some(remote) = me.upstream.get().and_then(Weak::upgrade) else {
            return;
        };
        match remote.request_own(discover).await {
            Ok(answer) if answer.get("result").is_some() => {
                if content(&served) != content(&answer["result"]) {
                    tracing::info!(
                        server = %me.server,
                        "server/discover changed since it was cached; the client keeps the cached answer this session, the next start gets the new one"
                    );
                }
            }
            Ok(answer) => tracing::warn!(
                "{}",
                me.redactor.apply(&format!(
                    "server `{}` refused server/discover behind the cached answer: {}",
                    me.server,
                    answer.get("error").unwrap_or(&serde_json::Value::Null)
                ))
            ),
            Err(e) => tracing::warn!(
                "{}",
                me.redactor.apply(&format!(
                    "server `{}`: could not ask server/discover behind the cached answer: {e}",
                    me.server
                ))
            ),
        }
    });
}

/// `msg` (a list) was answered from the cache: fetch it again once the
/// session exists; if it changed, keep it, and if the server now refuses
/// it, forget it; either way tell the client (through `to_client`).
fn refresh_behind(cache: &Arc<ListCache>, msg: &Message, to_client: impl Fn(Value) + Send + 'static) {
    let Some(method) = msg.method().map(str::to_string) else {
        return;
    };
    let params = params_of(msg);
    let me = cache.clone();
    tokio::spawn(async move {
        me.settled().await;
        let Some(remote) = me.upstream.get().and_then(Weak::upgrade) else {
            return;
        };
        let request = json!({"jsonrpc": "2.0", "id": crate::ids::next_id("list"), "method": method, "params": params});
        match remote.request_own(request).await {
            Ok(answer) if answer.get("result").is_some() => {
                let changed = me.differs(&method, &answer["result"]);
                me.keep(&method, &params, &answer, Hints::Remote);
                if changed {
                    tracing::info!(server = %me.server, "{method} changed since it was cached; telling the client");
                    to_client(json!({"jsonrpc": "2.0", "method": changed_notification(&method)}));
                }
            }
            Ok(answer) => {
                tracing::info!(
                    server = %me.server,
                    "{}",
                    me.redactor.apply(&format!(
                        "{method} behind the cached answer was refused ({}); forgetting the cached one and telling the client",
                        answer.get("error").unwrap_or(&serde_json::Value::Null)
                    ))
                );
                me.forget(&method);
                to_client(json!({"jsonrpc": "2.0", "method": changed_notification(&method)}));
            }
            Err(e) => tracing::warn!(
                "{}",
                me.redactor.apply(&format!(
                    "server `{}`: could not fetch {method} behind the cached answer: {e}",
                    me.server
                ))
            ),
        }
    });
}
