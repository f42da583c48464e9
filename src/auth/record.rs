//! What the OAuth code keeps in a server's token-store record: the tokens
//! in the record's own fields, and under `extra["oauth"]` the issuer and
//! endpoints they came from, the client they were issued to, the clients
//! the bridge registered, one per authorization server (so a server that
//! moves to another authorization server, and back, never sees a client
//! another one issued), and the sign-in in progress. The cached
//! `initialize` and `tools/list` results live beside them, for serving
//! while signed out.

use crate::store::{Record, now};
use serde::{Deserialize, Serialize};
use serde_json::Value;

const OAUTH: &str = "oauth";
pub const INITIALIZE: &str = "initialize_result";
pub const TOOLS: &str = "tools_list";
/// The `server/discover` result (a 2026-07-28 client's handshake).
pub const DISCOVER: &str = "discover_result";

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
    /// The client the tokens were issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<Client>,
    /// The clients the bridge registered, by authorization server ([`Client::key`]).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub registrations: std::collections::BTreeMap<String, Client>,
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
    /// The issuer of the authorization server it belongs to (none for a
    /// 2025-03-26 server without metadata).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// RFC 7592: where the registration can be read, and the token to read it with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_token: Option<String>,
    /// RFC 7591 `client_secret_expires_at` (seconds since the epoch; 0: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_expires_at: Option<u64>,
}

impl Client {
    /// Which authorization server a client belongs to: its issuer, else its
    /// token endpoint.
    pub fn key(&self) -> String {
        server_key(self.issuer.as_deref(), &self.token_endpoint)
    }
}

/// The key of an authorization server in [`OAuthRecord::registrations`].
pub fn server_key(issuer: Option<&str>, token_endpoint: &str) -> String {
    issuer.unwrap_or(token_endpoint).to_string()
}

/// The registration the bridge made with the authorization server `key`.
/// A record from before registrations were kept per server has its one
/// registration in `client`.
pub fn registration(o: &OAuthRecord, key: &str) -> Option<Client> {
    o.registrations
        .get(key)
        .cloned()
        .or_else(|| o.client.clone().filter(|c| c.dynamic && c.key() == key))
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

/// Forget the tokens and, if the bridge registered it, the client they
/// were issued to.
pub fn clear_client(rec: &mut Record) {
    clear_tokens(rec);
    let mut o = oauth(rec);
    if let Some(c) = o.client.take_if(|c| c.dynamic) {
        o.registrations.remove(&c.key());
    }
    set_oauth(rec, &o);
}

/// Forget a registration the authorization server no longer knows (and the
/// tokens, if they were issued to it).
pub fn forget_registration(rec: &mut Record, client_id: &str) {
    let mut o = oauth(rec);
    o.registrations.retain(|_, c| c.client_id != client_id);
    let current = o.client.as_ref().is_some_and(|c| c.client_id == client_id);
    set_oauth(rec, &o);
    if current {
        clear_client(rec);
    }
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

/// The server's answer kept under `key` (see `OAuth::cache`), if it is one
/// to answer from.
pub fn cached(rec: &Record, key: &str) -> Option<Value> {
    // Every result kept is an object; anything else (a remote's odd answer,
    // or a store edited by hand) is not one to build an answer on.
    rec.extra.get(key).filter(|v| v.is_object()).cloned()
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
