//! Turning config mistakes into messages a person can act on: the file, the
//! line, the dotted key, what is wrong, and the closest valid key when a key
//! is misspelt.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, thiserror::Error)]
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
    /// More than one problem, each its own error: every one is shown.
    #[error("{}", several(.0))]
    Several(Vec<ConfigError>),
}

impl ConfigError {
    /// One error for `problems`: none is `None`, one is itself, more are `Several`.
    pub fn from_all(mut problems: Vec<ConfigError>) -> Option<ConfigError> {
        match problems.len() {
            0 => None,
            1 => problems.pop(),
            _ => Some(ConfigError::Several(problems)),
        }
    }

    /// The dotted key an `Invalid` error is about (`servers.a.timeout`).
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }

    /// Whether this error is about `[servers.<name>]` (one of its keys).
    pub fn is_about_server(&self, name: &str) -> bool {
        self.key()
            .and_then(|k| k.strip_prefix("servers."))
            .and_then(|k| k.strip_prefix(name))
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    }

    /// The single problems this error holds (itself, or each of `Several`).
    pub fn into_each(self) -> Vec<ConfigError> {
        match self {
            ConfigError::Several(all) => all.into_iter().flat_map(ConfigError::into_each).collect(),
            one => vec![one],
        }
    }
}

fn several(all: &[ConfigError]) -> String {
    let mut out = format!("{} problems in the config:", all.len());
    for e in all {
        out.push_str("\n  ");
        out.push_str(&e.to_string().replace('\n', "\n  "));
    }
    out
}

/// `file:line, key `k`: message`: the line said once, as editors and
/// terminals read `file:line`.
fn render(path: Option<&Path>, line: Option<usize>, key: &str, message: &str) -> String {
    let file = path
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "config".to_string());
    let at = line.map(|l| format!(":{l}")).unwrap_or_default();
    let key = if key.is_empty() {
        String::new()
    } else {
        format!(", key `{key}`")
    };
    format!("{file}{at}{key}: {message}")
}

/// Convert a TOML parse or type error into a `ConfigError` with line, key
/// (as written in the file: the key whose value is wrong, not the value)
/// and what was expected; for an unknown key, the closest valid one.
pub fn from_toml(e: &toml::de::Error, text: &str, path: Option<&Path>) -> ConfigError {
    let span = e.span().filter(|s| {
        s.start <= s.end && s.end <= text.len() && text.is_char_boundary(s.start) && text.is_char_boundary(s.end)
    });
    let line = span.as_ref().map(|s| line_of(text, s.start));
    let mut key = span.as_ref().map(|s| key_at(text, s.clone())).unwrap_or_default();
    let msg = e.message().trim().to_string();
    if let Some(missing) = between(&msg, "missing field `", "`") {
        key = if key.is_empty() {
            missing.to_string()
        } else {
            format!("{key}.{missing}")
        };
    }
    let message = if let Some(unknown) = between(&msg, "unknown field `", "`") {
        let expected: Vec<&str> = msg.split('`').skip(3).step_by(2).collect();
        let mut message = format!("unknown key `{unknown}`");
        if let Some(c) = closest(unknown, &expected) {
            message.push_str(&format!("; did you mean `{c}`?"));
        }
        message.push_str(" (config.example.toml documents every key)");
        message
    } else if let Some(missing) = between(&msg, "missing field `", "`") {
        match expected(missing) {
            Some(what) => format!("`{missing}` is required: {what}"),
            None => format!("`{missing}` is required"),
        }
    } else {
        let leaf = key.rsplit('.').next().unwrap_or_default();
        let wrong_type =
            msg.starts_with("invalid type") || msg.starts_with("invalid value") || msg.contains("untagged enum");
        match expected(leaf) {
            Some(what) if wrong_type || leaf_message_is_generic(leaf) => {
                let found = span
                    .as_ref()
                    .map(|s| found(leaf, text[s.clone()].trim()))
                    .unwrap_or_default();
                format!("expected {what}{found}")
            }
            _ if msg.contains("untagged enum ConfigValue") => format!("expected {VALUE}"),
            _ => msg,
        }
    };
    ConfigError::Invalid {
        path: path.map(Path::to_path_buf),
        line,
        key,
        message,
    }
}

/// What a config value may be, for keys whose value holds or may hold a secret.
const VALUE: &str =
    "a string (with `${ENV_VAR}` for the environment), { command = [\"prog\", \"arg\"] } or { file = \"path\" }";

