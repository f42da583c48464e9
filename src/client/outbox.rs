//! The one way to the client: every part of the bridge that has a line for
//! the client sends it through an `Outbox`, to the single stdout writer
//! (`stdout.rs`), or, for a small raw answer when nothing is queued before
//! it, straight out through the fast lane (`lane.rs`).

use super::Lane;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::mpsc;

/// One line for the client.
#[derive(Debug)]
pub enum ToClient {
    Message(Value),
    /// One JSON message exactly as the remote sent it, with no line breaks.
    Raw(Vec<u8>),
}

impl ToClient {
    /// The message as a `Value` (parsing a raw one).
    pub fn into_value(self) -> Option<Value> {
        match self {
            ToClient::Message(v) => Some(v),
            ToClient::Raw(bytes) => serde_json::from_slice(&bytes).ok(),
        }
    }
}

/// The client is gone: the stdout writer has stopped.
#[derive(Debug)]
pub struct Closed;

/// The channel to the client (the stdout writer), and the fast lane to
/// stdout when there is one.
#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::UnboundedSender<ToClient>,
    lane: Option<Arc<Lane>>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").field("lane", &self.lane.is_some()).finish()
    }
}

impl Outbox {
    pub fn channel() -> (Outbox, mpsc::UnboundedReceiver<ToClient>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Outbox { tx, lane: None }, rx)
    }

    /// Write small raw answers through `lane` when nothing is queued (the
    /// writer fed by this channel must be given the same lane).
    pub fn with_lane(mut self, lane: Option<Arc<Lane>>) -> Outbox {
        self.lane = lane;
        self
    }

    pub fn send(&self, msg: Value) -> Result<(), Closed> {
        let _queued = self.lane.as_ref().map(|lane| lane.will_queue());
        self.tx.send(ToClient::Message(msg)).map_err(|_| Closed)
    }

    /// Send one message's JSON text as it is (it must hold no line break).
    pub fn send_raw(&self, line: Vec<u8>) -> Result<(), Closed> {
        let queue = |line| self.tx.send(ToClient::Raw(line)).map_err(|_| Closed);
        match &self.lane {
            Some(lane) => lane.offer(line, queue).unwrap_or(Ok(())),
            None => queue(line),
        }
    }
}
