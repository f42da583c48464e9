//! Text the bridge did not write (a remote's tool result, error body or
//! connect link, a URL from a server's metadata) made safe to put in a log
//! line or before a person's terminal: every control character (C0, DEL,
//! C1: newlines that would forge a log line, ESC that starts an ANSI or OSC
//! sequence) and every bidirectional override (which reorders what a person
//! reads) is written as an escape (`\n`, `\u{1b}`), so the text stays one
//! line and shows what it holds. Everything else, any script, passes as it is.
//!
//! Where exact bytes matter (the protocol on stdout, `--json` output) the
//! text is never escaped: JSON escapes control characters itself.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a log line or a terminal as it is.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// `text` with each unsafe character escaped; borrowed when there is none.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `escape` for a person's terminal, where text may run over several lines
/// (a tool's result): line breaks and tabs stay, every other control
/// character (ESC, CR, BEL, …) is escaped.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) && c != '\n' && c != '\t') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        for part in body.split_inclusive('\t') {
            let (cell, tab) = match part.strip_suffix('\t') {
                Some(cell) => (cell, "\t"),
                None => (part, ""),
            };
            out.push_str(&escape(cell));
            out.push_str(tab);
        }
        out.push_str(end);
    }
    Cow::Owned(out)
}

/// `escape`, keeping at most `max` characters of `text` (a `…` marks a cut).
pub fn excerpt(text: &str, max: usize) -> String {
    let mut cut: String = text.chars().take(max).collect();
    if text.chars().nth(max).is_some() {
        cut.push('…');
    }
    escape(&cut).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forged_log_line_or_terminal_sequence_stays_visible_text() {
        assert_eq!(
            escape("https://x/?a\n2026-01-01T00:00:00Z  INFO forged"),
            "https://x/?a\\n2026-01-01T00:00:00Z  INFO forged"
        );
        assert_eq!(
            escape("\x1b]52;c;cGF5bG9hZA==\x07red"),
            "\\u{1b}]52;c;cGF5bG9hZA==\\u{7}red"
        );
        assert_eq!(escape("a\u{9b}31mb\u{7f}"), "a\\u{9b}31mb\\u{7f}");
        assert_eq!(escape("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        // Ordinary text in any script is left alone, and not copied.
        assert!(matches!(escape("Grüße, 東京 — ok"), Cow::Borrowed(_)));
        assert_eq!(excerpt("ab\ncd", 3), "ab\\n…");
        assert_eq!(excerpt("abc", 3), "abc");
    }

    #[test]
    fn terminal_text_keeps_its_lines_but_not_its_escape_sequences() {
        assert_eq!(
            for_terminal("row 1\n\x1b[2Jrow\t2\r\n\x1b]8;;https://evil\x07x"),
            "row 1\n\\u{1b}[2Jrow\t2\\r\n\\u{1b}]8;;https://evil\\u{7}x"
        );
        assert!(matches!(for_terminal("a\n\tb"), Cow::Borrowed(_)));
    }
}
