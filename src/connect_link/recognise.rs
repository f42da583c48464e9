//! What the providers' recognisers share: where a result keeps its fields,
//! the URLs in its text, and the `connect_link_pattern` glob.

use super::{ConnectLink, Recogniser};
use serde_json::Value;
use std::sync::Arc;

/// The places a result keeps fields: itself, `structuredContent`, `_meta`.
pub fn holders(result: &Value) -> impl Iterator<Item = &Value> {
    [Some(result), result.get("structuredContent"), result.get("_meta")]
        .into_iter()
        .flatten()
}

/// `accountRequired` wherever it appears in the result.
pub fn account_required(result: &Value) -> Option<bool> {
    holders(result).find_map(|h| h.get("accountRequired").and_then(Value::as_bool))
}

/// The first http(s) URL held in one of the `names` fields.
pub fn field_url(result: &Value, names: &[&str]) -> Option<String> {
    holders(result)
        .flat_map(|h| names.iter().filter_map(move |n| h.get(*n).and_then(Value::as_str)))
        .find(|u| is_http(u))
        .map(str::to_string)
}

/// Every http(s) URL in the result's text content, in order.
pub fn text_urls(result: &Value) -> Vec<String> {
    let Some(blocks) = result.get("content").and_then(Value::as_array) else {
        return vec![];
    };
    let sep = |c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '(' | ')' | '[' | ']' | '`');
    blocks
        .iter()
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .flat_map(|t| t.split(sep))
        .map(|w| w.trim_end_matches(['.', ',', ';', ':', '!', '?']))
        .filter(|w| is_http(w))
        .map(str::to_string)
        .collect()
}

/// `recognise`, keeping only the links on `domains` (or a subdomain of
/// one) or at `origin`, the server's own: a link elsewhere is the remote's
/// text, not its provider's connect link.
pub fn on_hosts(
    recognise: fn(&Value) -> Option<ConnectLink>,
    domains: &'static [&'static str],
    origin: url::Origin,
) -> Recogniser {
    Arc::new(move |result: &Value| {
        recognise(result).filter(|link| {
            let Ok(url) = url::Url::parse(&link.url) else {
                return false;
            };
            let host = url.host_str().unwrap_or("");
            let on_domain = url.scheme() == "https"
                && domains
                    .iter()
                    .any(|d| host.eq_ignore_ascii_case(d) || host.to_ascii_lowercase().ends_with(&format!(".{d}")));
            on_domain || url.origin() == origin
        })
    })
}

pub(super) fn is_http(u: &str) -> bool {
    u.starts_with("https://") || u.starts_with("http://")
}

/// Query parameter `key` of `url`.
pub fn query_param(url: &str, key: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    parsed
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// Whether `text` matches `pattern`, where `*` stands for any run of
/// characters and everything else for itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = parts.split_first().expect("split yields one part");
    let Some(mut left) = text.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return left.is_empty();
    };
    for part in middle {
        match left.find(part) {
            Some(i) => left = &left[i + part.len()..],
            None => return false,
        }
    }
    left.len() >= last.len() && left.ends_with(last)
}

/// `connect_link_pattern`: a link is a URL in the result (a text block or
/// a `connectUrl`-like field) that matches the glob.
pub fn pattern_recogniser(pattern: String) -> Recogniser {
    Arc::new(move |result: &Value| {
        if account_required(result) == Some(false) {
            return None;
        }
        field_url(result, &["connectUrl", "connect_url"])
            .into_iter()
            .chain(text_urls(result))
            .find(|u| glob(&pattern, u))
            .map(|url| ConnectLink {
                app: query_param(&url, "app"),
                url,
            })
    })
}
