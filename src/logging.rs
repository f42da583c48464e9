//! Logging setup. stdout carries the MCP protocol, so every log line goes to
//! stderr, filtered by `RUST_LOG` or the `--log` flag.

use tracing_subscriber::EnvFilter;

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
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .try_init();
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
