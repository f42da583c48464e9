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
