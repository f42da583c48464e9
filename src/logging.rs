//! Logging setup. stdout carries the MCP protocol, so every log line goes to
//! stderr, filtered by `RUST_LOG` or the `--log` flag.
//!
//! Each event is one line, whatever text it carries: log lines quote what
//! remotes send (error pages, connect links, tool names), and a newline in
//! that text would forge a line of its own, an ESC byte would drive the
//! terminal. The writer escapes every control character of an event (see
//! `untrusted`) but the newline that ends it.

use std::io::{self, Write};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The log target of a request the relay answered with an error: the same
/// text the client got. Commands that print that answer themselves (`tools`,
/// `call`, `doctor`) leave it out by default, so it is not shown twice.
pub const ANSWERED_ERROR: &str = "mcp_bridge::answered_error";

/// What stderr shows with neither `--log` nor `RUST_LOG`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultFilter {
    /// Warnings and errors (`serve` and the rest).
    Warnings,
    /// Warnings and errors, but for the relay's copy of an error answer the
    /// command prints itself.
    WarningsButAnsweredErrors,
}

/// Install the global subscriber writing to stderr. `flag` (from `--log`)
/// wins over `RUST_LOG`; with neither, `default` says what is shown.
pub fn init(flag: Option<&str>, default: DefaultFilter) {
    let fallback = match default {
        DefaultFilter::Warnings => "warn".to_string(),
        DefaultFilter::WarningsButAnsweredErrors => quiet_filter(),
    };
    let filter = match flag {
        Some(f) => EnvFilter::new(f),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(fallback)),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(OneLine)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

/// stderr, one line per event (the formatter hands over each event whole,
/// in one `write_all`).
struct OneLine;

impl<'a> MakeWriter<'a> for OneLine {
    type Writer = OneLine;

    fn make_writer(&'a self) -> OneLine {
        OneLine
    }
}

impl Write for OneLine {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let text = String::from_utf8_lossy(buf);
        let event = text.strip_suffix('\n').unwrap_or(&text);
        let mut line = crate::untrusted::escape(event).into_owned();
        line.push('\n');
        io::stderr().lock().write_all(line.as_bytes())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// The filter of `WarningsButAnsweredErrors`: warnings, but not the relay's
/// copy of an error answer, nor what an in-process server (the sandbox's
/// rmcp) warns about a request it refused: the command says it once. `demo`
/// gives it to the `serve` it drives.
pub fn quiet_filter() -> String {
    format!("warn,{ANSWERED_ERROR}=off,rmcp=error")
}

/// Whether neither `--log` nor `RUST_LOG` chose a filter.
pub fn default_in_force(flag: Option<&str>) -> bool {
    flag.is_none() && std::env::var_os("RUST_LOG").is_none_or(|v| v.is_empty())
}
