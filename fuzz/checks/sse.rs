//! Fuzz the SSE parser (`sse::Parser`). The first four bytes steer the run,
//! the rest is the body: it is fed whole, one byte at a time, and cut where
//! the fuzzer chooses (one cut, then chunks of a chosen size), under either
//! the real size limit or a tiny one. Checked: nothing panics, every way of
//! cutting gives the same events and the same error, and with the real limit
//! the events equal those of a plain whole-input reading of the spec.
//!
//! The check itself, shared by the fuzz target and by `tests/fuzz_corpus.rs`,
//! which replays the committed seeds (`fuzz/seeds/sse/`) under
//! `cargo test`.

use mcp_bridge::sse::{Event, MAX_EVENT_BYTES, Parser, TooLarge};

fn feed<'a>(limit: usize, chunks: impl IntoIterator<Item = &'a [u8]>) -> (Vec<Event>, Result<(), TooLarge>) {
    let mut parser = Parser::with_limit(limit);
    let mut events = Vec::new();
    for chunk in chunks {
        if let Err(e) = parser.feed(chunk, &mut |e| events.push(e)) {
            return (events, Err(e));
        }
    }
    (events, Ok(()))
}

/// The spec read straight: drop a BOM, split the whole input into lines,
/// drop the unterminated last one, then apply each line.
fn model(input: &[u8]) -> Vec<Event> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let mut lines = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < input.len() {
        match input[i] {
            b'\n' | b'\r' => {
                lines.push(&input[start..i]);
                i += if input[i] == b'\r' && input.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                start = i;
            }
            _ => i += 1,
        }
    }
    let mut events = Vec::new();
    let mut data: Option<Vec<&[u8]>> = None;
    let mut event = Event::default();
    let mut name = String::new();
    let mut seen = false;
    for line in lines {
        if line.is_empty() {
            if seen {
                event.event = (!name.is_empty()).then(|| std::mem::take(&mut name));
                event.data = data.take().map(|d| d.join(&b'\n')).unwrap_or_default();
                events.push(std::mem::take(&mut event));
            }
            (name, seen) = (String::new(), false);
            continue;
        }
        if line[0] == b':' {
            continue;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(c) => (&line[..c], line[c + 1..].strip_prefix(b" ").unwrap_or(&line[c + 1..])),
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                data.get_or_insert_with(Vec::new).push(value);
                seen = true;
            }
            b"event" => {
                name = String::from_utf8_lossy(value).into_owned();
                seen = true;
            }
            b"id" if !value.contains(&0) => {
                event.id = Some(String::from_utf8_lossy(value).into_owned());
                seen = true;
            }
            b"retry" => {
                let digits = !value.is_empty() && value.iter().all(u8::is_ascii_digit);
                if let Some(ms) = std::str::from_utf8(value)
                    .ok()
                    .filter(|_| digits)
                    .and_then(|s| s.parse().ok())
                {
                    event.retry = Some(ms);
                    seen = true;
                }
            }
            _ => {}
        }
    }
    events
}

/// Runs one input; panics when a check fails.
pub fn check(input: &[u8]) {
    let Some((control, body)) = input.split_first_chunk::<4>() else {
        return;
    };
    let cut = usize::from(u16::from_le_bytes([control[0], control[1]])) % (body.len() + 1);
    let step = usize::from(control[2] % 32) + 1;
    let limit = if control[3] & 1 == 0 {
        MAX_EVENT_BYTES
    } else {
        usize::from(control[3] >> 1)
    };

    let whole = feed(limit, [body]);
    let bytewise = feed(limit, body.chunks(1));
    assert_eq!(bytewise, whole, "one byte at a time");
    let (head, tail) = body.split_at(cut);
    let cut_up = feed(limit, std::iter::once(head).chain(tail.chunks(step)));
    assert_eq!(cut_up, whole, "cut at {cut}, then every {step} bytes");

    for event in &whole.0 {
        assert!(event.data.len() <= limit);
        assert!(event.id.as_ref().is_none_or(|id| !id.contains('\0')));
        assert!(event.event.as_ref().is_none_or(|e| !e.is_empty()));
    }
    if limit == MAX_EVENT_BYTES {
        assert_eq!(whole.1, Ok(()));
        assert_eq!(whole.0, model(body), "against the plain reading");
    }
}
