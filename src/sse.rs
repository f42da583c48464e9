//! Server-sent events: the bridge's own parser for `text/event-stream` bodies.
//!
//! [`Parser`] is an incremental byte parser for the WHATWG "event stream
//! interpretation" (<https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation>):
//! lines end in CRLF, LF or CR (also when a CRLF is split between two
//! chunks), a leading UTF-8 BOM is dropped, `:` starts a comment, and a blank
//! line dispatches the event. [`Reader`] runs it over a body's byte stream.
//!
//! It is built for huge events: a remote may send a 32–64 MiB tool result as
//! one event with one `data:` line. The parser then holds that payload about
//! once: a line completed across chunks is moved, not copied, into the event's
//! data (its `data:` prefix removed in place), a line found whole inside a
//! chunk is read straight from the chunk, and no large buffer outlives its
//! event. Data is kept as raw bytes; whoever parses it as JSON validates it.
//!
//! Two deliberate departures from the spec: an event is emitted for any block
//! that had a `data`, `id`, `event` or valid `retry` field, even with no data
//! (servers send "priming" events with only `id` and `retry`, and the caller
//! tracks those for resumption), and `id`/`retry` describe only the block they
//! came in, not a buffer carried across events. Nothing larger than
//! [`MAX_EVENT_BYTES`] is buffered: such a stream is an error.

use futures::{Stream, StreamExt};
use std::collections::VecDeque;

/// The most bytes one line, or one event's data, may hold.
pub const MAX_EVENT_BYTES: usize = 512 * 1024 * 1024;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A line buffer at most this large is kept for the next line; a larger one
/// is freed, so a huge event leaves no huge allocation behind.
const KEEP_LINE_CAPACITY: usize = 64 * 1024;

/// One dispatched event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    /// The `event` field's value; `None` when there was none or it was empty
    /// (both mean "message").
    pub event: Option<String>,
    /// The `id` field's value, when this event had one without a NUL.
    pub id: Option<String>,
    /// The `retry` field, in milliseconds, when this event had a valid one
    /// (ASCII digits only, fits in a `u64`).
    pub retry: Option<u64>,
    /// The `data` lines joined with `\n`, as raw bytes (not checked as UTF-8).
    pub data: Vec<u8>,
}

/// A line or an event's data went over [`MAX_EVENT_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge;

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "an SSE event exceeded the size limit")
    }
}

impl std::error::Error for TooLarge {}

/// The incremental parser: [`feed`](Parser::feed) it the body's chunks in
/// order. An event still incomplete when the body ends is never emitted.
#[derive(Debug)]
pub struct Parser {
    /// The most bytes a line or an event's data may hold.
    limit: usize,
    /// Past the first bytes of the stream, where a BOM may stand.
    past_start: bool,
    /// How many bytes of a BOM have matched so far at the stream's start.
    bom_matched: usize,
    /// The current line, when it did not end in the chunk it started in.
    line: Vec<u8>,
    /// The last byte seen was a CR: an LF right after it ends no new line.
    after_cr: bool,
    /// The event's data so far.
    data: Vec<u8>,
    /// A `data` field came in this event (`data` may still be empty).
    has_data: bool,
    event: String,
    id: Option<String>,
    retry: Option<u64>,
    /// A field came in since the last dispatch.
    pending: bool,
    /// A limit was exceeded; every later `feed` fails.
    failed: bool,
}

impl Default for Parser {
    fn default() -> Self {
        Self::with_limit(MAX_EVENT_BYTES)
    }
}

impl Parser {
    pub fn new() -> Self {
        Self::default()
    }

    /// A parser whose lines and events hold at most `limit` bytes (a
    /// server's `max_message_size`).
    pub fn with_limit(limit: usize) -> Self {
        Self {
            limit,
            past_start: false,
            bom_matched: 0,
            line: Vec::new(),
            after_cr: false,
            data: Vec::new(),
            has_data: false,
            event: String::new(),
            id: None,
            retry: None,
            pending: false,
            failed: false,
        }
    }

    /// Parse the next chunk of the body, calling `emit` for every event it
    /// completes. After an error the stream is broken and the parser stays
    /// failed.
    pub fn feed(&mut self, chunk: &[u8], emit: &mut impl FnMut(Event)) -> Result<(), TooLarge> {
        if self.failed {
            return Err(TooLarge);
        }
        let result = self.feed_start(chunk, emit);
        if result.is_err() {
            *self = Parser {
                failed: true,
                ..Parser::with_limit(self.limit)
            };
        }
        result
    }

    /// The bytes its buffers hold (their capacity), for memory checks.
    pub fn buffered_bytes(&self) -> usize {
        self.line.capacity() + self.data.capacity()
    }

    /// Drop a BOM at the start of the stream, even one split across chunks.
    fn feed_start(&mut self, mut chunk: &[u8], emit: &mut impl FnMut(Event)) -> Result<(), TooLarge> {
        if !self.past_start {
            while self.bom_matched < BOM.len() {
                let Some((&b, rest)) = chunk.split_first() else {
                    return Ok(());
                };
                if b != BOM[self.bom_matched] {
                    break;
                }
                self.bom_matched += 1;
                chunk = rest;
            }
            self.past_start = true;
            if self.bom_matched < BOM.len() {
                // Not a BOM after all: what matched is ordinary text.
                self.feed_bytes(&BOM[..self.bom_matched], emit)?;
            }
        }
        self.feed_bytes(chunk, emit)
    }

