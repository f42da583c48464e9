//! The single writer of stdout. Every message for the client goes through
//! one channel to this task, which writes one JSON line per message and
//! flushes whenever the queue is drained, so answers leave as soon as they
//! arrive and lines never interleave.

use crate::remote::inbound::Outgoing;
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub fn spawn_writer(
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    output: impl AsyncWrite + Unpin + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut w = BufWriter::new(output);
        while let Some(msg) = rx.recv().await {
            let mut batch = vec![msg];
            while let Ok(m) = rx.try_recv() {
                batch.push(m);
            }
            for m in batch {
                let chunks = match m {
                    // Serialised in chunks and the message dropped before the
                    // write, so a large answer is held about once, not thrice.
                    Outgoing::Message(m) => {
                        let mut line = Chunks::default();
                        let _ = serde_json::to_writer(&mut line, &m);
                        drop(m);
                        line.0
                    }
                    Outgoing::Raw(text) => vec![text],
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
        }
    })
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
    use crate::remote::inbound::Outbox;
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
        drop(tx);
        let mut out = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut out)
            .await
            .unwrap();
        task.await.unwrap();
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
