//! Reading the client: newline-delimited JSON-RPC from stdin (or any
//! reader), one line at a time, decoded into messages (a batch into its
//! members), with a JSON-RPC error for a line that is not JSON. A line
//! holding one object is read for its head only (`Message::read`); a batch,
//! or a line whose head cannot be read that way, is parsed whole. Reading
//! ends when the input closes; the one loop over these lines, which also
//! stops at a signal, is `shutdown::serve_until_stopped`.
//!
//! A line longer than the limit (`max_message_size`) is never held: its
//! bytes are skipped as they come, watched only for the request's `id`
//! (`IdScan`), and the request is answered with an error for that id.

use crate::jsonrpc;
use crate::message::Message;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// The client's lines, decoded.
pub struct ClientLines<R> {
    lines: BufReader<R>,
    buf: Vec<u8>,
    /// The longest line held.
    limit: usize,
    /// Within a line over the limit: its rest is skipped.
    skipping: Option<IdScan>,
}

impl<R: AsyncRead + Unpin> ClientLines<R> {
    pub fn new(input: R) -> Self {
        Self {
            lines: BufReader::new(input),
            buf: Vec::new(),
            limit: crate::config::size::DEFAULT_MAX_MESSAGE_SIZE,
            skipping: None,
        }
    }

    /// Lines hold at most `limit` bytes.
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// The messages of the next line that has any, or the error answer for
    /// a bad line; None once the input closed. Cancel safe: a line read in
    /// part stays buffered (or its skipping goes on) for the next call.
    pub async fn next(&mut self) -> Option<Result<Vec<Message>, Value>> {
        loop {
            let available = match self.lines.fill_buf().await {
                Ok(bytes) => bytes,
                Err(e) => {
                    tracing::warn!("stdin read failed: {e}");
                    return None;
                }
            };
            let (taken, ended) = match memchr::memchr(b'\n', available) {
                Some(at) => (at + 1, true),
                None if available.is_empty() => (0, true),
                None => (available.len(), false),
            };
            let chunk = &available[..taken];
            if taken == 0 && self.buf.is_empty() && self.skipping.is_none() {
                return None; // the input closed between lines
            }
            match &mut self.skipping {
                Some(scan) => scan.feed(chunk),
                None if self.buf.len() + taken - usize::from(chunk.ends_with(b"\n")) > self.limit => {
                    let mut scan = IdScan::default();
                    scan.feed(&self.buf);
                    scan.feed(chunk);
                    self.buf = Vec::new();
                    self.skipping = Some(scan);
                }
                None => self.buf.extend_from_slice(chunk),
            }
            self.lines.consume(taken);
            if !ended {
                continue;
            }
            if let Some(scan) = self.skipping.take() {
                match scan.answer(self.limit) {
                    Some(answer) => return Some(Err(answer)),
                    None => continue,
                }
            }
            let line = decode_line(&self.buf);
            self.buf.clear();
            match line {
                Line::Blank => continue,
                Line::Messages(messages) => return Some(Ok(messages)),
                Line::Error(answer) => return Some(Err(answer)),
            }
        }
    }
}

/// Watches the bytes of a line too long to hold for what its answer needs:
/// the top-level `id` (a string or number), and whether it has a `method`
/// (a request or notification, rather than the client's own answer).
#[derive(Default)]
struct IdScan {
    /// Past the leading whitespace; `object` says whether a `{` came.
    started: bool,
    object: bool,
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// At depth 1, a key may come next (after `{` or `,`).
    key_next: bool,
    /// The string being read is a key at depth 1.
    in_key: bool,
    key: Vec<u8>,
    /// The key just read was `id`: its value comes after the `:`.
    id_key: bool,
    /// Reading the `id`'s value (up to a `,` or `}` at depth 1).
    in_id: bool,
    value: Vec<u8>,
    id: Option<Value>,
    method: bool,
}

/// The longest `id` value (or key) kept while scanning.
const KEPT: usize = 256;