    fn feed_bytes(&mut self, mut rest: &[u8], emit: &mut impl FnMut(Event)) -> Result<(), TooLarge> {
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
            }
        }
        while let Some(end) = memchr::memchr2(b'\n', b'\r', rest) {
            if self.line.is_empty() {
                // The whole line is in this chunk: read it in place.
                if end > self.limit {
                    return Err(TooLarge);
                }
                self.line_in_place(&rest[..end], emit)?;
            } else {
                self.extend_line(&rest[..end])?;
                let line = std::mem::take(&mut self.line);
                self.line_owned(line, emit)?;
            }
            let cr = rest[end] == b'\r';
            rest = &rest[end + 1..];
            if cr {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.extend_line(rest)
    }

    fn extend_line(&mut self, bytes: &[u8]) -> Result<(), TooLarge> {
        if self.line.len() + bytes.len() > self.limit {
            return Err(TooLarge);
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    /// A line that was buffered across chunks. The event's first data line
    /// becomes the data buffer itself, so a huge line is never copied.
    fn line_owned(&mut self, mut line: Vec<u8>, emit: &mut impl FnMut(Event)) -> Result<(), TooLarge> {
        if !self.has_data
            && let Some(prefix) = data_prefix(&line)
        {
            line.drain(..prefix);
            self.data = line;
            self.has_data = true;
            self.pending = true;
            return Ok(());
        }
        let result = self.line_in_place(&line, emit);
        if line.capacity() <= KEEP_LINE_CAPACITY {
            line.clear();
            self.line = line;
        }
        result
    }

    /// One complete line, without its line end.
    fn line_in_place(&mut self, line: &[u8], emit: &mut impl FnMut(Event)) -> Result<(), TooLarge> {
        if line.is_empty() {
            self.dispatch(emit);
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(());
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match name {
            b"data" => {
                if self.has_data {
                    if self.data.len() + 1 + value.len() > self.limit {
                        return Err(TooLarge);
                    }
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
                self.pending = true;
            }
            b"event" => {
                self.event = String::from_utf8_lossy(value).into_owned();
                self.pending = true;
            }
            // An id holding a NUL is ignored.
            b"id" if !value.contains(&0) => {
                self.id = Some(String::from_utf8_lossy(value).into_owned());
                self.pending = true;
            }
            b"retry" => {
                if let Some(ms) = parse_retry(value) {
                    self.retry = Some(ms);
                    self.pending = true;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A blank line: emit the event, if any field came since the last one.
    fn dispatch(&mut self, emit: &mut impl FnMut(Event)) {
        if !self.pending {
            return;
        }
        let event = std::mem::take(&mut self.event);
        let event = Event {
            event: (!event.is_empty()).then_some(event),
            id: self.id.take(),
            retry: self.retry.take(),
            data: std::mem::take(&mut self.data),
        };
        self.has_data = false;
        self.pending = false;
        emit(event);
    }
}

/// How many bytes of a data line to drop to reach its value: `data: `,
/// `data:`, or a bare `data` (an empty value). `None` for any other line.
fn data_prefix(line: &[u8]) -> Option<usize> {
    if line == b"data" {
        Some(4)
    } else if line.starts_with(b"data: ") {
        Some(6)
    } else if line.starts_with(b"data:") {
        Some(5)
    } else {
        None
    }
}

fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// Why [`Reader::next`] stopped.
#[derive(Debug)]
pub enum ReadError<E> {
    /// The byte stream failed.
    Stream(E),
    /// An event was larger than [`MAX_EVENT_BYTES`].
    TooLarge(TooLarge),
}

impl<E: std::fmt::Display> std::fmt::Display for ReadError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Stream(e) => e.fmt(f),
            ReadError::TooLarge(e) => e.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for ReadError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Stream(e) => Some(e),
            ReadError::TooLarge(e) => Some(e),
        }
    }
}

/// Events read from a stream of byte chunks (e.g. `reqwest::Response::bytes_stream`).
pub struct Reader<S> {
    stream: S,
    parser: Parser,
    ready: VecDeque<Event>,
    /// A limit was hit; reported after the events that came before it.
    too_large: bool,
    ended: bool,
}

impl<S, B, E> Reader<S>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
{
    pub fn new(stream: S) -> Self {
        Self::with_limit(stream, MAX_EVENT_BYTES)
    }

    /// A reader whose events hold at most `limit` bytes.
    pub fn with_limit(stream: S, limit: usize) -> Self {
        Self {
            stream,
            parser: Parser::with_limit(limit),
            ready: VecDeque::new(),
            too_large: false,
            ended: false,
        }
    }

    /// The next event; `None` at the end of the stream (an incomplete last
    /// event is dropped) and after an error.
    pub async fn next(&mut self) -> Option<Result<Event, ReadError<E>>> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(Ok(event));
            }
            if self.too_large {
                self.too_large = false;
                return Some(Err(ReadError::TooLarge(TooLarge)));
            }
            if self.ended {
                return None;
            }
            match self.stream.next().await {
                None => self.ended = true,
                Some(Err(e)) => {
                    self.ended = true;
                    return Some(Err(ReadError::Stream(e)));
                }
                Some(Ok(chunk)) => {
                    let ready = &mut self.ready;
                    if self.parser.feed(chunk.as_ref(), &mut |e| ready.push_back(e)).is_err() {
                        self.too_large = true;
                        self.ended = true;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
