//! The sign-in gate: what keeps `serve` from ever blocking the desktop
//! client while an `auth = "oauth"` server has no usable token.
//!
//! It is the relay's hook (`hooks::Hook::takes_over`), consulted before each
//! message goes to the remote.
//! Signed in, messages pass untouched; only `initialize` is relayed by the
//! gate itself, so that if the remote refuses it (the token was revoked, the
//! registration forgotten) the client still gets an answer. Signed out, it
//! answers the client itself (see `offline`): `initialize` from the last good
//! result cached in the store, `tools/list` from the cached list, and
//! `tools/call` with a result carrying the sign-in link (the browser opens
//! once: every bridge on this server shares the sign-in through the store).
//! It watches the store, so a sign-in finished here, in another bridge or by
//! `mcp-bridge login` opens the gate: it replays the client's handshake to
//! the remote and sends `notifications/tools/list_changed`.

use super::offline::{self, Answer};
use super::{OAuth, record};
use crate::client::Outbox;
use crate::hooks::{Hook, Upstream};
use crate::jsonrpc::{self, Kind};
use crate::message::Message;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

/// The longest `initialize` waits for the remote before the cache answers.
const INIT_WAIT: Duration = Duration::from_secs(10);

/// Where the client's handshake stands with the remote.
#[derive(Default)]
struct Handshake {
    /// The client's `initialize`, answered here, not yet seen by the remote.
    held_init: Option<Value>,
    client_initialized: bool,
    /// The remote has the client's handshake (its own, or replayed).
    remote_ready: bool,
}

pub struct Gate {
    oauth: Arc<OAuth>,
    inner: Option<Arc<dyn Hook>>,
    me: Weak<Gate>,
    state: Mutex<Handshake>,
    remote: OnceLock<Arc<dyn Upstream>>,
    out: OnceLock<Outbox>,
    opening: tokio::sync::Mutex<()>,
    watching: AtomicBool,
}

impl Gate {
    pub fn new(oauth: Arc<OAuth>, inner: Option<Arc<dyn Hook>>) -> Arc<Gate> {
        Arc::new_cyclic(|me| Gate {
            oauth,
            inner,
            me: me.clone(),
            state: Mutex::new(Handshake::default()),
            remote: OnceLock::new(),
            out: OnceLock::new(),
            opening: tokio::sync::Mutex::new(()),
            watching: AtomicBool::new(false),
        })
    }

    fn st(&self) -> std::sync::MutexGuard<'_, Handshake> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn reply(&self, id: &Value, result: Value) {
        if let Some(out) = self.out.get() {
            let _ = out.send(json!({"jsonrpc": "2.0", "id": id, "result": result}));
        }
    }

    fn fail(&self, id: &Value, message: String) {
        if let Some(out) = self.out.get() {
            let _ = out.send(jsonrpc::error(id.clone(), jsonrpc::REMOTE_ERROR, message, None));
        }
    }

    /// Answer a request while signed out.
    fn answer_signed_out(&self, msg: &Value) {
        let id = msg.get("id").cloned().unwrap_or(Value::Null);
        match offline::answer(&self.oauth, msg) {
            Answer::Result(r) => self.reply(&id, r),
            Answer::Error(e) => self.fail(&id, e),
            Answer::SignIn => {
                let Some(me) = self.me.upgrade() else { return };
                tokio::spawn(async move {
                    let result = offline::sign_in_result(&me.oauth).await;
                    me.reply(&id, result);
                });
            }
        }
    }

    /// Give the remote the client's handshake, once: the client's own
    /// `initialize` (its answer forwarded) or, after a sign-in, a replay
    /// under the bridge's id (the client already has an answer).
    async fn ensure_open(&self, answer_client: bool) -> Result<(), String> {
        let _one = self.opening.lock().await;
        let Some(init) = ({
            let st = self.st();
            if st.remote_ready { None } else { st.held_init.clone() }
        }) else {
            return Ok(());
        };
        let remote = self.remote.get().ok_or("no remote yet")?.clone();
        let mut msg = init.clone();
        if !answer_client {
            msg["id"] = crate::ids::next_id("sign-in-initialize");
        }
        let resp = remote.request_own(msg).await?;
        if let Some(err) = resp.get("error") {
            return Err(format!("the server refused initialize: {err}"));
        }
        let initialized = {
            let mut st = self.st();
            st.remote_ready = true;
            st.client_initialized
        };
        match (answer_client, self.out.get()) {
            (true, Some(out)) => {
                let _ = out.send(resp.clone());
                self.after_response(&init, &resp, out);
            }
            _ => {
                if let Some(r) = resp.get("result") {
                    self.oauth.cache(record::INITIALIZE, r.clone());
                }
            }
        }
        if initialized {
            remote
                .send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).into())
                .await;
        }
        Ok(())
    }

    /// Signed in at `initialize`: relay it, but if the remote refuses or
    /// fails, answer from the cache instead and wait for a sign-in.
    async fn connect_or_answer(&self, msg: Value) {
        let outcome = tokio::time::timeout(INIT_WAIT, self.ensure_open(true))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {INIT_WAIT:?}")));
        if let Err(e) = outcome {
            tracing::warn!(
                server = self.oauth.name(),
                "initialize failed ({e}); answering from the cache"
            );
            let id = msg.get("id").cloned().unwrap_or(Value::Null);
            self.reply(&id, offline::initialize_result(&self.oauth, &msg));
            self.watch();
        }
    }

    /// Relay `msg` once the remote has the handshake (a sign-in just landed).
    fn relay_after_open(&self, msg: Value) {
        let Some(me) = self.me.upgrade() else { return };
        tokio::spawn(async move {
            let id = msg.get("id").cloned().unwrap_or(Value::Null);
            let request = jsonrpc::kind(&msg) == Kind::Request;
            if let Err(e) = me.ensure_open(false).await {
                if request && !me.oauth.is_signed_in() {
                    me.answer_signed_out(&msg);
                } else if request {
                    me.fail(&id, format!("mcp-bridge: server `{}`: {e}", me.oauth.name()));
                }
                return;
            }
            let (Some(remote), Some(out)) = (me.remote.get().cloned(), me.out.get().cloned()) else {
                return;
            };
            let msg = Message::from_value(msg);
            if request {
                if let Some(resp) = remote.request(&msg).await {
                    me.after_response(msg.value(), &resp, &out);
                }
            } else {
                remote.send(msg).await;
            }
        });
    }

    /// Watch for sign-in (this process or another) and open the gate then.
    fn watch(&self) {
        if self.watching.swap(true, Ordering::SeqCst) {
            return;
        }
        let Some(me) = self.me.upgrade() else { return };
        tokio::spawn(async move {
            let mut signed_in = me.oauth.is_signed_in();
            loop {
                signed_in = me.oauth.sign_in_change(signed_in).await;
                if signed_in {
                    me.signed_in().await;
                }
            }
        });
    }

    async fn signed_in(&self) {
        tracing::info!(server = self.oauth.name(), "signed in; connecting");
        let held = self.st().held_init.is_some();
        if held && let Err(e) = self.ensure_open(false).await {
            tracing::warn!(server = self.oauth.name(), "connecting after sign-in failed: {e}");
            return;
        }
        if self.st().client_initialized
            && let Some(out) = self.out.get()
        {
            let _ = out.send(json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}));
        }
    }
}

