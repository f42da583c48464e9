//! HTTP/1.1 on one connection, as the loopback way speaks it: a request
//! written whole in one write, the response head parsed with `httparse`,
//! and the body read by its framing (a length, chunks, or up to the close)
//! in the task that reads the response, with no connection task between.

use bytes::{Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version};
use http_body::Frame;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::net::TcpStream;

/// The longest response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// The most header fields in one response head.
const MAX_HEADERS: usize = 128;
/// The longest chunk-size or trailer line accepted.
const MAX_LINE: usize = 8 * 1024;
/// The room each read starts with; it doubles while reads fill it (a large
/// body), up to `MAX_READ`.
const FIRST_READ: usize = 8 * 1024;
const MAX_READ: usize = 512 * 1024;

/// One open connection and what has been read from it but not used yet.
pub struct Conn {
    pub stream: TcpStream,
    buf: BytesMut,
    read_size: usize,
}

impl Conn {
    pub fn new(stream: TcpStream) -> Conn {
        Conn {
            stream,
            buf: BytesMut::new(),
            read_size: FIRST_READ,
        }
    }

    /// Whether the connection can carry another request: nothing is left
    /// unread, and the peer has not closed it (or sent anything) meanwhile.
    /// Costs no system call while the runtime has seen nothing to read.
    pub fn is_reusable(&self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let mut probe = [0u8; 1];
        matches!(self.stream.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    /// Read more into the buffer: the number of bytes read, 0 at the end.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.buf.capacity() - self.buf.len() < self.read_size / 2 {
            self.buf.reserve(self.read_size);
        }
        let room = self.buf.capacity() - self.buf.len();
        let mut read = ReadBuf::uninit(self.buf.spare_capacity_mut());
        ready!(Pin::new(&mut self.stream).poll_read(cx, &mut read))?;
        let n = read.filled().len();
        // SAFETY: `poll_read` initialised the first `n` bytes of the spare
        // capacity (that is what `filled` reports), and `n` ≤ the capacity.
        unsafe { self.buf.set_len(self.buf.len() + n) };
        if n == room && self.read_size < MAX_READ {
            self.read_size *= 2;
        }
        Poll::Ready(Ok(n))
    }

    async fn fill(&mut self) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_fill(cx)).await
    }
}

/// The request line, the headers (with `Host` and `Content-Length` added
/// when missing) and the body, as one buffer.
pub fn encode(method: &Method, url: &url::Url, headers: &[(HeaderName, HeaderValue)], body: &[u8]) -> Vec<u8> {
    let has = |name: &HeaderName| headers.iter().any(|(k, _)| k == name);
    let mut out = Vec::with_capacity(256 + headers.len() * 48 + body.len());
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(url.path().as_bytes());
    if let Some(q) = url.query() {
        out.push(b'?');
        out.extend_from_slice(q.as_bytes());
    }
    out.extend_from_slice(b" HTTP/1.1\r\n");
    if !has(&HOST) {
        out.extend_from_slice(b"host: ");
        out.extend_from_slice(url.host_str().unwrap_or("localhost").as_bytes());
        if let Some(port) = url.port() {
            out.push(b':');
            decimal(&mut out, port.into());
        }
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let bodiless = (*method == Method::GET || *method == Method::HEAD || *method == Method::DELETE) && body.is_empty();
    if !bodiless && !has(&CONTENT_LENGTH) {
        out.extend_from_slice(b"content-length: ");
        decimal(&mut out, body.len());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// `n` in decimal (no formatting machinery on the per-request path).
fn decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// A response's status line and headers.
pub struct Head {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
}

/// Read the response head (skipping interim 1xx responses).
pub async fn read_head(conn: &mut Conn) -> io::Result<Head> {
    loop {
        if let Some(head) = parse_head(&mut conn.buf)? {
            if head.status.is_informational() && head.status != StatusCode::SWITCHING_PROTOCOLS {
                continue;
            }
            return Ok(head);
        }
        if conn.fill().await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the connection closed before a complete response",
            ));
        }
    }
}

