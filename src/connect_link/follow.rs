//! Holding a connect-link answer to follow it up, so no request hangs:
//! every wait ends at the server's `timeout`, and then the client gets the
//! answer it would have got anyway (with the notice).
//!
//! A call is sent again only when the answer says it did not run
//! (`accountRequired: true`, as Pipedream's hosted server answers): a link
//! in a result that does not say so may come from a tool that already did
//! its work (sent the email), and running it twice is worse than asking
//! the person to try again.
//!
//! - `retry_on_account_required = N`: the call is retried up to N times first
//!   (providers sometimes say an account is missing when it is not); a
//!   retry that goes through is the answer.
//! - URL-mode elicitation: the answer waits for the person. Declined or
//!   cancelled, the notice goes out at once. Accepted, the bridge retries
//!   the original call until it goes through (a refused attempt runs
//!   nothing), returns that real result, and tells the client the
//!   elicitation is complete; for a call that may have run, the notice
//!   goes out instead.
//! - After a connect (a call that asked for one now goes through), the
//!   client gets `notifications/tools/list_changed`: the provider's tool
//!   list may grow once an account exists.

use super::surface;
use super::{Call, ConnectLink, Inner, app_key};
use crate::client::Outbox;
use crate::hooks::Upstream;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The first pause between retries after the person accepted.
const FIRST_POLL: Duration = Duration::from_millis(250);
const LONGEST_POLL: Duration = Duration::from_secs(5);

/// Whether to ask through an elicitation (claims the app while it is out).
fn may_ask(inner: &Inner, call: &Call, link: &ConnectLink) -> bool {
    let key = app_key(link);
    let st = inner.state();
    inner.settings.elicit && call.url_mode && !st.asking.contains(&key) && !st.declined.contains(&key)
}

/// Whether the answer says the call did not run, so sending it again is safe.
fn did_not_run(response: &Value) -> bool {
    response
        .get("result")
        .is_some_and(|r| super::account_required(r) == Some(true))
}

pub(super) fn worth_holding(inner: &Inner, call: &Call, response: &Value, link: &ConnectLink) -> bool {
    let retry = inner.settings.retry_on_account_required > 0 && did_not_run(response);
    !call.params.is_null() && (retry || may_ask(inner, call, link))
}

/// A call that once asked for a connect went through: the account exists.
pub(super) fn connected(inner: &Inner, tool: &str, out: &Outbox) {
    let mut st = inner.state();
    let Some(app) = st.awaiting.remove(tool) else {
        return;
    };
    st.awaiting.retain(|_, a| *a != app);
    st.declined.remove(&app);
    drop(st);
    tracing::info!(server = %inner.server, app, "account connected; telling the client the tool list changed");
    let _ = out.send(json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}));
}

enum Retried {
    /// The call went through (or failed for its own reasons): the answer.
    Done(Value),
    /// Still asks for a connect: its answer and (fresh) link.
    Link(Value, ConnectLink),
}

/// Send the original call again, within `deadline`.
async fn retry(inner: &Inner, upstream: &dyn Upstream, params: &Value, deadline: Instant) -> Option<Retried> {
    let msg = json!({"jsonrpc": "2.0", "id": crate::ids::next("retry"), "method": "tools/call", "params": params});
    let answer = tokio::time::timeout_at(deadline, upstream.request_own(msg)).await;
    match answer {
        Ok(Ok(resp)) => Some(match inner.link_in(&resp) {
            Some(link) => Retried::Link(resp, link),
            None => Retried::Done(resp),
        }),
        Ok(Err(e)) => {
            tracing::debug!(server = %inner.server, "retrying the call failed: {e}");
            None
        }
        Err(_) => None,
    }
}

/// Write `resp` to the client as the answer to `id`.
fn answer(out: &Outbox, id: &Value, mut resp: Value) {
    resp["id"] = id.clone();
    let _ = out.send(resp);
}

/// Removes its entry from a map when dropped (the wait ended, however).
struct Claim<'a>(&'a Inner, String);

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.0.state().asking.remove(&self.1);
    }
}

/// Forgets an elicitation's id when dropped (answered, timed out, or the
/// wait dropped).
struct Elicited<'a>(&'a Inner, String);

impl Drop for Elicited<'_> {
    fn drop(&mut self) {
        self.0.asked.forget(&Value::from(self.1.as_str()));
    }
}

