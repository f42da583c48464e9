//! Redaction of secrets before anything reaches a log line or an error.
//!
//! Every secret the bridge learns (tokens, client secrets, secret-bearing
//! URLs) is registered here; `Redactor::apply` replaces each occurrence in a
//! string with `[redacted]`. URLs are also shown through `display_url`, which
//! drops query strings and userinfo.

use std::sync::{Arc, RwLock};

/// A shared, growable set of secret strings to scrub from text.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<RwLock<Vec<String>>>,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Remember `secret` so that later `apply` calls hide it. Very short
    /// values are ignored: they would blank out ordinary words.
    pub fn add(&self, secret: impl Into<String>) {
        let secret = secret.into();
        if secret.len() < 4 {
            return;
        }
        let mut s = self.secrets.write().unwrap_or_else(|e| e.into_inner());
        if !s.contains(&secret) {
            s.push(secret);
            // Longest first, so a secret that contains another is hidden whole.
            s.sort_by_key(|b| std::cmp::Reverse(b.len()));
        }
    }

    /// Replace every registered secret in `text`.
    pub fn apply(&self, text: &str) -> String {
        let s = self.secrets.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_string();
        for secret in s.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "[redacted]");
            }
        }
        out
    }
}

/// A URL as it may be shown to a person: scheme, host, port and path only.
/// Query strings and userinfo can carry tokens, so they never appear; nor
/// does a secret path segment (see `secret_segment`).
pub fn display_url(url: &url::Url) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    match secret_segment(url) {
        Some(secret) => shown.push_str(&url.path().replace(&secret, "[redacted]")),
        None => shown.push_str(url.path()),
    }
    shown
}

/// The secret in a URL whose path carries one, as Zapier's legacy server
/// URLs do: `…/mcp/s/<secret>/…`.
pub fn secret_segment(url: &url::Url) -> Option<String> {
    let segs: Vec<&str> = url.path_segments()?.collect();
    segs.windows(3)
        .find(|w| w[0] == "mcp" && w[1] == "s" && !w[2].is_empty())
        .map(|w| w[2].to_string())
}

/// An HTTP client error as text to show a person: the error and its causes
/// (e.g. "connection refused"), without the URL, which can carry secrets.
pub fn http_error_text(e: reqwest::Error) -> String {
    let timeout = e.is_timeout();
    let mut text = with_causes(&e.without_url());
    if timeout && !text.contains("timed out") {
        text.push_str(" (timed out)");
    }
    text
}

/// An error and each of its causes, joined by `: `.
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_registered_secrets_longest_first() {
        let r = Redactor::new();
        r.add("abcd");
        r.add("abcdefgh");
        assert_eq!(r.apply("x abcdefgh y abcd"), "x [redacted] y [redacted]");
        r.add("ab"); // too short to register
        assert_eq!(r.apply("ab"), "ab");
    }

    #[test]
    fn display_url_drops_query_and_userinfo() {
        let u = url::Url::parse("https://user:pw@h.example:8443/p/q?token=s3cret").unwrap();
        assert_eq!(display_url(&u), "https://h.example:8443/p/q");
        let z = url::Url::parse("https://mcp.zapier.com/api/mcp/s/Zs3cr3t/mcp").unwrap();
        assert_eq!(secret_segment(&z).as_deref(), Some("Zs3cr3t"));
        assert_eq!(display_url(&z), "https://mcp.zapier.com/api/mcp/s/[redacted]/mcp");
        let c = url::Url::parse("https://mcp.zapier.com/api/v1/connect").unwrap();
        assert_eq!(secret_segment(&c), None);
    }
}
