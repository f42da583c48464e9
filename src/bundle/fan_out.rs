//! The client's side of a bundle: for each of the client's messages (read
//! by `shutdown::serve_until_stopped`), decide which servers it is for.
//! `initialize` and the lists fan out to every server; calls, reads and
//! completions go to their owner with the prefix
//! stripped; cancellations follow their request; answers to the servers'
//! own requests go back to the server that asked, under its original id.

use super::Bundle;
use super::member::Member;
use super::merge;
use super::routes::split_name;
use crate::auth::{OAuth, offline};
use crate::jsonrpc;
use crate::message::Message;
use crate::shutdown::Served;
use futures::future::join_all;
use serde_json::{Value, json};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;

/// The bundle rewrites names and ids, so it works on each message's tree.
impl Served for Bundle {
    /// The largest of the members' (a message may be for any of them).
    fn max_message_size(&self) -> usize {
        let sizes = self.members.iter().map(|m| m.remote.max_message_size());
        sizes.max().unwrap_or(crate::config::size::DEFAULT_MAX_MESSAGE_SIZE)
    }

    fn needs_tree(&self, _msg: &Message) -> bool {
        true
    }

    fn on_initialize(self: &Arc<Self>, msg: Message) -> impl Future<Output = ()> + Send + 'static {
        let b = self.clone();
        async move { b.initialize(msg.into_value()).await }
    }

    fn on_request(self: &Arc<Self>, msg: Message) -> impl Future<Output = ()> + Send + 'static {
        let b = self.clone();
        async move { b.request(msg.into_value()).await }
    }

    fn on_notification(&self, msg: Message) -> impl Future<Output = ()> + Send {
        self.notification(msg.into_value())
    }

    fn on_response(&self, msg: Message) -> impl Future<Output = ()> + Send {
        self.answer(msg.into_value())
    }

    async fn client_gone(&self) {
        for m in &self.members {
            m.remote.client_gone().await;
        }
    }

    fn stop_waiting(&self) {
        self.members.iter().for_each(|m| m.remote.stop_waiting());
    }

    async fn close(&self) {
        join_all(self.members.iter().map(|m| m.remote.close())).await;
    }

    fn pass_on_last(&self) -> impl Future<Output = ()> + Send {
        self.stop_feeds()
    }
}

impl Bundle {
    /// Fan the client's `initialize` out and answer from the merged view.
    async fn initialize(&self, msg: Value) {
        let id = msg.get("id").cloned().unwrap_or(Value::Null);
        *self.init.lock().unwrap_or_else(|e| e.into_inner()) = Some(msg.clone());
        let results = join_all(self.members.iter().map(|m| async {
            match m.signed_out() {
                // Answered for it; it connects once signed in.
                Some(oauth) => Ok(offline::initialize_result(oauth, &msg)),
                None => m.initialize(&msg).await,
            }
        }))
        .await;
        let mut ok = Vec::new();
        let mut failed = Vec::new();
        for (m, r) in self.members.iter().zip(results) {
            let outcome = r.as_ref().map(|_| ()).map_err(Clone::clone);
            m.outcome(&outcome);
            match r {
                Ok(result) => ok.push((m.name.as_str(), result)),
                Err(e) => failed.push(format!("`{}`: {e}", m.name)),
            }
        }
        if ok.is_empty() {
            let message = format!(
                "mcp-bridge: no server of the bundle answered initialize: {}",
                failed.join("; ")
            );
            self.send(jsonrpc::error(id, jsonrpc::REMOTE_ERROR, message, None));
            return;
        }
        let result = merge::initialize_result(&ok);
        self.send(json!({"jsonrpc": "2.0", "id": id, "result": result}));
    }