/// What the value of `key` must be, said for a person.
fn expected(key: &str) -> Option<&'static str> {
    Some(match key {
        "timeout" | "session_ttl" => {
            "a duration up to a day: seconds (120) or a string such as \"5m\", \"30s\" or \"500ms\", from 1ms to 24h"
        }
        "allow_tools" | "deny_tools" => "a list of globs, e.g. [\"chat_*\", \"search\"]",
        "servers" => "a list of server names, e.g. servers = [\"zapier\", \"sandbox\"]",
        "scopes" => "a list of scopes, e.g. [\"mcp:read\"]",
        "apps" => "a list of app slugs, e.g. [\"gmail\", \"google-calendar\"]",
        "headers" | "query" => "a table of names and values, e.g. { \"X-Team\" = \"blue\" }",
        "callback_port" => "a port number from 1 to 65535",
        "app_discovery" | "notice" | "log" | "notify" | "elicit" | "open_browser" => "true or false",
        "retry_on_account_required" => "a small whole number, e.g. 1",
        "url"
        | "bearer"
        | "token"
        | "access_token"
        | "refresh_token"
        | "client_id"
        | "client_secret"
        | "project_id"
        | "external_user_id"
        | "account_id"
        | "base_url"
        | "api_base"
        | "token_url"
        | "chat_id"
        | "oauth_app_id"
        | "webhook_uri"
        | "success_redirect_uri"
        | "error_redirect_uri" => VALUE,
        "provider"
        | "auth"
        | "environment"
        | "app"
        | "tool_mode"
        | "conversation_id"
        | "mode"
        | "resource"
        | "connect_link_pattern"
        | "default" => "a string",
        _ => return None,
    })
}

/// Keys whose own deserializer's message is less clear than `expected`.
fn leaf_message_is_generic(key: &str) -> bool {
    matches!(key, "timeout" | "session_ttl")
}

/// `; found …` with the value as written, for keys that never hold a
/// secret; for the others only the kind of value.
fn found(key: &str, written: &str) -> String {
    let shows_value = matches!(
        key,
        "timeout" | "session_ttl" | "allow_tools" | "deny_tools" | "servers" | "scopes" | "apps" | "callback_port"
    );
    if shows_value {
        let shown: String = written.chars().take(60).collect();
        let more = if written.chars().count() > 60 { "…" } else { "" };
        return format!("; found {shown}{more}");
    }
    let kind = match written.chars().next() {
        Some('"' | '\'') => "a string",
        Some('[') => "a list",
        Some('{') => "a table",
        Some('t' | 'f') => "true or false",
        Some(c) if c.is_ascii_digit() || c == '-' || c == '+' => "a number",
        _ => return String::new(),
    };
    format!("; found {kind}")
}

/// The dotted key (as written in the file) that the error at `span` is
/// about: the key itself when the span covers a key or a table header, the
/// key it is assigned to when the span covers a value.
fn key_at(text: &str, span: std::ops::Range<usize>) -> String {
    let line_start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..span.start];
    let spanned = text[span.clone()].trim();
    // A whole table: its path.
    if spanned.starts_with('[') && !before.contains('=') {
        let header = spanned.lines().next().unwrap_or_default().trim_start_matches('[');
        return clean_path(header.split(']').next().unwrap_or_default());
    }
    // In a `[table]` header: the path up to the end of the span.
    if before.trim_start().starts_with('[') {
        let header = &text[line_start..span.end.max(span.start)];
        return clean_path(header.trim_start().trim_start_matches('['));
    }
    let line = line_of(text, span.start);
    let table = table_at(text, line);
    let join = |key: &str| match &table {
        Some(t) if !t.is_empty() => format!("{t}.{}", clean_path(key)),
        _ => clean_path(key),
    };
    // A value: the key before the `=` on its line.
    if let Some((key, _)) = before.split_once('=') {
        return join(key);
    }
    // A key (the span is followed by `=` or a `.` of a dotted key).
    let after = text[span.end..].trim_start();
    if before.trim().is_empty() && !spanned.contains('\n') && (after.starts_with('=') || after.starts_with('.')) {
        return join(spanned);
    }
    // A value continued from an earlier line (a list over several lines):
    // the nearest line above that assigns a key.
    for l in text[..line_start].lines().rev() {
        let l = l.trim();
        if l.starts_with('[') {
            break;
        }
        if let Some((key, _)) = l.split_once('=')
            && !key.trim().is_empty()
            && !l.starts_with('#')
            && !key.contains(['"', '{', ','])
        {
            return join(key);
        }
    }
    table.unwrap_or_default()
}

/// A dotted key or header path without brackets, quotes around its parts
/// or spaces around its dots.
fn clean_path(raw: &str) -> String {
    raw.trim()
        .trim_end_matches(']')
        .split('.')
        .map(|p| p.trim().trim_matches(['"', '\'']))
        .collect::<Vec<_>>()
        .join(".")
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
            let header = l.strip_prefix('[').filter(|_| !l.starts_with("[["))?;
            Some(clean_path(header.split(']').next().unwrap_or_default()))
        })
        .last()
}

/// The 1-based line where `key` is set inside `[servers.<server>]` (or at the
/// top level when `server` is `None`).
pub fn find_key_line(text: &str, server: Option<&str>, key: &str) -> Option<usize> {
    find_line_in(text, server.map(|s| format!("servers.{s}")).as_deref(), key)
}

/// The 1-based line where `key` is set inside `[<table>]` (or at the top
/// level when `table` is `None`), else the table's header line.
pub fn find_line_in(text: &str, table: Option<&str>, key: &str) -> Option<usize> {
    let wanted_table = table.map(str::to_string);
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
