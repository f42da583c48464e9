//! Fuzz the config loader: `Config::parse` on arbitrary UTF-8 text, then the
//! calls `serve` makes on a parsed config (`select`, each entry's provider
//! name and timeout, the error's display). Nothing may panic.
//!
//! The check itself, shared by the fuzz target and by `tests/fuzz_corpus.rs`,
//! which replays the committed seeds (`fuzz/seeds/config/`) under
//! `cargo test`.

use mcp_bridge::config::Config;

/// Runs one input; panics when a check fails.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, None) {
        Ok(config) => {
            let _ = config.display_path();
            if let Err(e) = config.select(None) {
                let _ = e.to_string();
            }
            for name in config.servers.keys() {
                let (_, entry) = config.select(Some(name)).expect("a listed server selects");
                let _ = entry.provider_name();
                let _ = entry.timeout();
            }
            let _ = config.select(Some("no-such-server")).map_err(|e| e.to_string());
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}