impl Hook for Gate {
    fn bind(&self, upstream: &Arc<dyn Upstream>, out: &Outbox) {
        let _ = self.remote.set(upstream.clone());
        let _ = self.out.set(out.clone());
        if let Some(inner) = &self.inner {
            inner.bind(upstream, out);
        }
    }

    fn after_response(&self, request: &Value, response: &Value, out: &Outbox) {
        if let Some(inner) = &self.inner {
            inner.after_response(request, response, out);
        }
        let Some(result) = response.get("result") else { return };
        match jsonrpc::method(request) {
            Some("initialize") => self.oauth.cache(record::INITIALIZE, result.clone()),
            Some("server/discover") => self.oauth.cache(record::DISCOVER, result.clone()),
            Some("tools/list") if request.pointer("/params/cursor").is_none() => {
                self.oauth.cache(record::TOOLS, result.clone())
            }
            _ => {}
        }
    }

    fn takes_over(&self, msg: &Value) -> bool {
        self.take(msg) || self.inner.as_ref().is_some_and(|i| i.takes_over(msg))
    }
}

impl Gate {
    /// Whether the gate takes `msg` over (see the module docs).
    fn take(&self, msg: &Value) -> bool {
        let kind = jsonrpc::kind(msg);
        let method = jsonrpc::method(msg);
        let signed_in = self.oauth.is_signed_in();
        let mut st = self.st();
        if kind == Kind::Request && method == Some("initialize") {
            st.held_init = Some(msg.clone());
            st.remote_ready = false;
            drop(st);
            if signed_in {
                if let Some(me) = self.me.upgrade() {
                    let msg = msg.clone();
                    tokio::spawn(async move { me.connect_or_answer(msg).await });
                }
            } else {
                let id = msg.get("id").cloned().unwrap_or(Value::Null);
                self.reply(&id, offline::initialize_result(&self.oauth, msg));
                self.watch();
            }
            return true;
        }
        if method == Some("notifications/initialized") {
            st.client_initialized = true;
            return !st.remote_ready && st.held_init.is_some();
        }
        let held = st.held_init.is_some() && !st.remote_ready;
        drop(st);
        if signed_in {
            if held {
                self.relay_after_open(msg.clone());
            }
            return held;
        }
        match kind {
            Kind::Request => {
                self.answer_signed_out(msg);
                self.watch();
                true
            }
            // Notifications and responses reach a remote that has a session.
            _ => held,
        }
    }
}
