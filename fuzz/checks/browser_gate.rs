//! Fuzz the browser gate: `browser::check` on arbitrary UTF-8 text, the
//! one check in front of every browser open (a sign-in page, a connect
//! link). Checked: nothing panics; a URL let through is `https://` with a
//! host, or `http://` to this machine (`localhost`, 127.0.0.0/8, `[::1]`:
//! judged here from the host's text, not by the bridge's own helper); the
//! input held no whitespace or control character, nor does the URL handed
//! to the opener; it names no user or password; and a refusal starts with
//! `refusing to open` and is one line, with no control character.
//!
//! The check itself, shared by the fuzz target and by `tests/fuzz_corpus.rs`,
//! which replays the committed seeds (`fuzz/seeds/browser_gate/`) under
//! `cargo test`.

use mcp_bridge::browser::check as gate;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Whether `host` (as `Url::host_str` gives it) is this machine.
fn on_this_machine(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return ip.octets()[0] == 127;
    }
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    bare.and_then(|h| h.parse::<Ipv6Addr>().ok()) == Some(Ipv6Addr::LOCALHOST)
}

/// Runs one input; panics when a check fails.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let unsafe_char = |c: char| c.is_whitespace() || c.is_control();
    match gate(text) {
        Ok(url) => {
            assert!(
                !text.chars().any(unsafe_char),
                "let through with whitespace or a control: {text:?}"
            );
            assert!(!url.as_str().chars().any(unsafe_char), "{url}");
            let host = url.host_str().unwrap_or("");
            match url.scheme() {
                "https" => assert!(!host.is_empty(), "https without a host: {url}"),
                "http" => assert!(on_this_machine(host), "plain http elsewhere: {url}"),
                other => panic!("scheme {other} let through: {url}"),
            }
            assert!(url.username().is_empty() && url.password().is_none(), "{url}");
        }
        Err(e) => {
            assert!(e.starts_with("refusing to open `"), "{e}");
            assert!(!e.chars().any(char::is_control), "{e:?}");
        }
    }
}
