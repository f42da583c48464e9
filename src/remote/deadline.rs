//! Request deadlines, all watched by one thread of their own.
//!
//! A tokio timer per request would make the runtime wake itself on every
//! call: a timer due earlier than every other one must interrupt the
//! runtime's sleep (a write to its eventfd and one more `epoll_wait`), and
//! between two sequential calls there is no other timer. A timer of any
//! kind in the runtime also makes each of its sleeps a sleep with a timeout,
//! which the kernel arms and cancels every time: on the project's machine,
//! with one pending, a relayed call cost the bridge about a tenth more time
//! (bench `c)`, bridge/floor 1.2–1.3× against 1.06–1.13× without).
//!
//! So each request puts its deadline in a shared table, and one thread
//! sleeps until the earliest deadline it knows of and tells the requests
//! whose time is up. A later deadline (the next sequential call's) is
//! noticed when that thread next wakes, so it wakes no one; only one earlier
//! than everything known (the first call after a quiet spell) wakes the
//! thread to sleep less. The runtime itself keeps no timer for them and
//! sleeps with no timeout while it waits for the remote or the client.

use super::error::RemoteError;
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, oneshot};

#[derive(Default)]
pub struct Deadlines {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    table: Mutex<Table>,
    /// Wakes the watcher to sleep less (or to end, once `closed`).
    earlier: Condvar,
}

/// The deadlines of the requests in flight, and what the watcher is doing.
#[derive(Default)]
struct Table {
    waiting: BTreeMap<(Instant, u64), oneshot::Sender<()>>,
    next_key: u64,
    /// What the watcher sleeps until (None: until it is woken).
    armed: Option<Instant>,
    watching: bool,
    /// The table is gone: the watcher ends.
    closed: bool,
    /// Every deadline has passed, and each one set from now on passes at
    /// once: the bridge is stopping (`Deadlines::expire_all`).
    all_expired: bool,
}

/// One request's deadline; dropping it takes the deadline out.
pub struct Deadline {
    table: Arc<Shared>,
    key: (Instant, u64),
    expired: oneshot::Receiver<()>,
}

/// The watcher's stack: it only moves senders out of a map.
const WATCHER_STACK: usize = 64 * 1024;

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn insert(self: &Arc<Self>, at: Instant, tx: oneshot::Sender<()>) -> (Instant, u64) {
        let mut st = self.lock();
        let key = (at, st.next_key);
        st.next_key += 1;
        if st.all_expired {
            let _ = tx.send(());
            return key;
        }
        st.waiting.insert(key, tx);
        if !st.watching {
            let me = self.clone();
            let started = std::thread::Builder::new()
                .name("mcp-bridge-deadlines".into())
                .stack_size(WATCHER_STACK)
                .spawn(move || watch(&me));
            match started {
                Ok(_) => {
                    st.watching = true;
                    st.armed = Some(at);
                }
                // Without the thread no deadline fires: said at each one set.
                Err(e) => tracing::warn!("could not start the request deadline watcher: {e}"),
            }
        } else if st.armed.is_none_or(|armed| at < armed) {
            st.armed = Some(at);
            self.earlier.notify_one();
        }
        key
    }
}

impl Deadlines {
    /// A deadline at `at` (a tokio instant: the same clock).
    pub fn at(&self, at: tokio::time::Instant) -> Deadline {
        let at = at.into_std();
        let (tx, expired) = oneshot::channel();
        let key = self.shared.insert(at, tx);
        Deadline {
            table: self.shared.clone(),
            key,
            expired,
        }
    }

    /// Every deadline passes now, and each one set or moved from now on at
    /// once: the requests waiting on them end as if their time were up.
    pub fn expire_all(&self) {
        let mut st = self.shared.lock();
        st.all_expired = true;
        for (_, tx) in std::mem::take(&mut st.waiting) {
            let _ = tx.send(());
        }
    }
}

/// How waiting for one answer ended.
pub enum Waited {
    /// The answer came (its copy, when one was asked for).
    Answered(Option<Value>),
    /// The request could not be delivered.
    Undelivered(RemoteError),
    /// The deadline passed first.
    Expired,
}

impl Deadline {
    /// Wait for `answer` while `deliver` sends the request, until this
    /// deadline passes; each notification of `progress` moves it `timeout`
    /// later.
    pub async fn wait(
        &mut self,
        answer: &mut oneshot::Receiver<Value>,
        deliver: impl Future<Output = Result<(), RemoteError>>,
        progress: Option<&Notify>,
        timeout: Duration,
    ) -> Waited {
        tokio::pin!(deliver);
        let mut delivered = false;
        loop {
            tokio::select! {
                resp = &mut *answer => return Waited::Answered(resp.ok()),
                r = &mut deliver, if !delivered => {
                    delivered = true;
                    if let Err(e) = r {
                        return Waited::Undelivered(e);
                    }
                }
                () = self.expired() => return Waited::Expired,
                () = async {
                    match progress {
                        Some(n) => n.notified().await,
                        None => std::future::pending().await,
                    }
                } => {
                    self.reset(tokio::time::Instant::now() + timeout);
                }
            }
        }
    }

