//! One server of a bundle: its `Remote` and `Inbound`, whether it is
//! initialised and answering, and the task that carries everything it sends
//! (answers, progress, its own requests, list changes) to the bundle; for an
//! `auth = "oauth"` server, its sign-in.

use crate::auth::OAuth;
use crate::jsonrpc;
use crate::remote::Remote;
use crate::remote::filter::ToolFilter;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A fresh id for a request the bundle sends itself.
fn bridge_id() -> Value {
    crate::ids::next_id("bundle")
}

pub struct Member {
    pub name: String,
    pub remote: Arc<Remote>,
    pub filter: ToolFilter,
    /// The sign-in of an `auth = "oauth"` server.
    pub oauth: Option<Arc<OAuth>>,
    /// `initialize` succeeded at least once (the session exists).
    ready: AtomicBool,
    /// The last fan-out to it succeeded (its items are in the lists).
    up: AtomicBool,
    init_lock: tokio::sync::Mutex<()>,
}

impl Member {
    pub fn new(name: String, remote: Arc<Remote>, filter: ToolFilter, oauth: Option<Arc<OAuth>>) -> Self {
        Self {
            name,
            remote,
            filter,
            oauth,
            ready: AtomicBool::new(false),
            up: AtomicBool::new(true),
            init_lock: tokio::sync::Mutex::new(()),
        }
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// The sign-in of an `auth = "oauth"` server that has no usable token:
    /// the bundle answers for it (see `auth::offline`) without waiting on
    /// the server.
    pub fn signed_out(&self) -> Option<&Arc<OAuth>> {
        self.oauth.as_ref().filter(|o| !o.is_signed_in())
    }

    /// Send the client's `initialize` (with an id of the bundle's) and
    /// return the remote's result.
    pub async fn initialize(&self, client_init: &Value) -> Result<Value, String> {
        let _one = self.init_lock.lock().await;
        self.initialize_locked(client_init).await
    }

    async fn initialize_locked(&self, client_init: &Value) -> Result<Value, String> {
        let mut msg = client_init.clone();
        msg["id"] = bridge_id();
        let resp = self.remote.request_internal(msg).await.map_err(|e| e.to_string())?;
        if let Some(err) = resp.get("error") {
            return Err(format!("initialize was refused: {err}"));
        }
        self.ready.store(true, Ordering::Release);
        let result = resp.get("result").cloned().unwrap_or(Value::Null);
        if let Some(oauth) = &self.oauth {
            oauth.cache(crate::auth::CACHED_INITIALIZE, result.clone());
        }
        Ok(result)
    }

    /// Initialise it now if it never was (it was down at the start).
    pub async fn ensure_ready(&self, client_init: Option<&Value>, client_initialized: bool) -> Result<(), String> {
        if self.is_ready() {
            return Ok(());
        }
        let Some(init) = client_init else {
            return Err("the client has not initialised yet".into());
        };
        let _one = self.init_lock.lock().await;
        if self.is_ready() {
            return Ok(());
        }
        self.initialize_locked(init).await?;
        if client_initialized {
            self.remote
                .send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).into())
                .await;
        }
        Ok(())
    }

    /// Record the outcome of a fan-out. Returns true when it came back
    /// after failing (its items reappear: the client should re-list).
    pub fn outcome(&self, result: &Result<(), String>) -> bool {
        match result {
            Ok(()) => {
                let was_down = !self.up.swap(true, Ordering::AcqRel);
                if was_down {
                    tracing::info!(server = %self.name, "server answers again; its tools are back");
                }
                was_down
            }
            Err(e) => {
                if self.up.swap(false, Ordering::AcqRel) {
                    tracing::warn!(
                        server = %self.name,
                        "server failed ({e}); its tools, prompts and resources are left out until it answers again"
                    );
                }
                false
            }
        }
    }

    /// Fetch every page of a list (`key` is `tools`, `prompts`, …).
    pub async fn list_all(&self, method: &str, key: &str, params: &Value) -> Result<Vec<Value>, String> {
        let mut items = Vec::new();
        let mut cursor: Option<Value> = None;
        for page in 0..100 {
            let mut p = if params.is_object() { params.clone() } else { json!({}) };
            match cursor.take() {
                Some(c) => p["cursor"] = c,
                None => {
                    if let Some(o) = p.as_object_mut() {
                        o.remove("cursor");
                    }
                }
            }
            let msg = json!({"jsonrpc": "2.0", "id": bridge_id(), "method": method, "params": p});
            let resp = self.remote.request_internal(msg).await.map_err(|e| e.to_string())?;
            let Some(mut result) = resp.get("result").cloned() else {
                let err = resp.get("error").cloned().unwrap_or(Value::Null);
                // A server without prompts or resources simply has none.
                if err.get("code").and_then(Value::as_i64) == Some(-32601) {
                    return Ok(items);
                }
                return Err(format!("{method} failed: {err}"));
            };
            if key == "tools" {
                self.filter.apply_to_list(&mut result);
                // The first page as the client sees it, for a signed-out start.
                if let Some(oauth) = self.oauth.as_ref().filter(|_| page == 0) {
                    oauth.cache(crate::auth::CACHED_TOOLS, result.clone());
                }
            }
            if let Some(Value::Array(page)) = result.get_mut(key).map(Value::take) {
                items.extend(page);
            }
            match result.get("nextCursor") {
                Some(c) if !c.is_null() => cursor = Some(c.clone()),
                _ => return Ok(items),
            }
        }
        Ok(items)
    }

    /// The error answering a request routed to this server when it cannot
    /// be reached.
    pub fn unavailable(&self, id: Value, why: &str) -> Value {
        jsonrpc::error(
            id,
            jsonrpc::REMOTE_ERROR,
            format!("mcp-bridge: server `{}` is not available: {why}", self.name),
            Some(json!({ "server": self.name })),
        )
    }
}
