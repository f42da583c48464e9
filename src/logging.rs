//! Logging setup. stdout carries the MCP protocol, so every log line goes to
//! stderr, filtered by `RUST_LOG` or the `--log` flag.

use tracing_subscriber::EnvFilter;

/// Install the global subscriber writing to stderr. `flag` (from `--log`)
/// wins over `RUST_LOG`; with neither, only warnings and errors are shown.
pub fn init(flag: Option<&str>) {
    let filter = match flag {
        Some(f) => EnvFilter::new(f),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}
