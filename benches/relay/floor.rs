//! The stdio floor: the thinnest stdio → Streamable HTTP relay this bench
//! can think of, measured beside mcp-bridge so the table shows what any
//! stdio bridge pays for being a second process.
//!
//! The bench re-executes itself with `--stdio-floor URL`. That process
//! reads one line from stdin, POSTs it as it is over one kept-alive HTTP/1.1
//! connection (a hand-written request, blocking `std` I/O, no runtime, no
//! JSON parsing), keeps the `Mcp-Session-Id` it is given, and writes the
//! `data:` of each SSE event (or a JSON body) to stdout as one line. It
//! handles one request at a time, so it only takes part in the cold start,
//! the peak RSS and the sequential calls; it knows nothing of errors,
//! reconnects, cancellation or server→client requests, all of which the
//! bridge does.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The argument that turns the bench binary into the floor relay.
pub const ARG: &str = "--stdio-floor";

/// Runs the floor relay against `url` (`http://host:port/path`) until stdin
/// closes.
pub fn run(url: &str) -> Res<()> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("the stdio floor speaks plain http only")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let stream = TcpStream::connect(authority)?;
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut session: Option<String> = None;
    let mut out = io::stdout().lock();
    let mut request = Vec::with_capacity(1024);
    for line in io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        request.clear();
        write!(
            request,
            "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n",
            line.len()
        )?;
        if let Some(id) = &session {
            write!(request, "Mcp-Session-Id: {id}\r\nMcp-Protocol-Version: 2025-11-25\r\n")?;
        }
        request.extend_from_slice(b"\r\n");
        request.extend_from_slice(line.as_bytes());
        writer.write_all(&request)?;

        let response = read_response(&mut reader)?;
        if let Some(id) = response.session {
            session = Some(id);
        }
        if response.sse {
            for data in sse_data(&response.body) {
                out.write_all(data.as_bytes())?;
                out.write_all(b"\n")?;
            }
        } else if !response.body.iter().all(u8::is_ascii_whitespace) {
            out.write_all(&response.body)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
    }
    Ok(())
}

struct Response {
    session: Option<String>,
    sse: bool,
    body: Vec<u8>,
}

fn read_response(reader: &mut BufReader<TcpStream>) -> Res<Response> {
    let mut line = String::new();
    let mut response = Response {
        session: None,
        sse: false,
        body: Vec::new(),
    };
    let (mut chunked, mut length) = (false, 0usize);
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err("the remote closed the connection".into());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        // The status line has no colon; the status itself does not matter here.
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "mcp-session-id" => response.session = Some(value.to_string()),
            "content-type" => response.sse = value.starts_with("text/event-stream"),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "content-length" => length = value.parse()?,
            _ => {}
        }
    }
    if !chunked {
        response.body.resize(length, 0);
        reader.read_exact(&mut response.body)?;
        return Ok(response);
    }
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let size = line.trim_end().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size, 16)?;
        if size == 0 {
            // Trailers (none expected), then the blank line that ends them.
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
                    return Ok(response);
                }
            }
        }
        let start = response.body.len();
        response.body.resize(start + size, 0);
        reader.read_exact(&mut response.body[start..])?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf)?;
    }
}

/// The non-empty `data` of each SSE event in `body`.
fn sse_data(body: &[u8]) -> Vec<String> {
    let mut events = Vec::new();
    let mut data = String::new();
    for line in String::from_utf8_lossy(body).split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            if !data.trim().is_empty() {
                events.push(std::mem::take(&mut data));
            }
            data.clear();
        } else if let Some(rest) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(rest.strip_prefix(' ').unwrap_or(rest));
        }
    }
    if !data.trim().is_empty() {
        events.push(data);
    }
    events
}
