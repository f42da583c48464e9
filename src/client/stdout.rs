//! The single writer of stdout. Every message for the client goes through
//! one channel to this task, which writes one JSON line per message and
//! flushes whenever the queue is drained, so answers leave as soon as they
//! arrive and lines never interleave. At the end the stop sequence (`shutdown`) tells it
//! to finish: it writes what is queued by then and stops, without waiting for
//! every sender (background tasks may hold one a while longer).

use super::{Lane, ToClient};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// The running writer.
pub struct Writer {
    task: JoinHandle<()>,
    finish: oneshot::Sender<()>,
}

impl Writer {
    /// Write what is queued by now and stop, waiting at most `limit` (the
    /// client may have stopped reading). False when the writer did not end
    /// cleanly in that time (logged).
    pub async fn finish(self, limit: Duration) -> bool {
        let _ = self.finish.send(());
        let ended = matches!(tokio::time::timeout(limit, self.task).await, Ok(Ok(())));
        if !ended {
            tracing::debug!("the last messages for the client were not all written within {limit:?}");
        }
        ended
    }
}

pub fn spawn_writer(rx: mpsc::UnboundedReceiver<ToClient>, output: impl AsyncWrite + Unpin + Send + 'static) -> Writer {
    spawn_writer_with(rx, output, None)
}

/// `spawn_writer`, for a channel whose senders may also write through
/// `lane` (told here of each message written, after its flush).
pub fn spawn_writer_with(
    mut rx: mpsc::UnboundedReceiver<ToClient>,
    output: impl AsyncWrite + Unpin + Send + 'static,
    lane: Option<Arc<Lane>>,
) -> Writer {
    let (finish, mut finished) = oneshot::channel();
    let task = tokio::spawn(async move {
        let mut w = BufWriter::new(output);
        let mut last = false;
        while !last {
            let first = tokio::select! {
                biased;
                msg = rx.recv() => match msg {
                    Some(msg) => Some(msg),
                    None => return,
                },
                _ = &mut finished => {
                    last = true;
                    None
                }
            };
            let mut batch: Vec<ToClient> = first.into_iter().collect();
            while let Ok(m) = rx.try_recv() {
                batch.push(m);
            }
            let count = batch.len();
            for m in batch {
                let chunks = match m {
                    // Serialised in chunks and the message dropped before the
                    // write, so a large answer is held about once, not thrice.
                    ToClient::Message(m) => {
                        let mut line = Chunks::default();
                        let _ = serde_json::to_writer(&mut line, &m);
                        drop(m);
                        line.0
                    }
                    ToClient::Raw(text) => vec![text],
                };
                for chunk in chunks.iter().map(Vec::as_slice).chain([&b"\n"[..]]) {
                    if let Err(e) = w.write_all(chunk).await {
                        tracing::warn!("stdout write failed: {e}");
                        return;
                    }
                }
            }
            if let Err(e) = w.flush().await {
                tracing::warn!("stdout flush failed: {e}");
                return;
            }
            if let Some(lane) = &lane {
                lane.written(count);
            }
        }
    });
    Writer { task, finish }
}

/// Up to this many bytes per chunk of a serialised message.
const CHUNK: usize = 64 * 1024;

/// A `std::io::Write` that keeps what it gets in chunks of at most
/// [`CHUNK`] bytes: a large message costs its size, not the doubling (and
/// the copies) of one growing buffer. Small messages are one chunk.
#[derive(Default)]
struct Chunks(Vec<Vec<u8>>);

impl std::io::Write for Chunks {
    fn write(&mut self, mut buf: &[u8]) -> std::io::Result<usize> {
        let n = buf.len();
        while !buf.is_empty() {
            match self.0.last_mut() {
                Some(last) if last.len() < CHUNK => {
                    let take = (CHUNK - last.len()).min(buf.len());
                    last.extend_from_slice(&buf[..take]);
                    buf = &buf[take..];
                }
                Some(_) => self.0.push(Vec::with_capacity(CHUNK)),
                None => self.0.push(Vec::new()),
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Outbox;
    use serde_json::Value;

    #[tokio::test]
    async fn writes_one_line_per_message_small_and_large() {
        let big = "x".repeat(3 * CHUNK + 7);
        let msgs = [
            serde_json::json!({"id": 1}),
            serde_json::json!({"id": 2, "result": big}),
        ];
        let (tx, rx) = Outbox::channel();
        let (writer, mut reader) = tokio::io::duplex(1 << 16);
        let task = spawn_writer(rx, writer);
        for m in &msgs {
            tx.send(m.clone()).unwrap();
        }
        let raw = br#"{"id": 3,  "result":{}}"#;
        tx.send_raw(raw.to_vec()).unwrap();
        // A sender still alive (as a background task's may be): finishing
        // writes what was queued and ends the output all the same.
        let _late = tx.clone();
        drop(tx);
        let finished = tokio::spawn(task.finish(std::time::Duration::from_secs(10)));
        let mut out = Vec::new();
        let read = tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut out);
        tokio::time::timeout(std::time::Duration::from_secs(10), read)
            .await
            .expect("the output ends once the writer is told to finish")
            .unwrap();
        assert!(finished.await.unwrap(), "the writer ended cleanly");
        let lines: Vec<Value> = out
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        assert_eq!(lines[..2], msgs);
        assert_eq!(lines[2], serde_json::json!({"id": 3, "result": {}}));
        assert!(out.windows(raw.len()).any(|w| w == raw), "raw text kept as sent");
        assert!(out.ends_with(b"\n"));
    }
}
