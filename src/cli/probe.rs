//! The single checks behind `doctor`: which config values can fail to
//! resolve, whether the token store holds a usable token, whether the
//! server's host accepts a TCP connection, and what the tool filters hide.

use crate::config::{ConfigValue, ServerEntry};
use crate::console::plural;
use crate::remote::filter::{ToolFilter, glob};
use crate::store::{Record, now};
use std::time::{Duration, Instant};

/// The longest doctor waits for a connection or for one answer.
pub const WAIT: Duration = Duration::from_secs(20);

/// The entry's values that come from the environment, a command or a file:
/// the ones that can fail to resolve.
pub fn indirect_values(entry: &ServerEntry) -> Vec<(String, &ConfigValue)> {
    let single = [
        ("url", &entry.url),
        ("bearer", &entry.bearer),
        ("token", &entry.token),
        ("access_token", &entry.access_token),
        ("refresh_token", &entry.refresh_token),
        ("client_id", &entry.client_id),
        ("client_secret", &entry.client_secret),
        ("project_id", &entry.project_id),
        ("external_user_id", &entry.external_user_id),
        ("account_id", &entry.account_id),
        ("base_url", &entry.base_url),
        ("api_base", &entry.api_base),
        ("token_url", &entry.token_url),
        ("chat_id", &entry.chat_id),
    ];
    let tables = [("headers", &entry.headers), ("query", &entry.query)];
    single
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), v)))
        .chain(
            tables
                .into_iter()
                .flat_map(|(t, m)| m.iter().map(move |(k, v)| (format!("{t}.{k}"), v))),
        )
        .filter(|(_, v)| !matches!(v, ConfigValue::Text(t) if !t.contains("${")))
        .collect()
}

/// How the server's credential is given, in a word or two.
pub fn credential_words(entry: &ServerEntry) -> &'static str {
    match (entry.auth.as_deref(), entry.provider_name()) {
        (Some("oauth"), _) => "ok (sign-in)",
        (_, "sandbox") => "ok (generated)",
        _ if indirect_values(entry).is_empty() && entry.bearer.is_none() && entry.token.is_none() => "ok",
        _ => "ok (resolved)",
    }
}

/// Whether the bridge holds a token it can use (or needs none from the store).
pub fn token_usable(entry: &ServerEntry, rec: Option<&Record>) -> bool {
    if entry.auth.as_deref() != Some("oauth") {
        return true;
    }
    let Some(rec) = rec else { return false };
    let live = rec.access_token.is_some() && rec.expires_at.is_none_or(|e| e > now());
    live || rec.refresh_token.is_some()
}

/// Open a TCP connection to the URL's host and port; "ok, N ms" or why not.
pub async fn reach(url: &url::Url) -> Result<String, String> {
    let host = url.host_str().ok_or("the URL has no host")?.to_string();
    let port = url.port_or_known_default().ok_or("the URL has no port")?;
    let loopback = matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]" | "::1");
    let proxy = [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ]
    .iter()
    .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()));
    if proxy && !loopback {
        return Ok("via proxy".into());
    }
    let started = Instant::now();
    let target = (host.trim_start_matches('[').trim_end_matches(']'), port);
    match tokio::time::timeout(WAIT, tokio::net::TcpStream::connect(target)).await {
        Ok(Ok(_)) => Ok(format!("ok {} ms", started.elapsed().as_millis())),
        Ok(Err(e)) => Err(format!("cannot connect to {host}:{port} ({e})")),
        Err(_) => Err(format!("no connection to {host}:{port} within {WAIT:?}")),
    }
}

/// What `allow_tools` and `deny_tools` do to the tools a server offers.
pub struct Filtered {
    /// "8 tools" or "3 of 8 tools shown".
    pub count: String,
    /// Each glob that matches no tool, with the tools there are.
    pub warnings: Vec<String>,
    /// Why no tool is shown, when the filters hide every one.
    pub all_hidden: Option<String>,
}

pub fn filters(entry: &ServerEntry, tools: &[&str]) -> Filtered {
    let filter = ToolFilter::new(entry.allow_tools.clone(), entry.deny_tools.clone());
    let shown = tools.iter().filter(|t| filter.hidden_by(t).is_none()).count();
    let offered = shorten_list(tools);
    let mut warnings = Vec::new();
    for (key, globs) in [("allow_tools", &entry.allow_tools), ("deny_tools", &entry.deny_tools)] {
        for g in globs.iter().flatten() {
            if !tools.iter().any(|t| glob(g, t)) {
                warnings.push(format!(
                    "`{key}` glob \"{g}\" matches no tool; the server offers: {offered}. To fix: correct the glob \
                     (`*` any run, `?` one character) or remove it"
                ));
            }
        }
    }
    let all_hidden = (shown == 0 && !tools.is_empty()).then(|| {
        let keys = match (&entry.allow_tools, &entry.deny_tools) {
            (Some(_), Some(_)) => "`allow_tools` and `deny_tools` hide",
            (Some(_), None) => "`allow_tools` hides",
            _ => "`deny_tools` hides",
        };
        format!(
            "{keys} all {} the server offers ({offered})",
            plural(tools.len(), "tool")
        )
    });
    let count = if filter.is_empty() {
        plural(tools.len(), "tool")
    } else {
        format!("{shown} of {} shown", plural(tools.len(), "tool"))
    };
    Filtered {
        count,
        warnings,
        all_hidden,
    }
}

/// Names joined with commas, the first dozen and a count of the rest.
fn shorten_list(names: &[&str]) -> String {
    const SHOWN: usize = 12;
    let mut text = names.iter().take(SHOWN).copied().collect::<Vec<_>>().join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    if text.is_empty() {
        text = "no tools".into();
    }
    text
}