/// The head at the start of `buf`, taken out of it, or None when it has
/// not all arrived yet. Its header values are slices of what was read, not
/// copies.
fn parse_head(buf: &mut BytesMut) -> io::Result<Option<Head>> {
    if buf.is_empty() {
        return Ok(None);
    }
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut fields);
    let len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => return Err(head_too_large()),
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(invalid(&format!("not an HTTP/1.1 response ({e})"))),
    };
    // The same limit however the head arrived: whole or in pieces.
    if len > MAX_HEAD {
        return Err(head_too_large());
    }
    let status = StatusCode::from_u16(parsed.code.unwrap_or(0)).map_err(|_| invalid("an invalid status code"))?;
    let version = if parsed.version == Some(0) {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    // Where each value lies in the head, to slice it once the head is frozen.
    let base = buf.as_ptr() as usize;
    let mut names = Vec::with_capacity(parsed.headers.len());
    for h in parsed.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| invalid("an invalid header name"))?;
        let start = h.value.as_ptr() as usize - base;
        names.push((name, start..start + h.value.len()));
    }
    let head = buf.split_to(len).freeze();
    let mut headers = HeaderMap::with_capacity(names.len());
    for (name, at) in names {
        let value = HeaderValue::from_maybe_shared(head.slice(at)).map_err(|_| invalid("an invalid header value"))?;
        headers.append(name, value);
    }
    Ok(Some(Head {
        status,
        version,
        headers,
    }))
}

fn head_too_large() -> io::Error {
    invalid("the response head is too large")
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// How a response body is delimited (RFC 9112, section 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// This many bytes are left.
    Length(u64),
    Chunked(Chunk),
    /// The body ends when the connection does.
    UntilClose,
    /// All of it has been read.
    Done,
}

/// Where a chunked body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk {
    Size,
    Data(u64),
    DataEnd,
    Trailers,
}

impl Framing {
    /// The framing of the response to `method` with `head`, and whether the
    /// connection can carry another request once it has been read.
    pub fn of(method: &Method, head: &Head) -> io::Result<(Framing, bool)> {
        let h = &head.headers;
        let keep = match head.version {
            Version::HTTP_11 => !has_token(h, CONNECTION, "close"),
            _ => has_token(h, CONNECTION, "keep-alive"),
        };
        if *method == Method::HEAD || head.status == StatusCode::NO_CONTENT || head.status == StatusCode::NOT_MODIFIED {
            return Ok((Framing::Done, keep));
        }
        if let Some(te) = h.get_all(TRANSFER_ENCODING).iter().next_back() {
            let last = te.to_str().unwrap_or("").rsplit(',').next().unwrap_or("").trim();
            return Ok(if last.eq_ignore_ascii_case("chunked") {
                (Framing::Chunked(Chunk::Size), keep)
            } else {
                (Framing::UntilClose, false)
            });
        }
        let mut length = None;
        for v in h.get_all(CONTENT_LENGTH) {
            let n = v
                .to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| invalid("an invalid Content-Length"))?;
            if length.is_some_and(|l| l != n) {
                return Err(invalid("conflicting Content-Length values"));
            }
            length = Some(n);
        }
        Ok(match length {
            Some(0) => (Framing::Done, keep),
            Some(n) => (Framing::Length(n), keep),
            None => (Framing::UntilClose, false),
        })
    }

    /// Take the next piece of body from `buf`: Some(data), or None when
    /// more must be read first (or, once `self` is `Done`, at the end).
    fn next(&mut self, buf: &mut BytesMut) -> io::Result<Option<Bytes>> {
        loop {
            match self {
                Framing::Done => return Ok(None),
                Framing::UntilClose => {
                    return Ok((!buf.is_empty()).then(|| buf.split().freeze()));
                }
                Framing::Length(left) | Framing::Chunked(Chunk::Data(left)) => {
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    let take = (*left).min(buf.len() as u64);
                    *left -= take;
                    let data = buf.split_to(take as usize).freeze();
                    if *left == 0 {
                        *self = match self {
                            Framing::Length(_) => Framing::Done,
                            _ => Framing::Chunked(Chunk::DataEnd),
                        };
                    }
                    return Ok(Some(data));
                }
                Framing::Chunked(Chunk::Size) => {
                    let Some(line) = take_line(buf)? else {
                        return Ok(None);
                    };
                    let size = chunk_size(&line)?;
                    *self = Framing::Chunked(if size == 0 { Chunk::Trailers } else { Chunk::Data(size) });
                }
                Framing::Chunked(Chunk::DataEnd) => {
                    let Some(line) = take_line(buf)? else {
                        return Ok(None);
                    };
                    if !line.is_empty() {
                        return Err(invalid("a chunk longer than its size"));
                    }
                    *self = Framing::Chunked(Chunk::Size);
                }
                Framing::Chunked(Chunk::Trailers) => {
                    let Some(line) = take_line(buf)? else {
                        return Ok(None);
                    };
                    if line.is_empty() {
                        *self = Framing::Done;
                    }
                }
            }
        }
    }
}