    async fn request(&self, msg: Value) {
        let id = msg.get("id").cloned().unwrap_or(Value::Null);
        let method = jsonrpc::method(&msg).unwrap_or("").to_string();
        match method.as_str() {
            "ping" => self.send(json!({"jsonrpc": "2.0", "id": id, "result": {}})),
            "tools/list" => self.list(&msg, "tools").await,
            "prompts/list" => self.list(&msg, "prompts").await,
            "resources/list" => self.list(&msg, "resources").await,
            "resources/templates/list" => self.list(&msg, "resourceTemplates").await,
            "tools/call" | "prompts/get" => self.by_name(msg, "/params/name").await,
            "completion/complete" => match msg.pointer("/params/ref/type").and_then(Value::as_str) {
                Some("ref/prompt") => self.by_name(msg, "/params/ref/name").await,
                _ => self.by_uri(msg, "/params/ref/uri").await,
            },
            "resources/read" | "resources/subscribe" | "resources/unsubscribe" => self.by_uri(msg, "/params/uri").await,
            "logging/setLevel" => {
                let ready: Vec<&Arc<Member>> = self.members.iter().filter(|m| m.is_ready()).collect();
                join_all(ready.iter().map(|m| {
                    let mut copy = msg.clone();
                    copy["id"] = crate::ids::next_id("bundle");
                    m.remote.request_internal(copy)
                }))
                .await;
                self.send(json!({"jsonrpc": "2.0", "id": id, "result": {}}));
            }
            other => self.send(jsonrpc::error(
                id,
                METHOD_NOT_FOUND,
                format!("mcp-bridge: `{other}` cannot be routed to one server of a bundle"),
                None,
            )),
        }
    }

    /// Every server's list of `key`, merged, each name prefixed.
    async fn list(&self, msg: &Value, key: &str) {
        let id = msg.get("id").cloned().unwrap_or(Value::Null);
        let method = jsonrpc::method(msg).unwrap_or("");
        let params = msg.get("params").cloned().unwrap_or(Value::Null);
        let init = self.init_request();
        let initialized = self.client_initialized.load(Ordering::Acquire);
        let fetched = join_all(self.members.iter().map(|m| async {
            if let Some(oauth) = m.signed_out() {
                return Ok(signed_out_items(oauth, method, key));
            }
            m.ensure_ready(init.as_ref(), initialized).await?;
            m.list_all(method, key, &params).await
        }))
        .await;
        let mut all = Vec::new();
        for (i, (m, r)) in self.members.iter().zip(fetched).enumerate() {
            let came_back = m.outcome(&r.as_ref().map(|_| ()).map_err(Clone::clone));
            if came_back {
                self.list_changed("notifications/tools/list_changed");
            }
            let Ok(mut items) = r else { continue };
            for item in &items {
                if let Some(uri) = item.get("uri").and_then(Value::as_str) {
                    self.routes.learn_uri(uri, i);
                }
                if let Some(t) = item.get("uriTemplate").and_then(Value::as_str) {
                    self.routes.learn_template(t, i);
                }
            }
            merge::prefix_items(&m.name, &mut items);
            all.extend(items);
        }
        let mut result = serde_json::Map::new();
        result.insert(key.to_string(), Value::Array(all));
        self.send(json!({"jsonrpc": "2.0", "id": id, "result": result}));
    }

    /// Route a request naming a prefixed tool or prompt at `pointer`.
    async fn by_name(&self, mut msg: Value, pointer: &str) {
        let id = msg.get("id").cloned().unwrap_or(Value::Null);
        let full = msg.pointer(pointer).and_then(Value::as_str).unwrap_or("").to_string();
        let names = self.names();
        let Some((i, name)) = split_name(&names, &full) else {
            let servers = names.join(", ");
            let message = format!(
                "mcp-bridge: unknown name `{full}`; in a bundle names are `<server>__<name>` (servers: {servers})"
            );
            self.send(jsonrpc::error(id, INVALID_PARAMS, message, None));
            return;
        };
        if let Some(slot) = msg.pointer_mut(pointer) {
            *slot = Value::String(name.to_string());
        }
        self.forward(i, msg).await;
    }

