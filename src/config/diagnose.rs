//! Turning config mistakes into messages a person can act on: the file, the
//! line, the dotted key, what is wrong, and the closest valid key when a key
//! is misspelt.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {}: {error}", path.display())]
    Io { path: PathBuf, error: String },
    #[error("{}", render(path.as_deref(), *line, key, message))]
    Invalid {
        path: Option<PathBuf>,
        line: Option<usize>,
        key: String,
        message: String,
    },
    #[error("{0}")]
    Usage(String),
}

fn render(path: Option<&Path>, line: Option<usize>, key: &str, message: &str) -> String {
    let file = path
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "config".to_string());
    let at = line.map(|l| format!(":{l} (line {l})")).unwrap_or_default();
    let key = if key.is_empty() {
        String::new()
    } else {
        format!(", key `{key}`")
    };
    format!("{file}{at}{key}: {message}")
}

/// Convert a TOML parse or type error into a `ConfigError` with line, key
/// and, for an unknown key, the closest valid one.
pub fn from_toml(e: &toml::de::Error, text: &str, path: Option<&Path>) -> ConfigError {
    let line = e.span().map(|s| line_of(text, s.start));
    let raw_key = e
        .span()
        .map(|s| key_of_value(text, s.start).unwrap_or_else(|| text[s.clone()].trim().trim_matches('"').to_string()))
        .unwrap_or_default();
    let table = line.and_then(|l| table_at(text, l));
    let key = match (&table, raw_key.contains(['\n', '='])) {
        (_, true) => table.clone().unwrap_or_default(),
        (Some(t), false) if !raw_key.is_empty() => format!("{t}.{raw_key}"),
        _ => raw_key.clone(),
    };
    let msg = e.message().trim().to_string();
    let mut message = msg.clone();
    if let Some(unknown) = between(&msg, "unknown field `", "`") {
        let expected: Vec<&str> = msg.split('`').skip(3).step_by(2).collect();
        message = format!("unknown key `{unknown}`");
        if let Some(c) = closest(unknown, &expected) {
            message.push_str(&format!("; did you mean `{c}`?"));
        }
        message.push_str(" (config.example.toml documents every key)");
    }
    ConfigError::Invalid {
        path: path.map(Path::to_path_buf),
        line,
        key,
        message,
    }
}

/// The key of a `key = value` line when the error's span starts in its
/// value (a bad value names its key, not itself).
fn key_of_value(text: &str, at: usize) -> Option<String> {
    let start = text[..at].rfind('\n').map_or(0, |n| n + 1);
    let (key, _) = text[start..at].split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.contains(['[', '{', ','])).then(|| key.to_string())
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = s.find(start)? + start.len();
    let len = s[from..].find(end)?;
    Some(&s[from..from + len])
}

/// 1-based line number of byte offset `at`.
pub fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

/// The `[table]` header in force on 1-based `line`.
fn table_at(text: &str, line: usize) -> Option<String> {
    text.lines()
        .take(line)
        .filter_map(|l| {
            let l = l.trim();
            (l.starts_with('[') && !l.starts_with("[[")).then(|| l.trim_matches(['[', ']']).trim().to_string())
        })
        .last()
}

/// The 1-based line where `key` is set inside `[servers.<server>]` (or at the
/// top level when `server` is `None`).
pub fn find_key_line(text: &str, server: Option<&str>, key: &str) -> Option<usize> {
    let wanted_table = server.map(|s| format!("servers.{s}"));
    let mut current: Option<String> = None;
    let mut header_line = None;
    for (i, raw) in text.lines().enumerate() {
        let l = raw.trim();
        if l.starts_with('[') {
            current = Some(l.trim_matches(['[', ']']).trim().trim_matches('"').to_string());
            if current == wanted_table {
                header_line = Some(i + 1);
            }
            continue;
        }
        if current == wanted_table
            && let Some((k, _)) = l.split_once('=')
            && k.trim().trim_matches('"') == key
        {
            return Some(i + 1);
        }
    }
    header_line
}

/// The candidate closest to `word` by edit distance, if close enough to be a
/// plausible typo.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (word.len() / 3).max(2);
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_finds_typos_only() {
        assert_eq!(closest("timout", &["timeout", "url"]), Some("timeout"));
        assert_eq!(closest("zzzzzz", &["timeout", "url"]), None);
    }

    #[test]
    fn finds_key_lines() {
        let t = "default = \"a\"\n[servers.a]\nurl = 1\n[servers.b]\nurl = 2\n";
        assert_eq!(find_key_line(t, Some("b"), "url"), Some(5));
        assert_eq!(find_key_line(t, None, "default"), Some(1));
        assert_eq!(find_key_line(t, Some("a"), "missing"), Some(2));
    }
}