/// A response read from `pieces` as the loopback way reads it from a
/// connection, for the fuzz target: its status, its body, and whether the
/// body came to its end (None: the head never did).
#[doc(hidden)]
pub fn read_pieces<'a>(
    method: &Method,
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> io::Result<Option<(u16, Vec<u8>, bool)>> {
    let mut buf = BytesMut::new();
    let mut read: Option<(u16, Framing)> = None;
    let mut body = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        while read.is_none() {
            let Some(head) = parse_head(&mut buf)? else { break };
            if head.status.is_informational() && head.status != StatusCode::SWITCHING_PROTOCOLS {
                continue;
            }
            read = Some((head.status.as_u16(), Framing::of(method, &head)?.0));
        }
        if let Some((_, framing)) = read.as_mut() {
            while let Some(data) = framing.next(&mut buf)? {
                body.extend_from_slice(&data);
            }
        }
    }
    Ok(read.map(|(status, framing)| (status, body, framing == Framing::Done)))
}

/// Whether a comma-separated header lists `token`.
fn has_token(h: &HeaderMap, name: HeaderName, token: &str) -> bool {
    h.get_all(name).iter().any(|v| {
        v.to_str()
            .unwrap_or("")
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    })
}

/// The next line in `buf` without its line end, taken out of it; None
/// when no whole line has arrived.
fn take_line(buf: &mut BytesMut) -> io::Result<Option<BytesMut>> {
    let Some(end) = memchr::memchr(b'\n', buf) else {
        return if buf.len() > MAX_LINE {
            Err(invalid("a chunk-size or trailer line is too long"))
        } else {
            Ok(None)
        };
    };
    if end > MAX_LINE {
        // The same limit however the line arrived: whole or in pieces.
        return Err(invalid("a chunk-size or trailer line is too long"));
    }
    let mut line = buf.split_to(end + 1);
    line.truncate(end);
    if line.last() == Some(&b'\r') {
        line.truncate(end - 1);
    }
    Ok(Some(line))
}

/// The size on a chunk-size line (hex digits, then any extensions).
fn chunk_size(line: &[u8]) -> io::Result<u64> {
    let digits = line.split(|&b| b == b';').next().unwrap_or(&[]);
    let digits = digits.trim_ascii();
    if digits.is_empty() || digits.len() > 15 {
        return Err(invalid("an invalid chunk size"));
    }
    let text = std::str::from_utf8(digits).map_err(|_| invalid("an invalid chunk size"))?;
    u64::from_str_radix(text, 16).map_err(|_| invalid("an invalid chunk size"))
}

/// Where a connection goes once its response has been read whole.
pub trait Release: Send + Sync + Unpin + 'static {
    fn release(&self, conn: Conn);
}

/// A response body read from its connection as it is polled. Read whole,
/// the connection goes back to `release` (when it can be used again);
/// dropped before that, the connection is closed.
pub struct Body<R: Release> {
    conn: Option<Conn>,
    framing: Framing,
    keep: bool,
    release: R,
}

