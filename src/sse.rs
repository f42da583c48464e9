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

    /// The bytes the parser's buffers hold (their capacity), for tests and
    /// memory checks.
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
mod tests {
    use super::*;

    fn feed_all(parser: &mut Parser, chunks: &[&[u8]]) -> Result<Vec<Event>, TooLarge> {
        let mut events = Vec::new();
        for chunk in chunks {
            parser.feed(chunk, &mut |e| events.push(e))?;
        }
        Ok(events)
    }

    fn parse_chunks(chunks: &[&[u8]]) -> Vec<Event> {
        feed_all(&mut Parser::new(), chunks).expect("within limits")
    }

    fn parse(input: &[u8]) -> Vec<Event> {
        parse_chunks(&[input])
    }

    fn parse_bytewise(input: &[u8]) -> Vec<Event> {
        let chunks: Vec<&[u8]> = input.chunks(1).collect();
        parse_chunks(&chunks)
    }

    fn data(d: &str) -> Event {
        Event {
            data: d.as_bytes().to_vec(),
            ..Event::default()
        }
    }

    #[test]
    fn every_line_ending() {
        for input in [
            &b"data: a\n\ndata: b\n\n"[..],
            b"data: a\r\n\r\ndata: b\r\n\r\n",
            b"data: a\r\rdata: b\r\r",
            b"data: a\r\n\ndata: b\n\r\n",
            b"data: a\r\rdata: b\n\r",
        ] {
            assert_eq!(
                parse(input),
                [data("a"), data("b")],
                "{:?}",
                String::from_utf8_lossy(input)
            );
            assert_eq!(parse_bytewise(input), [data("a"), data("b")]);
        }
    }

    #[test]
    fn crlf_split_across_chunks_is_one_line_end() {
        // One CRLF between the data line and the blank line: no dispatch yet.
        assert_eq!(parse_chunks(&[b"data: a\r", b"\ndata: b\r", b"\n"]), []);
        assert_eq!(parse_chunks(&[b"data: a\r", b"\n\r", b"\n"]), [data("a")]);
        // CR, then LF in a chunk of its own, then CR LF split again.
        assert_eq!(parse_chunks(&[b"data: a\r", b"\n", b"\r", b"\n"]), [data("a")]);
        // CR CR is two line ends, even across chunks.
        assert_eq!(parse_chunks(&[b"data: a\r", b"\r"]), [data("a")]);
        // An empty chunk between the CR and the LF changes nothing.
        assert_eq!(parse_chunks(&[b"data: a\r", b"", b"\n", b"\n"]), [data("a")]);
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let input: &[u8] = b"\xEF\xBB\xBF: hello\r\nevent: ping\r\ndata: {\"a\":1}\r\n\r\n\
            id: 7\nretry: 1500\n\n\
            data:x\rdata\r\r\
            data: two\r\ndata: lines\n\
            id: 8\r\n\n\
            event: message\ndata: \xff\xfe raw\n\n\
            data: not finished";
        let whole = parse(input);
        assert_eq!(whole.len(), 5, "{whole:?}");
        assert_eq!(parse_bytewise(input), whole);
        for split in 0..=input.len() {
            assert_eq!(
                parse_chunks(&[&input[..split], &input[split..]]),
                whole,
                "split at {split}"
            );
            for second in split..=input.len() {
                let chunks = [&input[..split], &input[split..second], &input[second..]];
                assert_eq!(parse_chunks(&chunks), whole, "split at {split} and {second}");
            }
        }
    }

