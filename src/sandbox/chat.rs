//! The in-memory state of the sandbox's fake chat app: a fixed set of
//! channels and the messages posted to them. Shared by every session of one
//! [`Sandbox`](super::Sandbox), so a message sent in one session can be read
//! from another.

use std::sync::Mutex;

use serde::Serialize;

/// A channel as listed by `chat_list_channels`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelSummary {
    pub name: String,
    pub topic: String,
    pub message_count: usize,
}

/// One message in a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    /// Unique across the sandbox, e.g. `msg-3`.
    pub id: String,
    pub channel: String,
    pub author: String,
    pub text: String,
}

/// The named channel does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownChannel(pub String);

impl std::fmt::Display for UnknownChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown channel '{}'", self.0)
    }
}

impl std::error::Error for UnknownChannel {}

#[derive(Debug)]
struct Channel {
    name: String,
    topic: String,
    messages: Vec<ChatMessage>,
}

#[derive(Debug)]
struct Inner {
    channels: Vec<Channel>,
    next_id: u64,
}

/// The chat app's state. Cheap critical sections only, so a std mutex.
#[derive(Debug)]
pub struct ChatState {
    inner: Mutex<Inner>,
}

impl Default for ChatState {
    fn default() -> Self {
        Self::seeded()
    }
}

/// Strips an optional leading `#`, so `#general` and `general` both work.
fn normalize(channel: &str) -> &str {
    channel.trim().trim_start_matches('#')
}

impl ChatState {
    /// Channels `general`, `random` and `engineering`, with one welcome
    /// message in `general`.
    pub fn seeded() -> Self {
        let channel = |name: &str, topic: &str| Channel {
            name: name.to_owned(),
            topic: topic.to_owned(),
            messages: Vec::new(),
        };
        let state = Self {
            inner: Mutex::new(Inner {
                channels: vec![
                    channel("general", "Company-wide announcements"),
                    channel("random", "Anything goes"),
                    channel("engineering", "Builds, deploys and code review"),
                ],
                next_id: 1,
            }),
        };
        state
            .post("general", "sandbox-bot", "Welcome to the sandbox workspace!")
            .expect("seed channel exists");
        state
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the data inconsistent
        // (every mutation is a single push), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn channels(&self) -> Vec<ChannelSummary> {
        self.lock()
            .channels
            .iter()
            .map(|c| ChannelSummary {
                name: c.name.clone(),
                topic: c.topic.clone(),
                message_count: c.messages.len(),
            })
            .collect()
    }

    /// Appends a message by `author` to `channel` and returns it.
    pub fn post(&self, channel: &str, author: &str, text: &str) -> Result<ChatMessage, UnknownChannel> {
        let name = normalize(channel);
        let mut inner = self.lock();
        let id = format!("msg-{}", inner.next_id);
        let chan = inner
            .channels
            .iter_mut()
            .find(|c| c.name == name)
            .ok_or_else(|| UnknownChannel(channel.to_owned()))?;
        let message = ChatMessage {
            id,
            channel: chan.name.clone(),
            author: author.to_owned(),
            text: text.to_owned(),
        };
        chan.messages.push(message.clone());
        inner.next_id += 1;
        Ok(message)
    }

    /// The last `limit` messages of `channel` (all when `None`), oldest first.
    pub fn read(&self, channel: &str, limit: Option<usize>) -> Result<Vec<ChatMessage>, UnknownChannel> {
        let name = normalize(channel);
        let inner = self.lock();
        let chan = inner
            .channels
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| UnknownChannel(channel.to_owned()))?;
        let skip = limit.map_or(0, |n| chan.messages.len().saturating_sub(n));
        Ok(chan.messages[skip..].to_vec())
    }

    pub fn channel_names(&self) -> Vec<String> {
        self.lock().channels.iter().map(|c| c.name.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_then_read_round_trips() {
        let chat = ChatState::seeded();
        let sent = chat.post("#random", "me", "hi").unwrap();
        assert_eq!(sent.channel, "random");
        let read = chat.read("random", None).unwrap();
        assert_eq!(read, vec![sent]);
        assert_eq!(chat.read("general", Some(0)).unwrap(), vec![]);
        assert!(chat.post("nope", "me", "x").is_err());
    }
}
