//! The fast lane to stdout: a small answer written by the task that has
//! it, at once, instead of being queued for the writer task.
//!
//! Through the writer, an answer waits for the task that read it to finish
//! its call (dropping the call's state, handing its connection back) and for
//! the writer to be scheduled and copy it into its buffer; the client only
//! then gets it. When nothing is queued before it, the line goes out in one
//! non-blocking write instead. Order is kept by one count: messages queued
//! for the writer and not yet written. The lane writes only while it is
//! zero; what it cannot write whole (the pipe is full) is queued behind,
//! and every send takes the lane's lock, so nothing overtakes it.
//!
//! Only for a stdout that is a pipe or socket of the bridge's own, in
//! non-blocking mode (`stdio::stdout`); elsewhere every message goes to the
//! writer.

use std::fs::File;
use std::io::{self, IoSlice, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The longest line the lane writes itself. A pipe holds 64 KiB; a longer
/// answer (one not taken whole) would have to be copied to be queued.
const MAX_LINE: usize = 16 * 1024;

pub struct Lane {
    /// stdout (a second handle to it), non-blocking.
    out: Mutex<File>,
    /// Messages queued for the writer task and not yet written by it.
    queued: AtomicUsize,
}

/// Held while a message is queued, so nothing is written in between.
pub type Guard<'a> = std::sync::MutexGuard<'a, File>;

impl Lane {
    pub fn new(out: File) -> Arc<Lane> {
        Arc::new(Lane {
            out: Mutex::new(out),
            queued: AtomicUsize::new(0),
        })
    }

    fn lock(&self) -> Guard<'_> {
        self.out.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Count one message for the writer; queue it while the guard is held.
    pub fn will_queue(&self) -> Guard<'_> {
        let guard = self.lock();
        self.queued.fetch_add(1, Ordering::AcqRel);
        guard
    }

    /// The writer has written (and flushed) `n` queued messages.
    pub fn written(&self, n: usize) {
        self.queued.fetch_sub(n, Ordering::AcqRel);
    }

    /// Write `line` (one message, no line break) now if nothing is queued
    /// before it: None once it is written whole. Else, or for what the pipe
    /// does not take, `queue` it (with the count raised, under the lock)
    /// and return what `queue` returns.
    pub fn offer<T>(&self, mut line: Vec<u8>, queue: impl FnOnce(Vec<u8>) -> T) -> Option<T> {
        let mut out = self.lock();
        if line.len() <= MAX_LINE && self.queued.load(Ordering::Acquire) == 0 {
            let mut written = 0;
            loop {
                let rest: &[IoSlice<'_>] = &if written < line.len() {
                    [IoSlice::new(&line[written..]), IoSlice::new(b"\n")]
                } else {
                    [IoSlice::new(b"\n"), IoSlice::new(b"")]
                };
                match out.write_vectored(rest) {
                    Ok(0) => break,
                    Ok(n) => {
                        written += n;
                        if written > line.len() {
                            return None;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    // Full (or failing): the writer takes it from here.
                    Err(_) => break,
                }
            }
            line.drain(..written);
        }
        self.queued.fetch_add(1, Ordering::AcqRel);
        let queued = queue(line);
        drop(out);
        Some(queued)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::fd::AsFd;
    use tokio::net::unix::pipe;

    /// Up to `at_most` bytes readable from `rx` now.
    fn drain(mut rx: &File, at_most: usize) -> Vec<u8> {
        use std::io::Read;
        let mut got = vec![0; at_most];
        let n = rx.read(&mut got).unwrap_or(0);
        got.truncate(n);
        got
    }

    /// A second, plain handle to a pipe end (non-blocking, as tokio set it).
    fn plain(end: &impl AsFd) -> File {
        File::from(end.as_fd().try_clone_to_owned().unwrap())
    }

    #[tokio::test]
    async fn a_line_goes_out_at_once_only_when_nothing_is_queued_before_it() {
        let (tx, rx) = pipe::pipe().unwrap();
        let (mut tx, rx) = (plain(&tx), plain(&rx));
        let lane = Lane::new(tx.try_clone().unwrap());
        let queued = |line: Vec<u8>| line;

        // Nothing queued: written whole, with its line break.
        assert!(lane.offer(b"{\"id\":1}".to_vec(), queued).is_none());
        assert_eq!(drain(&rx, 100), b"{\"id\":1}\n");

        // The pipe full: queued as it is, and counted.
        let mut filled = 0;
        while let Ok(n) = tx.write(&[b' '; 4096]) {
            filled += n;
        }
        assert_eq!(
            lane.offer(b"{\"id\":2}".to_vec(), queued).as_deref(),
            Some(&b"{\"id\":2}"[..])
        );
        // Room again, but a message is queued before it: queued too.
        let taken = drain(&rx, 4096).len();
        assert_eq!(
            lane.offer(b"{\"id\":3}".to_vec(), queued).as_deref(),
            Some(&b"{\"id\":3}"[..])
        );
        let _guard = lane.will_queue();
        drop(_guard);
        assert_eq!(lane.queued.load(Ordering::Acquire), 3);

        // Once the writer has written them, the lane writes again; what the
        // pipe does not take is handed back to be queued, nothing lost.
        lane.written(3);
        let line = vec![b'x'; 10_000];
        let rest = lane
            .offer(line.clone(), queued)
            .expect("the pipe had room for only part of it");
        assert!(
            !rest.is_empty() && rest.len() < line.len(),
            "{} of {}",
            rest.len(),
            line.len()
        );
        let mut out = Vec::new();
        while out.len() < filled - taken + line.len() - rest.len() {
            let got = drain(&rx, 1 << 16);
            assert!(!got.is_empty(), "the pipe holds less than was written");
            out.extend(got);
        }
        assert!(out.ends_with(&line[..line.len() - rest.len()]));
        // Too long for the lane: queued whole.
        lane.written(1);
        let long = vec![b'y'; MAX_LINE + 1];
        assert_eq!(lane.offer(long.clone(), queued), Some(long));
    }
}