impl IdScan {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.byte(b);
        }
    }

    fn byte(&mut self, b: u8) {
        if !self.started {
            if !b.is_ascii_whitespace() {
                self.started = true;
                self.object = b == b'{';
                self.depth = usize::from(self.object);
                self.key_next = true;
            }
            return;
        }
        if !self.object || self.depth == 0 {
            return;
        }
        if self.in_id && self.value.len() < KEPT && !(self.depth == 1 && !self.in_string && matches!(b, b',' | b'}')) {
            self.value.push(b);
        }
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_string = false;
                if self.in_key {
                    self.in_key = false;
                    self.key_next = false;
                    self.id_key = self.key == b"id";
                    self.method |= self.key == b"method";
                }
                return;
            }
            if self.in_key && self.key.len() < KEPT {
                self.key.push(b);
            }
            return;
        }
        match b {
            b'"' => {
                self.in_string = true;
                if self.depth == 1 && self.key_next {
                    self.in_key = true;
                    self.key.clear();
                }
            }
            b'{' | b'[' => self.depth += 1,
            b'}' | b']' => {
                if self.depth == 1 {
                    self.end_id();
                }
                self.depth -= 1;
            }
            b',' if self.depth == 1 => {
                self.end_id();
                self.key_next = true;
            }
            b':' if self.depth == 1 && self.id_key => {
                self.id_key = false;
                self.in_id = self.id.is_none();
            }
            _ => {}
        }
    }

    fn end_id(&mut self) {
        if std::mem::take(&mut self.in_id) {
            self.id = serde_json::from_slice::<Value>(self.value.trim_ascii())
                .ok()
                .filter(|id| id.is_string() || id.is_number());
        }
    }

    /// The error for the line, or None for the client's answer to a server
    /// request (which gets none; the server's request is answered when the
    /// client goes).
    fn answer(self, limit: usize) -> Option<Value> {
        let text = format!(
            "the message is larger than {} (the server's `max_message_size`); it was not relayed",
            crate::config::size::shown(limit)
        );
        tracing::warn!("stdin: {text}");
        if self.object && !self.method && self.id.is_some() {
            return None;
        }
        let id = self.id.filter(|_| self.method).unwrap_or(Value::Null);
        Some(jsonrpc::error(id, jsonrpc::INVALID_REQUEST, text, None))
    }
}

/// One stdin line, decoded.
#[derive(Debug)]
pub enum Line {
    /// Only whitespace (a blank line, a lone CR): nothing to do.
    Blank,
    /// One message, or the members of a non-empty batch, in order.
    Messages(Vec<Message>),
    /// Not JSON, or an empty batch: the error to write to the client.
    Error(Value),
}

/// Decode one line read from stdin (with or without its `\n` or `\r\n`).
pub fn decode_line(buf: &[u8]) -> Line {
    let line = trim_ascii(buf);
    if line.is_empty() {
        return Line::Blank;
    }
    if let Some(message) = Message::read(line) {
        return Line::Messages(vec![message]);
    }
    match serde_json::from_slice(line) {
        Ok(Value::Array(batch)) if !batch.is_empty() => {
            Line::Messages(batch.into_iter().map(Message::from_value).collect())
        }
        Ok(Value::Array(_)) => Line::Error(jsonrpc::error(
            Value::Null,
            jsonrpc::INVALID_REQUEST,
            "Invalid Request: empty batch",
            None,
        )),
        Ok(single) => Line::Messages(vec![Message::from_value(single)]),
        Err(e) => {
            tracing::warn!("stdin: not JSON ({e})");
            // Valid JSON can still fail here (a number no f64 holds, such as
            // 1e400): the request's own id, when it can be read, gets the
            // answer, so the client is not left waiting for it.
            let id = request_id(line).unwrap_or(Value::Null);
            Line::Error(jsonrpc::error(
                id,
                jsonrpc::PARSE_ERROR,
                format!("Parse error: {e}"),
                None,
            ))
        }
    }
}