    /// Route a request naming a resource URI at `pointer`.
    async fn by_uri(&self, msg: Value, pointer: &str) {
        let id = msg.get("id").cloned().unwrap_or(Value::Null);
        let uri = msg.pointer(pointer).and_then(Value::as_str).unwrap_or("");
        match self.routes.uri_owner(uri) {
            Some(i) => self.forward(i, msg).await,
            None => {
                let message =
                    format!("mcp-bridge: no server of the bundle listed the resource `{uri}` (list resources first)");
                self.send(jsonrpc::error(id, INVALID_PARAMS, message, None));
            }
        }
    }

    /// Relay a request to member `i`; its answer reaches the client through
    /// the member's feed, unchanged.
    async fn forward(&self, i: usize, msg: Value) {
        let m = &self.members[i];
        if let Some(oauth) = m.signed_out() {
            // A tool call gets the sign-in link (the browser opens once).
            self.send(offline::respond(oauth, &msg).await);
            return;
        }
        let id = msg.get("id").cloned().unwrap_or(Value::Null);
        let init = self.init_request();
        let initialized = self.client_initialized.load(Ordering::Acquire);
        if let Err(e) = m.ensure_ready(init.as_ref(), initialized).await {
            self.send(m.unavailable(id, &e));
            return;
        }
        self.routes.start(&id, i);
        m.remote.request(&msg.into()).await;
        self.routes.finish(&id);
    }

    /// Announce a member's sign-in (or sign-out) as a change of the tool
    /// list: its real tools replace its `sign_in` tool, or the reverse.
    pub(super) async fn follow_sign_in(&self, m: &Member) {
        let Some(oauth) = &m.oauth else { return };
        let mut signed_in = oauth.is_signed_in();
        loop {
            signed_in = oauth.sign_in_change(signed_in).await;
            if signed_in {
                tracing::info!(server = %m.name, "signed in; its tools join the bundle");
            } else {
                tracing::info!(server = %m.name, "signed out; its tools wait for a sign-in");
            }
            if self.client_initialized.load(Ordering::Acquire) {
                self.list_changed("notifications/tools/list_changed");
            }
        }
    }

    async fn notification(&self, msg: Value) {
        match jsonrpc::method(&msg) {
            Some("notifications/cancelled") => {
                let Some(rid) = msg.pointer("/params/requestId").cloned() else {
                    return;
                };
                if let Some(i) = self.routes.owner_of_request(&rid) {
                    let remote = &self.members[i].remote;
                    remote.cancelled(&rid);
                    remote.send(msg.into()).await;
                }
            }
            Some("notifications/initialized") => {
                self.client_initialized.store(true, Ordering::Release);
                self.to_ready(msg).await;
            }
            _ => self.to_ready(msg).await,
        }
    }

    async fn to_ready(&self, msg: Value) {
        join_all(
            self.members
                .iter()
                .filter(|m| m.is_ready())
                .map(|m| m.remote.send(msg.clone().into())),
        )
        .await;
    }

    /// The client answered a server's request: back to that server under
    /// its own id.
    async fn answer(&self, mut msg: Value) {
        let id = msg.get("id").cloned().unwrap_or(Value::Null);
        match self.routes.unmap(&id) {
            Some((i, original)) => {
                msg["id"] = original;
                self.members[i].remote.send(msg.into()).await;
            }
            None => tracing::debug!(%id, "the client answered a request no server is waiting on"),
        }
    }
}

/// What a signed-out member lists: its cached tools or a `sign_in` tool,
/// and no prompts or resources.
fn signed_out_items(oauth: &OAuth, method: &str, key: &str) -> Vec<Value> {
    let request = json!({"jsonrpc": "2.0", "id": 0, "method": method});
    match offline::answer(oauth, &request) {
        offline::Answer::Result(mut r) => match r.get_mut(key).map(Value::take) {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}