    #[test]
    fn bom_is_dropped_only_at_the_start() {
        assert_eq!(parse(b"\xEF\xBB\xBFdata: a\n\n"), [data("a")]);
        assert_eq!(parse_bytewise(b"\xEF\xBB\xBFdata: a\n\n"), [data("a")]);
        // A second BOM is part of the first line's name: an unknown field.
        assert_eq!(parse(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\n"), []);
        // A partial BOM is ordinary text.
        assert_eq!(parse(b"\xEF\xBBdata: a\n\ndata: b\n\n"), [data("b")]);
        assert_eq!(parse_chunks(&[b"\xEF", b"\n", b"data: b\n\n"]), [data("b")]);
        // The BOM stripped from a stream's start does not eat a data BOM later.
        assert_eq!(parse(b"data: \xEF\xBB\xBFa\n\n")[0].data, b"\xEF\xBB\xBFa");
    }

    #[test]
    fn comments_and_unknown_fields_are_ignored() {
        assert_eq!(parse(b": comment\n:\ndata: a\nfoo: bar\n: more\n\n"), [data("a")]);
        // A block of only comments or unknown fields emits nothing.
        assert_eq!(parse(b": keep-alive\n\nfoo: bar\n\n"), []);
    }

    #[test]
    fn field_values() {
        // Exactly one space is stripped.
        assert_eq!(parse(b"data:  two\n\n"), [data(" two")]);
        assert_eq!(parse(b"data:none\n\n"), [data("none")]);
        // Only the first colon separates.
        assert_eq!(parse(b"data: a:b: c\n\n"), [data("a:b: c")]);
        // No colon: the whole line is the name, the value is empty.
        assert_eq!(parse(b"data\n\n"), [data("")]);
        assert_eq!(parse(b"data\ndata\n\n"), [data("\n")]);
        // Field names are case-sensitive.
        assert_eq!(parse(b"Data: a\n\n"), []);
        let e = &parse(b"event: endpoint\ndata: /messages?s=1\n\n")[0];
        assert_eq!(e.event.as_deref(), Some("endpoint"));
        assert_eq!(e.data, b"/messages?s=1");
        // The last `event` wins; an empty one means "message".
        assert_eq!(parse(b"event: a\nevent: b\ndata: x\n\n")[0].event.as_deref(), Some("b"));
        assert_eq!(parse(b"event: a\nevent:\ndata: x\n\n")[0].event, None);
    }

    #[test]
    fn multi_line_data_is_joined_with_lf() {
        assert_eq!(parse(b"data: a\ndata: b\r\ndata:\rdata: c\n\n"), [data("a\nb\n\nc")]);
        assert_eq!(parse(b"data:\n\n"), [data("")]);
        assert_eq!(parse(b"data:\ndata:\n\n"), [data("\n")]);
    }

    #[test]
    fn priming_event_without_data_is_emitted() {
        let events = parse(b"id: 0-abc\nretry: 3000\n\ndata: {}\n\n");
        let priming = Event {
            id: Some("0-abc".into()),
            retry: Some(3000),
            ..Event::default()
        };
        assert_eq!(events, [priming, data("{}")]);
        // An empty id is still an id (it resets Last-Event-ID).
        assert_eq!(parse(b"id\n\n")[0].id.as_deref(), Some(""));
        // A lone `event` field is an event too.
        assert_eq!(parse(b"event: ping\n\n")[0].event.as_deref(), Some("ping"));
    }

    #[test]
    fn blank_lines_alone_emit_nothing() {
        assert_eq!(parse(b"\n\n\r\n\r\r"), []);
        assert_eq!(parse(b"data: a\n\n\n\n"), [data("a")]);
    }

    #[test]
    fn id_with_nul_is_ignored() {
        assert_eq!(parse(b"id: a\0b\ndata: x\n\n"), [data("x")]);
        assert_eq!(parse(b"id: 1\nid: a\0b\ndata: x\n\n")[0].id.as_deref(), Some("1"));
        assert_eq!(parse(b"id: a\0b\n\n"), []);
        // id and retry belong to their own event only.
        assert_eq!(parse(b"id: 1\ndata: x\n\ndata: y\n\n")[1].id, None);
    }

    #[test]
    fn invalid_retry_is_ignored() {
        for bad in [
            &b"retry: 1.5"[..],
            b"retry: -1",
            b"retry: 1 ",
            b"retry:",
            b"retry: abc",
            b"retry: 99999999999999999999999",
        ] {
            let mut input = bad.to_vec();
            input.extend_from_slice(b"\ndata: x\n\n");
            assert_eq!(parse(&input), [data("x")], "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(parse(b"retry:250\n\n")[0].retry, Some(250));
        assert_eq!(parse(b"retry: 250\nretry: x\n\n")[0].retry, Some(250));
    }

    #[test]
    fn incomplete_event_at_eof_is_discarded() {
        assert_eq!(parse(b"data: a\n\ndata: b\n"), [data("a")]);
        assert_eq!(parse(b"data: a\n\ndata: b"), [data("a")]);
        assert_eq!(parse(b"id: 5\nretry: 10\n"), []);
        // A trailing CR already ends the blank line.
        assert_eq!(parse(b"data: a\n\r"), [data("a")]);
    }

    #[test]
    fn data_stays_raw_bytes() {
        assert_eq!(parse(b"data: \xff\x00\xc3\n\n")[0].data, b"\xff\x00\xc3");
        // Other fields are decoded with replacement characters.
        assert_eq!(parse(b"event: \xffx\n\n")[0].event.as_deref(), Some("\u{fffd}x"));
    }

    #[test]
    fn a_line_over_the_cap_is_an_error() {
        assert_eq!(TooLarge.to_string(), "an SSE event exceeded the size limit");
        // Exactly at the limit is fine, one byte over is not: whole or in pieces.
        let at_limit = format!("data: {}\n\n", "x".repeat(10));
        let over = format!("data: {}\n\n", "x".repeat(11));
        assert_eq!(
            feed_all(&mut Parser::with_limit(16), &[at_limit.as_bytes()])
                .unwrap()
                .len(),
            1
        );
        assert_eq!(feed_all(&mut Parser::with_limit(16), &[over.as_bytes()]), Err(TooLarge));
        let bytewise: Vec<&[u8]> = over.as_bytes().chunks(1).collect();
        assert_eq!(feed_all(&mut Parser::with_limit(16), &bytewise), Err(TooLarge));
        // An unfinished line is checked too, and so are comments.
        assert_eq!(feed_all(&mut Parser::with_limit(16), &[&[b':'; 17][..]]), Err(TooLarge));
        // The buffers are freed and the parser stays failed.
        let mut parser = Parser::with_limit(16);
        let events = feed_all(&mut parser, &[b"data: a\n\ndata: 0123456789", b"abc"]);
        assert_eq!(events, Err(TooLarge));
        assert_eq!(parser.buffered_bytes(), 0);
        assert_eq!(parser.feed(b"data: b\n\n", &mut |_| panic!("no event")), Err(TooLarge));
    }

    #[test]
    fn data_over_the_cap_is_an_error() {
        // Lines each within the limit whose joined data is not.
        let mut parser = Parser::with_limit(16);
        assert_eq!(feed_all(&mut parser, &[b"data: 0123456\ndata: 01234567\n"]), Ok(vec![]));
        assert_eq!(feed_all(&mut parser, &[b"data: 0\n"]), Err(TooLarge));
        let mut parser = Parser::with_limit(16);
        assert_eq!(
            feed_all(&mut parser, &[b"data: 0123456\n", b"data: 01234567\n\n"])
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn a_32_mib_line_is_held_once() {
        const LEN: usize = 32 * 1024 * 1024;
        const CHUNK: usize = 16 * 1024;
        let mut body = b"id: big\ndata: ".to_vec();
        body.extend((0..LEN).map(|i| b'a' + (i % 26) as u8));
        body.push(b'\n');
        let mut parser = Parser::new();
        let mut events = Vec::new();
        for chunk in body.chunks(CHUNK) {
            parser.feed(chunk, &mut |e| events.push(e)).unwrap();
        }
        assert!(events.is_empty());
        // The completed line became the data buffer: one copy, nothing in the line buffer.
        assert_eq!(parser.line.capacity(), 0);
        assert!(parser.buffered_bytes() <= 2 * LEN, "{}", parser.buffered_bytes());
        parser.feed(b"\n", &mut |e| events.push(e)).unwrap();
        let [event] = &events[..] else {
            panic!("{} events", events.len())
        };
        assert_eq!(event.id.as_deref(), Some("big"));
        assert_eq!(event.data.len(), LEN);
        assert!(event.data.capacity() <= 2 * LEN, "{}", event.data.capacity());
        assert_eq!(&event.data[..3], b"abc");
        assert_eq!(event.data[LEN - 1], b'a' + ((LEN - 1) % 26) as u8);
        // Nothing large outlives the event.
        assert!(
            parser.buffered_bytes() <= KEEP_LINE_CAPACITY,
            "{}",
            parser.buffered_bytes()
        );
    }

    #[tokio::test]
    async fn reader_yields_events_then_the_error() {
        let chunks: Vec<Result<Vec<u8>, String>> = vec![
            Ok(b"data: a\n\nid: 1\nre".to_vec()),
            Ok(b"try: 5\n\ndata: b".to_vec()),
            Ok(b"\n\n".to_vec()),
            Err("cut".into()),
            Ok(b"data: late\n\n".to_vec()),
        ];
        let mut reader = Reader::new(futures::stream::iter(chunks));
        assert_eq!(reader.next().await.unwrap().unwrap(), data("a"));
        let primed = reader.next().await.unwrap().unwrap();
        assert_eq!((primed.id.as_deref(), primed.retry), (Some("1"), Some(5)));
        assert_eq!(reader.next().await.unwrap().unwrap(), data("b"));
        let err = reader.next().await.unwrap().unwrap_err();
        assert!(matches!(err, ReadError::Stream(ref e) if e == "cut"), "{err}");
        assert!(reader.next().await.is_none());
    }

    #[tokio::test]
    async fn reader_drops_an_incomplete_last_event() {
        let chunks: Vec<Result<&[u8], std::convert::Infallible>> = vec![Ok(b"data: a\n\ndata: b\n")];
        let mut reader = Reader::new(futures::stream::iter(chunks));
        assert_eq!(reader.next().await.unwrap().unwrap(), data("a"));
        assert!(reader.next().await.is_none());
        assert!(reader.next().await.is_none());
    }
}
