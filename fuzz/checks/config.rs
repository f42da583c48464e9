//! Fuzz the config loader: `Config::parse` on arbitrary UTF-8 text, then the
//! calls `serve` makes on a parsed config (`select`, each entry's provider
//! name, timeout and message size, the error's display); and the input's
//! first line as the value of each number a server entry takes (`timeout`,
//! `session_ttl`, `max_message_size`, `retry_on_account_required`) and as a
//! duration in seconds and a size on its own. Nothing may panic, and every
//! duration or size a config yields is within its documented range.
//!
//! The check itself, shared by the fuzz target and by `tests/fuzz_corpus.rs`,
//! which replays the committed seeds (`fuzz/seeds/config/`) under
//! `cargo test`.

use mcp_bridge::config::size::{LARGEST, SMALLEST, parse_size};
use mcp_bridge::config::{Config, LONGEST, SHORTEST, duration_from_secs};

/// Every duration and size of a parsed config is within its range.
fn check_config(config: &Config) {
    let _ = config.display_path();
    if let Err(e) = config.select(None) {
        let _ = e.to_string();
    }
    for name in config.servers.keys() {
        let (_, entry) = config.select(Some(name)).expect("a listed server selects");
        let _ = entry.provider_name();
        let timeout = entry.timeout();
        assert!((SHORTEST..=LONGEST).contains(&timeout), "{timeout:?}");
        let size = entry.max_message_size();
        assert!((SMALLEST..=LARGEST).contains(&size), "{size}");
        if let Some(ttl) = entry.session_ttl {
            assert!((SHORTEST..=LONGEST).contains(&ttl.0), "{ttl:?}");
        }
    }
    let _ = config.select(Some("no-such-server")).map_err(|e| e.to_string());
}

/// Runs one input; panics when a check fails.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, None) {
        Ok(config) => check_config(&config),
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let value = text.lines().next().unwrap_or("");
    for key in ["timeout", "session_ttl", "max_message_size"] {
        let entry = format!("[servers.s]\nurl = \"https://mcp.example/mcp\"\n{key} = {value}\n");
        match Config::parse(&entry, None) {
            Ok(config) => check_config(&config),
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
    let connect = format!(
        "[servers.s]\nurl = \"https://mcp.example/mcp\"\n[servers.s.connect]\nretry_on_account_required = {value}\n"
    );
    if let Ok(config) = Config::parse(&connect, None) {
        check_config(&config);
    }
    if let Some(d) = value.trim().parse::<f64>().ok().and_then(duration_from_secs) {
        assert!((SHORTEST..=LONGEST).contains(&d), "{d:?}");
    }
    if let Some(n) = parse_size(value) {
        assert!((SMALLEST..=LARGEST).contains(&n), "{n}");
    }
}
