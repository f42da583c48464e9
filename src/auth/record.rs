//! What the OAuth code keeps in a server's token-store record: the tokens
//! in the record's own fields, and under `extra["oauth"]` the endpoints, the
//! client registration and the sign-in in progress. The cached `initialize`
//! and `tools/list` results live beside them, for serving while signed out.

use crate::store::{Record, now};
use serde::{Deserialize, Serialize};
use serde_json::Value;

const OAUTH: &str = "oauth";
pub const INITIALIZE: &str = "initialize_result";
pub const TOOLS: &str = "tools_list";

/// The OAuth part of a record.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OAuthRecord {
    /// The MCP URL the tokens were issued for; tokens for another are ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// Seconds the last access token was issued for (sets the refresh margin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<Client>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
}

/// How the bridge identifies itself to the authorization server.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Client {
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// `none`, `client_secret_basic` or `client_secret_post`.
    pub auth_method: String,
    /// The redirect URI registered with it (dynamic registrations only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// Whether the bridge registered it (and so may drop and redo it).
    #[serde(default)]
    pub dynamic: bool,
    /// The token endpoint it was registered with.
    #[serde(default)]
    pub token_endpoint: String,
}

/// A sign-in waiting for the browser, owned by one bridge process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub url: String,
    pub port: u16,
    pub pid: u32,
    pub expires_at: u64,
}

pub fn oauth(rec: &Record) -> OAuthRecord {
    rec.extra
        .get(OAUTH)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

pub fn set_oauth(rec: &mut Record, o: &OAuthRecord) {
    if let Ok(v) = serde_json::to_value(o) {
        rec.extra.insert(OAUTH.into(), v);
    }
}

/// Whether the record's tokens were issued for `server_url`.
pub fn tokens_match(rec: &Record, server_url: &str) -> bool {
    oauth(rec).server_url.as_deref() == Some(server_url)
}

/// An access token still valid for a while, or a refresh token.
pub fn usable(rec: &Record, server_url: &str) -> bool {
    tokens_match(rec, server_url) && (rec.fresh_token(5).is_some() || rec.refresh_token.is_some())
}

/// Seconds before expiry at which the token is refreshed.
pub fn refresh_margin(rec: &Record) -> u64 {
    oauth(rec).lifetime.map(|l| (l / 2).clamp(1, 60)).unwrap_or(60)
}

/// Forget the tokens (keeping the registration and caches).
pub fn clear_tokens(rec: &mut Record) {
    rec.access_token = None;
    rec.refresh_token = None;
    rec.expires_at = None;
    rec.scope = None;
}

/// Forget the tokens and a registration the bridge made.
pub fn clear_client(rec: &mut Record) {
    clear_tokens(rec);
    let mut o = oauth(rec);
    if o.client.as_ref().is_some_and(|c| c.dynamic) {
        o.client = None;
    }
    set_oauth(rec, &o);
}

/// A sign-in by another live process, if one is waiting for the browser.
pub fn live_pending(rec: &Record) -> Option<Pending> {
    let p = oauth(rec).pending?;
    if p.expires_at <= now() || p.pid == std::process::id() {
        return None;
    }
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], p.port));
    std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(300))
        .is_ok()
        .then_some(p)
}

/// The granted scopes, as a list.
pub fn granted(rec: &Record) -> Vec<String> {
    rec.scope
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

pub fn cached(rec: &Record, key: &str) -> Option<Value> {
    rec.extra.get(key).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usable_needs_matching_url_and_a_live_or_refreshable_token() {
        let mut r = Record {
            access_token: Some("a".into()),
            expires_at: Some(now() + 100),
            ..Default::default()
        };
        assert!(!usable(&r, "http://x/mcp"), "no server_url recorded");
        set_oauth(
            &mut r,
            &OAuthRecord {
                server_url: Some("http://x/mcp".into()),
                ..Default::default()
            },
        );
        assert!(usable(&r, "http://x/mcp"));
        assert!(!usable(&r, "http://y/mcp"));
        r.expires_at = Some(now() - 1);
        assert!(!usable(&r, "http://x/mcp"));
        r.refresh_token = Some("r".into());
        assert!(usable(&r, "http://x/mcp"));
        clear_tokens(&mut r);
        assert!(!usable(&r, "http://x/mcp"));
    }
}
