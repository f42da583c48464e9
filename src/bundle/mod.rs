//! Several remotes behind one stdio server: `serve a b`, or `serve <name>`
//! for a `[bundles.<name>]` entry (`servers = ["a", "b"]`).
//!
//! Each server keeps its own `Remote` and `Inbound` (session, re-init,
//! timeouts, filters, connect links all work as for one server); the bundle
//! sits between them and the client. It answers `initialize` from all of
//! them, merges their lists with names prefixed `<server>__`, routes each
//! call, read and cancellation to its owner, remaps the ids of the servers'
//! own requests, and turns any server's `list_changed` (or a server coming
//! back) into one notification. A server that fails drops out of the lists
//! and comes back when it answers again. An `auth = "oauth"` server that is
//! not signed in is answered for, as the sign-in gate does for one server:
//! its cached tools (or a `sign_in` tool) are listed, a call to one returns
//! the sign-in link, and its real tools come in once it is signed in. One
//! server is never served through here: `serve <name>` keeps the direct
//! relay.

mod fan_out;
mod member;
mod merge;
mod routes;

use crate::client::{self, FLUSH_LIMIT, Outbox, ToClient};
use crate::config::{Config, Resolver};
use crate::hooks::Upstream;
use crate::jsonrpc::{self, Kind};
use crate::provider::{self, Setup};
use crate::redact::Redactor;
use crate::relay;
use crate::remote::Remote;
use crate::remote::inbound::Inbound;
use crate::shutdown;
use member::Member;
use routes::Routes;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

/// How long list changes are gathered into one notification.
const COALESCE: Duration = Duration::from_millis(100);

pub struct Bundle {
    members: Vec<Arc<Member>>,
    out: Outbox,
    routes: Routes,
    /// The client's `initialize`, replayed to servers that come up late.
    init: Mutex<Option<Value>>,
    client_initialized: std::sync::atomic::AtomicBool,
    changed: Mutex<BTreeSet<&'static str>>,
    change_bell: Notify,
    /// Told at the stop: each member's feed passes on what is queued and ends.
    stop_feeds: watch::Sender<bool>,
    /// The members' feeds, and the watchers of list changes and sign-ins.
    feeds: Mutex<Vec<JoinHandle<()>>>,
    watchers: Mutex<Vec<JoinHandle<()>>>,
}

/// The servers `serve NAMES` merges, or None when it serves one server
/// directly: two or more names, one naming a `[bundles.<name>]` entry, or
/// none when `default` names one.
pub fn servers_of(config: &Config, names: &[String]) -> Option<Vec<String>> {
    match names {
        [] => config
            .default
            .as_ref()
            .and_then(|d| config.bundles.get(d))
            .map(|b| b.servers.clone()),
        [one] => config.bundles.get(one).map(|b| b.servers.clone()),
        many => Some(many.to_vec()),
    }
}

/// Whether `serve NAMES` is a bundle (loads the config; a broken config is
/// left to the caller's usual path to report).
pub fn is_bundle(config_flag: Option<&Path>, names: &[String]) -> bool {
    match names.len() {
        0 | 1 => Config::load(config_flag).is_ok_and(|c| servers_of(&c, names).is_some()),
        _ => true,
    }
}

/// Run `serve` for a bundle until stdin closes.
pub async fn serve(config_flag: Option<&Path>, names: &[String]) -> Result<(), String> {
    let redactor = Redactor::new();
    let prepared = match prepare(config_flag, names, &redactor).await {
        Ok(p) => p,
        Err(e) => {
            if !std::io::stdin().is_terminal() {
                let why = format!("mcp-bridge cannot start: {e}");
                relay::refuse_all(client::stdin(), client::stdout(), &why).await;
            }
            return Err(e);
        }
    };
    tracing::info!(servers = ?names, "serving a bundle on stdio");
    relay_prepared(prepared, &redactor, client::stdin(), client::stdout()).await
}