/// Follow a held answer up in a task of its own, unless the client cancels
/// the call first.
pub(super) fn hold(inner: Arc<Inner>, upstream: Arc<dyn Upstream>, call: Call, held: Value, link: ConnectLink) {
    // Registered before the task starts, so an early cancel is not missed.
    let key = crate::jsonrpc::id_key(held.get("id").unwrap_or(&Value::Null));
    let cancel = Arc::new(tokio::sync::Notify::new());
    inner.held().insert(key.clone(), cancel.clone());
    let task = async move {
        tokio::select! {
            () = cancel.notified() => tracing::debug!(server = %inner.server, "a held call was cancelled"),
            () = follow(&inner, &*upstream, &call, held, link) => {}
        }
        inner.held().remove(&key);
    };
    tokio::spawn(task);
}

async fn follow(inner: &Inner, upstream: &dyn Upstream, call: &Call, mut held: Value, mut link: ConnectLink) {
    let id = held.get("id").cloned().unwrap_or(Value::Null);
    let deadline = Instant::now() + inner.timeout;
    let retries = if did_not_run(&held) {
        inner.settings.retry_on_account_required
    } else {
        0
    };
    for _ in 0..retries {
        match retry(inner, upstream, &call.params, deadline).await {
            Some(Retried::Done(resp)) => {
                tracing::info!(server = %inner.server, "the call went through on retry; the account was there");
                connected(inner, &call.tool, &call.out);
                return answer(&call.out, &id, resp);
            }
            Some(Retried::Link(resp, fresh)) => {
                if let Some(result) = resp.get("result") {
                    held["result"] = result.clone();
                }
                link = fresh;
            }
            None => break,
        }
    }
    let ask = may_ask(inner, call, &link);
    let claim = ask.then(|| {
        inner.state().asking.insert(app_key(&link));
        Claim(inner, app_key(&link))
    });
    let may_retry = did_not_run(&held);
    surface::show(inner, call, &mut held, &link);
    if ask && let Some(resp) = elicit(inner, upstream, call, &link, deadline, may_retry).await {
        drop(claim);
        connected(inner, &call.tool, &call.out);
        return answer(&call.out, &id, resp);
    }
    drop(claim);
    answer(&call.out, &id, held);
}

/// Ask the person through a URL-mode elicitation; once accepted, retry the
/// call (when `may_retry`) until it goes through. The real answer, or None
/// by `deadline` (or when the person said no, or the call may have run).
async fn elicit(
    inner: &Inner,
    upstream: &dyn Upstream,
    call: &Call,
    link: &ConnectLink,
    deadline: Instant,
    may_retry: bool,
) -> Option<Value> {
    let id = crate::ids::next("connect");
    let elicitation_id = crate::ids::next("elicitation");
    let reply = inner.expect_answer(&id);
    let _elicited = Elicited(inner, id.clone());
    let _ = call.out.send(surface::elicitation(&id, &elicitation_id, link));
    let said = tokio::time::timeout_at(deadline, reply).await;
    let action = said
        .as_ref()
        .ok()
        .and_then(|r| r.as_ref().ok())
        .and_then(|m| m.pointer("/result/action").and_then(Value::as_str).map(str::to_string));
    if action.as_deref() != Some("accept") {
        if matches!(action.as_deref(), Some("decline")) {
            inner.state().declined.insert(app_key(link));
        }
        tracing::info!(server = %inner.server, action = action.as_deref().unwrap_or("none"), "connect not accepted");
        return None;
    }
    if !may_retry {
        tracing::info!(server = %inner.server, "connect accepted; the call may have run, so it is not sent again");
        return None;
    }
    let mut pause = FIRST_POLL;
    loop {
        tokio::time::sleep_until((Instant::now() + pause).min(deadline)).await;
        if Instant::now() >= deadline {
            return None;
        }
        match retry(inner, upstream, &call.params, deadline).await? {
            Retried::Done(resp) => {
                let done = json!({"jsonrpc": "2.0", "method": "notifications/elicitation/complete",
                                  "params": {"elicitationId": elicitation_id}});
                let _ = call.out.send(done);
                return Some(resp);
            }
            Retried::Link(..) => pause = (pause * 3 / 2).min(LONGEST_POLL),
        }
    }
}