/// The `id` (a string or number) of a JSON object, read while skipping
/// every other member unconverted.
fn request_id(line: &[u8]) -> Option<Value> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        id: Option<Value>,
    }
    if line.first() != Some(&b'{') {
        return None; // a batch, or not an object: no one id to answer
    }
    serde_json::from_slice::<Envelope>(line)
        .ok()?
        .id
        .filter(|id| id.is_string() || id.is_number())
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error_of(line: &str) -> Value {
        match decode_line(line.as_bytes()) {
            Line::Error(e) => e,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn a_line_whose_head_reads_keeps_its_text_even_when_no_tree_holds_it() {
        let line = r#"{"jsonrpc":"2.0","id":"q-1","method":"x","params":{"n":1e400}}"#;
        let Line::Messages(m) = decode_line(format!("{line}\r\n").as_bytes()) else {
            panic!("not read")
        };
        assert_eq!(
            (m.len(), &m[0].text()[..], m[0].id()),
            (1, line.as_bytes(), &json!("q-1"))
        );
    }

    fn scanned(line: &str) -> (Option<Value>, bool) {
        let mut scan = IdScan::default();
        for piece in line.as_bytes().chunks(3) {
            scan.feed(piece);
        }
        scan.end_id();
        (scan.id, scan.method)
    }

    #[test]
    fn the_id_of_a_line_too_long_to_hold_is_found_wherever_it_stands() {
        let big = "x".repeat(1000);
        let cases = [
            (
                format!(r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{{"t":"{big}"}}}}"#),
                Some(json!(7)),
                true,
            ),
            (
                format!(r#" {{"params":{{"id":1,"s":""id":2,{big}"}},"method":"x","id" : "q-9"}}"#),
                Some(json!("q-9")),
                true,
            ),
            (format!(r#"{{"id":{{"a":1}},"method":"x","p":"{big}"}}"#), None, true),
            (
                format!(r#"{{"jsonrpc":"2.0","id":3,"result":{{"t":"{big}"}}}}"#),
                Some(json!(3)),
                false,
            ),
            (format!(r#"[{{"id":4,"method":"x","p":"{big}"}}]"#), None, false),
        ];
        for (line, id, method) in cases {
            assert_eq!(scanned(&line), (id, method), "{}", &line[..60]);
        }
    }

    #[tokio::test]
    async fn a_line_over_the_limit_is_answered_for_its_id_and_the_next_line_is_read() {
        let input = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":\"{}\"}}\n{{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"y\"}}\n",
            "z".repeat(5000)
        );
        let mut lines = ClientLines::new(input.as_bytes()).with_limit(1024);
        let Some(Err(e)) = lines.next().await else {
            panic!("no error")
        };
        assert_eq!(e["id"], json!(1), "{e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains("larger than 1 KiB"),
            "{e}"
        );
        let Some(Ok(m)) = lines.next().await else {
            panic!("the next line was lost")
        };
        assert_eq!(m[0].id(), &json!(2));
        assert!(lines.next().await.is_none());
    }

    #[test]
    fn valid_json_it_cannot_hold_is_answered_for_its_own_id() {
        // The head cannot be read (`name` is not a string), so the whole tree is parsed.
        let e = error_of(r#"{"jsonrpc":"2.0","id":"q-1","method":"x","params":{"name":5,"n":1e400}}"#);
        assert_eq!(e["id"], json!("q-1"), "{e}");
        assert_eq!(e["error"]["code"], jsonrpc::PARSE_ERROR);
        // No one id to answer: a batch, an id that is not one, broken JSON.
        for line in [
            r#"[{"jsonrpc":"2.0","id":1,"method":"x","params":{"n":1e400}}]"#,
            r#"{"jsonrpc":"2.0","id":{"a":1},"method":"x","params":{"name":5,"n":1e400}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"#,
        ] {
            assert_eq!(error_of(line)["id"], Value::Null, "{line}");
        }
    }
}