/// Serve prepared servers as one on `input`/`output` until `input` closes
/// (stdio for `serve`; an in-memory pipe for `tools` and `call`).
pub async fn relay_prepared(
    prepared: Vec<(String, provider::Prepared)>,
    redactor: &Redactor,
    input: impl AsyncRead + Unpin,
    output: impl AsyncWrite + Unpin + Send + 'static,
) -> Result<(), String> {
    let (out, rx) = Outbox::channel();
    let writer = client::spawn_writer(rx, output);
    let mut keep_alive = Vec::new();
    let mut members = Vec::new();
    let mut feeds = Vec::new();
    for (name, p) in prepared {
        if p.hooks.is_some() && p.oauth.is_none() {
            tracing::warn!(server = %name, "the provider's hooks are not applied inside a bundle");
        }
        let (member_out, feed) = Outbox::channel();
        let filter = p.endpoint.tools.clone();
        let inbound = Arc::new(Inbound::new(member_out).with_transforms(p.transforms));
        let remote =
            Remote::new(p.endpoint, inbound.clone()).map_err(|e| redactor.apply(&format!("server `{name}`: {e}")))?;
        let remote = Arc::new(remote);
        inbound.bind(&(remote.clone() as Arc<dyn Upstream>));
        members.push(Arc::new(Member::new(name, remote, filter, p.oauth)));
        feeds.push(feed);
        keep_alive.push(p.keep_alive);
    }
    let bundle = Arc::new(Bundle {
        members,
        out: out.clone(),
        routes: Routes::default(),
        init: Mutex::new(None),
        client_initialized: false.into(),
        changed: Mutex::new(BTreeSet::new()),
        change_bell: Notify::new(),
        stop_feeds: watch::channel(false).0,
        feeds: Mutex::default(),
        watchers: Mutex::default(),
    });
    for (i, feed) in feeds.into_iter().enumerate() {
        let stopped = bundle.stop_feeds.subscribe();
        let task = tokio::spawn(bundle.clone().feed(i, feed, stopped));
        lock(&bundle.feeds).push(task);
    }
    let b = bundle.clone();
    let mut watchers = vec![tokio::spawn(async move { b.announce_changes().await })];
    for m in bundle.members.iter().filter(|m| m.oauth.is_some()) {
        let (b, m) = (bundle.clone(), m.clone());
        watchers.push(tokio::spawn(async move { b.follow_sign_in(&m).await }));
    }
    *lock(&bundle.watchers) = watchers;
    shutdown::serve_until_stopped(input, bundle, &out, writer).await;
    drop(keep_alive);
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The bundle's servers, each prepared as for `serve <name>`.
pub async fn prepare(
    config_flag: Option<&Path>,
    names: &[String],
    redactor: &Redactor,
) -> Result<Vec<(String, provider::Prepared)>, String> {
    let config = Config::load(config_flag).map_err(|e| e.to_string())?;
    let servers = servers_of(&config, names).unwrap_or_else(|| names.to_vec());
    let mut seen = BTreeSet::new();
    let resolver = Resolver::new();
    let mut out = Vec::new();
    for name in servers {
        if !seen.insert(name.clone()) {
            return Err(format!("server `{name}` is named twice in the bundle"));
        }
        let (name, entry) = config.select(Some(&name)).map_err(|e| e.to_string())?;
        let setup = Setup::new(name, entry, &config, &resolver, redactor);
        let prepared = provider::prepare(setup).await.map_err(|e| e.to_string())?;
        out.push((name.to_string(), prepared));
    }
    if out.len() < 2 {
        return Err("a bundle needs at least two servers".into());
    }
    Ok(out)
}

impl Bundle {
    /// Carry member `i`'s messages on to the client. At the stop it passes
    /// on what is queued by then and ends, before the writer does the same:
    /// an answer that reached a member is written.
    async fn feed(
        self: Arc<Self>,
        i: usize,
        mut feed: tokio::sync::mpsc::UnboundedReceiver<ToClient>,
        mut stopped: watch::Receiver<bool>,
    ) {
        // A member's answers are renumbered for the client, so a raw one is
        // parsed here.
        let pass_on = |msg: ToClient| {
            if let Some(msg) = msg.into_value() {
                self.remote_message(i, msg);
            }
        };
        loop {
            tokio::select! {
                biased;
                msg = feed.recv() => match msg {
                    Some(msg) => pass_on(msg),
                    None => return,
                },
                _ = stopped.changed() => {
                    while let Ok(msg) = feed.try_recv() {
                        pass_on(msg);
                    }
                    return;
                }
            }
        }
    }

    /// The end of the stop's step 4: the watchers stop, and the feeds pass
    /// on their last messages (for at most `FLUSH_LIMIT`).
    async fn stop_feeds(&self) {
        lock(&self.watchers).iter().for_each(|w| w.abort());
        let _ = self.stop_feeds.send(true);
        let feeds = std::mem::take(&mut *lock(&self.feeds));
        let _ = tokio::time::timeout(FLUSH_LIMIT, futures::future::join_all(feeds)).await;
    }

    fn names(&self) -> Vec<&str> {
        self.members.iter().map(|m| m.name.as_str()).collect()
    }

    fn send(&self, msg: Value) {
        let _ = self.out.send(msg);
    }

    fn init_request(&self) -> Option<Value> {
        self.init.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A list of kind `what` changed (or may have): tell the client soon,
    /// once for a burst.
    fn list_changed(&self, method: &'static str) {
        self.changed.lock().unwrap_or_else(|e| e.into_inner()).insert(method);
        self.change_bell.notify_one();
    }

    async fn announce_changes(&self) {
        loop {
            self.change_bell.notified().await;
            tokio::time::sleep(COALESCE).await;
            let methods = std::mem::take(&mut *self.changed.lock().unwrap_or_else(|e| e.into_inner()));
            for m in methods {
                self.send(json!({"jsonrpc": "2.0", "method": m}));
            }
        }
    }

    /// A message from member `i`'s remote, on its way to the client.
    fn remote_message(&self, i: usize, mut msg: Value) {
        let name = &self.members[i].name;
        match jsonrpc::kind(&msg) {
            Kind::Request => {
                let id = msg.get("id").cloned().unwrap_or(Value::Null);
                msg["id"] = self.routes.remap(name, i, &id);
            }
            Kind::Notification => match jsonrpc::method(&msg) {
                Some(
                    m @ ("notifications/tools/list_changed"
                    | "notifications/prompts/list_changed"
                    | "notifications/resources/list_changed"),
                ) => {
                    let m = match m {
                        "notifications/tools/list_changed" => "notifications/tools/list_changed",
                        "notifications/prompts/list_changed" => "notifications/prompts/list_changed",
                        _ => "notifications/resources/list_changed",
                    };
                    self.list_changed(m);
                    return;
                }
                Some("notifications/cancelled") => {
                    // The server gave up on one of its own requests.
                    let mapped = msg
                        .pointer("/params/requestId")
                        .and_then(|id| self.routes.mapped(name, id));
                    if let Some(new) = mapped {
                        msg["params"]["requestId"] = new;
                    }
                }
                _ => {}
            },
            Kind::Response | Kind::Invalid => {}
        }
        self.send(msg);
    }
}