impl<R: Release> Body<R> {
    /// The body of a response whose head has just been read from `conn`.
    /// One with nothing to read releases the connection at once.
    pub fn new(conn: Conn, framing: Framing, keep: bool, release: R) -> Body<R> {
        let mut body = Body {
            conn: Some(conn),
            framing,
            keep,
            release,
        };
        if framing == Framing::Done {
            body.finish();
        }
        body
    }

    fn finish(&mut self) {
        self.framing = Framing::Done;
        if let Some(conn) = self.conn.take()
            && self.keep
            && conn.is_reusable()
        {
            self.release.release(conn);
        }
    }
}

impl<R: Release> http_body::Body for Body<R> {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<Frame<Bytes>>>> {
        let this = self.get_mut();
        loop {
            let Some(conn) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            match this.framing.next(&mut conn.buf) {
                Ok(Some(data)) => {
                    if this.framing == Framing::Done {
                        this.finish();
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Ok(None) if this.framing == Framing::Done => {
                    this.finish();
                    return Poll::Ready(None);
                }
                Ok(None) => {}
                Err(e) => {
                    this.conn = None;
                    return Poll::Ready(Some(Err(e)));
                }
            }
            match ready!(conn.poll_fill(cx)) {
                Ok(0) if this.framing == Framing::UntilClose => {
                    this.framing = Framing::Done;
                    this.conn = None;
                    return Poll::Ready(None);
                }
                Ok(0) => {
                    this.conn = None;
                    return Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the connection closed in the middle of the response body",
                    ))));
                }
                Ok(_) => {}
                Err(e) => {
                    this.conn = None;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.framing == Framing::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(status: u16, version: Version, headers: &[(&str, &str)]) -> Head {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        Head {
            status: StatusCode::from_u16(status).unwrap(),
            version,
            headers: h,
        }
    }

    /// The body `framing` reads from `wire` fed in pieces of `step` bytes,
    /// and whether it reached its end.
    fn read_all(mut framing: Framing, wire: &[u8], step: usize) -> io::Result<(Vec<u8>, bool)> {
        let mut buf = BytesMut::new();
        let mut body = Vec::new();
        for piece in wire.chunks(step) {
            buf.extend_from_slice(piece);
            while let Some(data) = framing.next(&mut buf)? {
                body.extend_from_slice(&data);
            }
        }
        Ok((body, framing == Framing::Done))
    }

    #[test]
    fn chunked_bodies_are_read_in_any_pieces() {
        let wire = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nx-trailer: 1\r\n\r\n";
        for step in [1, 2, 3, 7, wire.len()] {
            let (body, done) = read_all(Framing::Chunked(Chunk::Size), wire, step).unwrap();
            assert_eq!(body, b"hello, world", "step {step}");
            assert!(done, "step {step}");
        }
        // Bare LF line ends are read too.
        let (body, done) = read_all(Framing::Chunked(Chunk::Size), b"3\nabc\n0\n\n", 1).unwrap();
        assert_eq!((body.as_slice(), done), (&b"abc"[..], true));
        // Not at the end yet: the last chunk has not come.
        let (_, done) = read_all(Framing::Chunked(Chunk::Size), b"3\r\nabc\r\n", 4).unwrap();
        assert!(!done);
    }

    #[test]
    fn broken_chunking_is_an_error() {
        for wire in [
            &b"zz\r\nabc\r\n"[..],
            b"3\r\nabcdef\r\n",
            b"\r\n",
            b"1234567890abcdef0\r\n",
        ] {
            assert!(read_all(Framing::Chunked(Chunk::Size), wire, 64).is_err(), "{wire:?}");
        }
        let long = vec![b'1'; MAX_LINE + 10];
        assert!(read_all(Framing::Chunked(Chunk::Size), &long, 64).is_err());
        // A trailer line too long is refused whether it arrives whole or cut.
        let mut trailer = b"0\r\nx: ".to_vec();
        trailer.extend(vec![b'a'; MAX_LINE + 10]);
        trailer.extend_from_slice(b"\r\n\r\n");
        for step in [7, trailer.len()] {
            assert!(
                read_all(Framing::Chunked(Chunk::Size), &trailer, step).is_err(),
                "step {step}"
            );
        }
    }

    #[test]
    fn a_length_body_stops_at_its_length() {
        let mut buf = BytesMut::from(&b"abcdefNEXT"[..]);
        let mut f = Framing::Length(6);
        assert_eq!(f.next(&mut buf).unwrap().as_deref(), Some(&b"abcdef"[..]));
        assert_eq!(f, Framing::Done);
        assert_eq!(&buf[..], b"NEXT");
    }

    #[test]
    fn framing_follows_the_head() {
        let post = Method::POST;
        let v11 = Version::HTTP_11;
        let of = |h: Head| Framing::of(&post, &h).unwrap();
        assert_eq!(
            of(head(200, v11, &[("transfer-encoding", "chunked")])),
            (Framing::Chunked(Chunk::Size), true)
        );
        assert_eq!(
            of(head(200, v11, &[("content-length", "12"), ("connection", "close")])),
            (Framing::Length(12), false)
        );
        assert_eq!(of(head(202, v11, &[("content-length", "0")])), (Framing::Done, true));
        assert_eq!(of(head(204, v11, &[])), (Framing::Done, true));
        assert_eq!(of(head(200, v11, &[])), (Framing::UntilClose, false));
        assert_eq!(
            of(head(200, v11, &[("transfer-encoding", "gzip")])),
            (Framing::UntilClose, false)
        );
        assert_eq!(
            of(head(200, Version::HTTP_10, &[("content-length", "3")])),
            (Framing::Length(3), false)
        );
        assert_eq!(
            of(head(
                200,
                Version::HTTP_10,
                &[("content-length", "3"), ("connection", "Keep-Alive")]
            )),
            (Framing::Length(3), true)
        );
        let conflict = head(200, v11, &[("content-length", "3"), ("content-length", "4")]);
        assert!(Framing::of(&post, &conflict).is_err());
        assert!(Framing::of(&post, &head(200, v11, &[("content-length", "-1")])).is_err());
    }

    #[test]
    fn a_head_is_parsed_once_it_has_all_arrived() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nMcp-Session-Id: s-1\r\n\r\ndata";
        let mut buf = BytesMut::from(&wire[..30]);
        assert!(parse_head(&mut buf).unwrap().is_none());
        let mut buf = BytesMut::from(&wire[..]);
        let head = parse_head(&mut buf).unwrap().unwrap();
        assert_eq!(&buf[..], b"data");
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(head.headers["mcp-session-id"], "s-1");
        assert!(parse_head(&mut BytesMut::from(&b"SSH-2.0-OpenSSH\r\n\r\n"[..])).is_err());
    }

    #[test]
    fn a_request_is_written_whole() {
        let url = url::Url::parse("http://127.0.0.1:8123/mcp?k=v").unwrap();
        let h = [(
            HeaderName::from_static("mcp-session-id"),
            HeaderValue::from_static("s-1"),
        )];
        let wire = encode(&Method::POST, &url, &h, b"{}");
        assert_eq!(
            String::from_utf8(wire).unwrap(),
            "POST /mcp?k=v HTTP/1.1\r\nhost: 127.0.0.1:8123\r\nmcp-session-id: s-1\r\ncontent-length: 2\r\n\r\n{}"
        );
        let mut n = Vec::new();
        for v in [0, 7, 10, 65535, usize::MAX] {
            n.clear();
            decimal(&mut n, v);
            assert_eq!(n, v.to_string().as_bytes());
        }
        let get = encode(&Method::GET, &url::Url::parse("http://[::1]/sse").unwrap(), &[], b"");
        assert_eq!(
            String::from_utf8(get).unwrap(),
            "GET /sse HTTP/1.1\r\nhost: [::1]\r\n\r\n"
        );
    }
}
