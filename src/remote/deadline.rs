//! Request deadlines, all watched by one timer.
//!
//! A tokio timer per request would make the runtime wake itself on every
//! call: a timer due earlier than every other one must interrupt the
//! runtime's sleep (a write to its eventfd and one more `epoll_wait`), and
//! between two sequential calls there is no other timer. Here each request
//! puts its deadline in a shared table; one task sleeps until the earliest
//! deadline it knows of and tells the requests whose time is up. A later
//! deadline (the next sequential call's) is noticed when that task next
//! wakes, so it changes no timer; only one earlier than everything known
//! (the first call after a quiet spell) wakes the task to re-arm.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

#[derive(Default)]
pub struct Deadlines {
    state: Mutex<State>,
    /// Wakes the watcher to re-arm for an earlier deadline (or to end, once
    /// the table is dropped).
    earlier: Arc<Notify>,
}

#[derive(Default)]
struct State {
    waiting: BTreeMap<(Instant, u64), oneshot::Sender<()>>,
    next_key: u64,
    /// What the watcher sleeps until (None: it waits for `earlier`).
    armed: Option<Instant>,
    watching: bool,
}

/// One request's deadline; dropping it takes the deadline out.
pub struct Deadline {
    table: Arc<Deadlines>,
    key: (Instant, u64),
    expired: oneshot::Receiver<()>,
}

impl Deadlines {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A deadline at `at`. Call within the runtime (it may start the watcher).
    pub fn at(self: &Arc<Self>, at: Instant) -> Deadline {
        let (tx, expired) = oneshot::channel();
        let key = self.insert(at, tx);
        Deadline {
            table: self.clone(),
            key,
            expired,
        }
    }

    fn insert(self: &Arc<Self>, at: Instant, tx: oneshot::Sender<()>) -> (Instant, u64) {
        let mut st = self.lock();
        let key = (at, st.next_key);
        st.next_key += 1;
        st.waiting.insert(key, tx);
        if !st.watching {
            st.watching = true;
            st.armed = Some(at);
            tokio::spawn(watch(Arc::downgrade(self), self.earlier.clone(), at));
        } else if st.armed.is_none_or(|armed| at < armed) {
            st.armed = Some(at);
            self.earlier.notify_one();
        }
        key
    }
}

impl Deadline {
    /// Resolves once the deadline has passed.
    pub async fn expired(&mut self) {
        // The sender goes only with its entry, which `reset` replaces (with
        // a new receiver) and `Drop` removes: no error ends a wait early.
        if (&mut self.expired).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Move the deadline to `at`.
    pub fn reset(&mut self, at: Instant) {
        self.table.lock().waiting.remove(&self.key);
        let (tx, expired) = oneshot::channel();
        self.key = self.table.insert(at, tx);
        self.expired = expired;
    }
}

impl Drop for Deadlines {
    fn drop(&mut self) {
        self.earlier.notify_one(); // the watcher ends
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        self.table.lock().waiting.remove(&self.key);
    }
}

/// The watcher: tells each request whose deadline has passed, and sleeps
/// until the earliest one left. Holds its table only while working, and
/// ends once the table is gone.
async fn watch(table: Weak<Deadlines>, earlier: Arc<Notify>, first: Instant) {
    let mut until = Some(first);
    loop {
        match until {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = earlier.notified() => {}
                }
            }
            None => earlier.notified().await,
        }
        let Some(table) = table.upgrade() else { return };
        let mut st = table.lock();
        let now = Instant::now();
        while let Some(entry) = st.waiting.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let _ = entry.remove().send(());
        }
        until = st.waiting.first_key_value().map(|((at, _), _)| *at);
        st.armed = until;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const MS: Duration = Duration::from_millis(1);
    /// How late a deadline may be noticed on a loaded machine.
    const SLACK: Duration = Duration::from_secs(2);

    /// Waits for `d` and checks it expired `after` from `start`, not before.
    async fn expires(d: &mut Deadline, start: Instant, after: Duration) {
        d.expired().await;
        let took = Instant::now() - start;
        assert!(took >= after && took < after + SLACK, "{took:?}, expected {after:?}");
    }

    #[tokio::test]
    async fn each_deadline_expires_at_its_time_and_not_before() {
        let table = Arc::new(Deadlines::default());
        let start = Instant::now();
        let mut late = table.at(start + 300 * MS);
        let mut early = table.at(start + 100 * MS);
        expires(&mut early, start, 100 * MS).await;
        expires(&mut late, start, 300 * MS).await;
    }

    #[tokio::test]
    async fn a_reset_deadline_waits_from_its_new_time() {
        let table = Arc::new(Deadlines::default());
        let start = Instant::now();
        let mut d = table.at(start + 100 * MS);
        tokio::time::sleep(50 * MS).await;
        d.reset(start + 250 * MS);
        expires(&mut d, start, 250 * MS).await;
        // One set earlier than all the watcher knows of is noticed in time.
        let start = Instant::now();
        let mut far = table.at(start + 400 * MS);
        let mut near = table.at(start + 100 * MS);
        expires(&mut near, start, 100 * MS).await;
        // A dropped deadline never fires; the others still do.
        drop(table.at(Instant::now() + MS));
        expires(&mut far, start, 400 * MS).await;
    }
}
