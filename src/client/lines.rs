//! Reading the client: newline-delimited JSON-RPC from stdin (or any
//! reader), one line at a time, decoded into messages (a batch into its
//! members), with a JSON-RPC error for a line that is not JSON. A line
//! holding one object is read for its head only (`Message::read`); a batch,
//! or a line whose head cannot be read that way, is parsed whole. Reading
//! ends when the input closes; the one loop over these lines, which also
//! stops at a signal, is `shutdown::serve_until_stopped`.

use crate::jsonrpc;
use crate::message::Message;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// The client's lines, decoded.
pub struct ClientLines<R> {
    lines: BufReader<R>,
    buf: Vec<u8>,
}

impl<R: AsyncRead + Unpin> ClientLines<R> {
    pub fn new(input: R) -> Self {
        Self {
            lines: BufReader::new(input),
            buf: Vec::new(),
        }
    }

    /// The messages of the next line that has any, or the error answer for
    /// a bad line; None once the input closed. Cancel safe: a line read in
    /// part stays buffered for the next call.
    pub async fn next(&mut self) -> Option<Result<Vec<Message>, Value>> {
        loop {
            match self.lines.read_until(b'\n', &mut self.buf).await {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!("stdin read failed: {e}");
                    return None;
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