    /// Resolves once the deadline has passed.
    pub async fn expired(&mut self) {
        // The sender goes only with its entry, which `reset` replaces (with
        // a new receiver) and `Drop` removes: no error ends a wait early.
        if (&mut self.expired).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Move the deadline to `at`.
    pub fn reset(&mut self, at: tokio::time::Instant) {
        self.table.lock().waiting.remove(&self.key);
        let (tx, expired) = oneshot::channel();
        self.key = self.table.insert(at.into_std(), tx);
        self.expired = expired;
    }
}

impl Drop for Deadlines {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.earlier.notify_one(); // the watcher ends
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        self.table.lock().waiting.remove(&self.key);
    }
}

/// The watcher: tells each request whose deadline has passed, and sleeps
/// until the earliest one left (or until woken for an earlier one). Ends
/// once the table is dropped.
fn watch(table: &Shared) {
    let mut st = table.lock();
    loop {
        if st.closed {
            return;
        }
        let now = Instant::now();
        while let Some(entry) = st.waiting.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let _ = entry.remove().send(());
        }
        st.armed = st.waiting.first_key_value().map(|((at, _), _)| *at);
        st = match st.armed {
            Some(at) => {
                let wait = at.saturating_duration_since(now);
                table
                    .earlier
                    .wait_timeout(st, wait)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
            None => table.earlier.wait(st).unwrap_or_else(|e| e.into_inner()),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const MS: Duration = Duration::from_millis(1);
    /// A wait that only bounds a hang (no deadline here is due so late), or
    /// a deadline that is not meant to come during a test.
    const HANG: Duration = Duration::from_secs(30);

    /// Waits for `d` and checks it did not expire before `at`.
    async fn expires_not_before(d: &mut Deadline, at: tokio::time::Instant) {
        tokio::time::timeout(HANG, d.expired())
            .await
            .expect("the deadline never expired");
        let now = tokio::time::Instant::now();
        assert!(now >= at, "expired {:?} early", at - now);
    }

    /// Whether `d` has expired already (without waiting).
    async fn has_expired(d: &mut Deadline) -> bool {
        tokio::time::timeout(Duration::ZERO, d.expired()).await.is_ok()
    }

    #[tokio::test]
    async fn each_deadline_expires_at_its_time_and_not_before() {
        let table = Deadlines::default();
        let start = tokio::time::Instant::now();
        let mut late = table.at(start + 300 * MS);
        let mut early = table.at(start + 100 * MS);
        expires_not_before(&mut early, start + 100 * MS).await;
        if tokio::time::Instant::now() < start + 300 * MS {
            assert!(!has_expired(&mut late).await, "the later one went with the earlier");
        }
        expires_not_before(&mut late, start + 300 * MS).await;
    }

    #[tokio::test]
    async fn a_reset_deadline_waits_from_its_new_time() {
        let table = Deadlines::default();
        let start = tokio::time::Instant::now();
        let mut d = table.at(start + 100 * MS);
        tokio::time::sleep(50 * MS).await;
        d.reset(start + 250 * MS);
        expires_not_before(&mut d, start + 250 * MS).await;
        // One set earlier than all the watcher knows of wakes it: it expires
        // long before the far one the watcher was sleeping for.
        let start = tokio::time::Instant::now();
        let far_at = start + HANG;
        let mut far = table.at(far_at);
        let mut other = table.at(start + 200 * MS);
        let mut near = table.at(start + 100 * MS);
        expires_not_before(&mut near, start + 100 * MS).await;
        assert!(tokio::time::Instant::now() < far_at);
        assert!(!has_expired(&mut far).await);
        // A dropped deadline never fires; the others still do.
        drop(table.at(tokio::time::Instant::now() + MS));
        expires_not_before(&mut other, start + 200 * MS).await;
    }

    #[tokio::test]
    async fn expiring_all_ends_every_wait_now_and_every_later_one_at_once() {
        let table = Deadlines::default();
        let far = tokio::time::Instant::now() + HANG;
        let mut a = table.at(far);
        let mut b = table.at(far);
        assert!(!has_expired(&mut a).await);
        table.expire_all();
        assert!(has_expired(&mut a).await && has_expired(&mut b).await);
        let mut later = table.at(far);
        assert!(has_expired(&mut later).await, "a deadline set after the stop waited");
        a.reset(far);
        assert!(has_expired(&mut a).await, "a deadline moved after the stop waited");
    }

    #[tokio::test]
    async fn the_watcher_ends_with_its_table() {
        let table = Deadlines::default();
        let shared = Arc::downgrade(&table.shared);
        let d = table.at(tokio::time::Instant::now() + 60 * 1000 * MS);
        drop(d);
        drop(table);
        // The thread holds the table until it has seen it closed.
        let start = std::time::Instant::now();
        while shared.strong_count() > 0 {
            assert!(start.elapsed() < HANG, "the watcher thread did not end");
            std::thread::sleep(MS);
        }
    }
}
