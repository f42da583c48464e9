//! The single writer of stdout. Every message for the client goes through
//! one channel to this task, which writes one JSON line per message and
//! flushes whenever the queue is drained, so answers leave as soon as they
//! arrive and lines never interleave.

use crate::jsonrpc;
use serde_json::Value;
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub fn spawn_writer(
    mut rx: mpsc::UnboundedReceiver<Value>,
    output: impl AsyncWrite + Unpin + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut w = BufWriter::new(output);
        while let Some(msg) = rx.recv().await {
            let mut batch = vec![msg];
            while let Ok(m) = rx.try_recv() {
                batch.push(m);
            }
            for m in &batch {
                let mut line = jsonrpc::to_line(m);
                line.push('\n');
                if let Err(e) = w.write_all(line.as_bytes()).await {
                    tracing::warn!("stdout write failed: {e}");
                    return;
                }
            }
            if let Err(e) = w.flush().await {
                tracing::warn!("stdout flush failed: {e}");
                return;
            }
        }
    })
}
