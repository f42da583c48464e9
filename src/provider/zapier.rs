//! `provider = "zapier"`: Zapier MCP, with one of these credentials:
//! - `token`: a connection token, sent as Bearer to the connect endpoint
//!   (or the token already in `url` as `?token=`, Zapier's second option);
//! - a legacy secret server URL (`…/api/mcp/s/<secret>/mcp`) in `url`: the
//!   whole URL is a secret and is registered for redaction;
//! - white-label OAuth: `access_token`, `refresh_token`, `client_id`,
//!   `client_secret` (and `token_url`); refreshed after a 401, with the
//!   rotated refresh token stored at once;
//! - `auth = "oauth"`: Zapier's MCP authorization flow (`crate::auth`).
//!
//! Zapier speaks Streamable HTTP only (docs.zapier.com, MCP authentication
//! and the white-label "AI agent connections" guide), so the bridge never
//! falls back to the legacy SSE transport here. An expired connection token
//! (or server URL) is answered with 404, not 401 (docs.zapier.com
//! troubleshooting page "tools return 404"): the error then says to rotate
//! the token. Zapier's tool list changes during a session; its
//! `tools/list_changed` notifications pass through the relay untouched.

use super::{Prepared, Setup};
use crate::config::{ConfigError, Transport};
use crate::credential::hinted::Hinted;
use crate::credential::refresh_token::{RefreshingToken, RefreshingTokenConfig};
use crate::credential::token_source::{TokenClient, TokenEndpoint};
use crate::credential::{Credential, Static};
use crate::redact::secret_segment;
use std::sync::Arc;

/// The keys this provider reads (besides the common ones).
pub const KEYS: &[&str] = &[
    "token",
    "access_token",
    "refresh_token",
    "client_id",
    "client_secret",
    "token_url",
];

pub const DEFAULT_URL: &str = "https://mcp.zapier.com/api/v1/connect";
pub const DEFAULT_TOKEN_URL: &str = "https://zapier.com/oauth/token";
/// Where connection tokens are made and rotated.
const DASHBOARD: &str = "https://mcp.zapier.com";
const OAUTH_KEYS: [&str; 4] = ["access_token", "refresh_token", "client_id", "client_secret"];

/// The fix for Zapier's 404, which means the connection token has expired
/// (`what` names where it is; `fix` says where the new one goes).
fn expired(what: &str, fix: String) -> Vec<(u16, String)> {
    vec![(
        404,
        format!(
            "Zapier answers 404 when the {what} has expired (after a long time unused, or after a security \
             event): {fix} and restart your MCP client"
        ),
    )]
}

pub fn prepare(setup: &Setup<'_>) -> Result<Prepared, ConfigError> {
    let mut prepared = prepare_credential(setup)?;
    prepared.endpoint.transport = match setup.entry.transport {
        Transport::Sse => {
            return Err(setup.error(
                "transport",
                "Zapier MCP speaks Streamable HTTP only (it offers no SSE endpoint); remove `transport`",
            ));
        }
        _ => Transport::StreamableHttp,
    };
    Ok(prepared)
}

fn prepare_credential(setup: &Setup<'_>) -> Result<Prepared, ConfigError> {
    let e = setup.entry;
    let oauth_flow = e.auth.is_some();
    setup.allow_only(KEYS)?;
    let mut url = setup.url(Some(DEFAULT_URL))?;
    let secret_url = secret_segment(&url);
    if let Some(seg) = &secret_url {
        // The whole URL is a secret: hide every form it may be shown in.
        if let Some(raw) = e.url.as_ref().and_then(|v| setup.plain("url", v).ok()) {
            setup.redactor.add(raw);
        }
        setup.redactor.add(url.as_str().to_string());
        setup.redactor.add(seg.clone());
    }
    setup.apply_query(&mut url)?;
    let token_in_url = url.query_pairs().any(|(k, _)| k == "token");

    if oauth_flow {
        // `auth = "oauth"`: Zapier's own MCP authorization; the OAuth layer
        // supplies the credential.
        if let Some(key) = [
            ("token", &e.token),
            ("access_token", &e.access_token),
            ("refresh_token", &e.refresh_token),
        ]
        .iter()
        .find(|(_, v)| v.is_some())
        .map(|(k, _)| *k)
        {
            return Err(setup.error(
                key,
                format!("`auth = \"oauth\"` signs in through the browser; remove `{key}`"),
            ));
        }
        return Ok(Prepared::new(setup.endpoint(url, Arc::new(Static::none()))?));
    }
    let oauth = [&e.access_token, &e.refresh_token, &e.client_id, &e.client_secret];
    let given: Vec<&str> = OAUTH_KEYS
        .iter()
        .zip(oauth)
        .filter(|(_, v)| v.is_some())
        .map(|(k, _)| *k)
        .collect();
    if e.token_url.is_some() && given.is_empty() {
        return Err(setup.error(
            "token_url",
            "`token_url` is only used with white-label OAuth (`access_token`, `refresh_token`, `client_id`, \
             `client_secret`)",
        ));
    }
    let credential: Arc<dyn Credential> = match (&e.token, given.len()) {
        (Some(_), n) if n > 0 => {
            return Err(setup.error(
                given[0],
                "set either `token` (a connection token) or the white-label OAuth keys, not both",
            ));
        }
        (Some(_), _) if token_in_url => {
            return Err(setup.error(
                "token",
                "the connection token is given twice, in the URL's query (?token= in `url` or `query`) and in \
                 `token`; keep `token` and remove the query's",
            ));
        }
        (Some(t), _) => {
            let token = setup.secret("token", t)?;
            let hint = format!(
                "Zapier refused the connection token in `token` of [servers.{}]; create a new one at \
                 {DASHBOARD} (your server → Connect) and put it there",
                setup.name
            );
            let token = Static::bearer(&token, hint).map_err(|err| setup.error("token", err.0))?;
            let fix = format!(
                "get a new connection token at {DASHBOARD} (your server → Connect → Rotate token), then put it \
                 in `token` of [servers.{}]",
                setup.name
            );
            Arc::new(Hinted::new(Arc::new(token), expired("connection token", fix)))
        }
        (None, 0) if secret_url.is_some() || token_in_url => {
            let hint = format!(
                "Zapier refused the token in `url` of [servers.{}]; copy a fresh server URL (or connection token) \
                 from {DASHBOARD}",
                setup.name
            );
            let what = if token_in_url {
                "connection token in `url`"
            } else {
                "secret server URL"
            };
            let token = Static {
                auth: Default::default(),
                hint: Some(hint),
            };
            let fix = format!(
                "get a new connection token at {DASHBOARD} (your server → Connect → Rotate token), then put the \
                 new server URL in `url` of [servers.{}]",
                setup.name
            );
            Arc::new(Hinted::new(Arc::new(token), expired(what, fix)))
        }
        (None, 0) => {
            return Err(setup.error(
                "token",
                "provider `zapier` needs a credential: `token` (a connection token from mcp.zapier.com), a \
                 secret server URL in `url` (https://mcp.zapier.com/api/mcp/s/<secret>/mcp), or white-label \
                 OAuth keys `access_token`, `refresh_token`, `client_id` and `client_secret`",
            ));
        }
        (None, 4) => Arc::new(oauth_credential(setup)?),
        (None, _) => {
            let missing: Vec<&str> = OAUTH_KEYS.iter().copied().filter(|k| !given.contains(k)).collect();
            return Err(setup.error(
                missing[0],
                format!(
                    "white-label OAuth needs `access_token`, `refresh_token`, `client_id` and `client_secret`; \
                     missing: {}",
                    missing.join(", ")
                ),
            ));
        }
    };
    Ok(Prepared::new(setup.endpoint(url, credential)?))
}

fn oauth_credential(setup: &Setup<'_>) -> Result<RefreshingToken, ConfigError> {
    let e = setup.entry;
    let need = |key: &str, v: &Option<crate::config::ConfigValue>| {
        setup.required_secret(key, v.as_ref(), "part of the white-label OAuth credentials")
    };
    let access_token = need("access_token", &e.access_token)?;
    let refresh_token = need("refresh_token", &e.refresh_token)?;
    let client_secret = need("client_secret", &e.client_secret)?;
    let client_id = match &e.client_id {
        Some(v) => setup.plain("client_id", v)?,
        None => return Err(setup.error("client_id", "`client_id` is required for white-label OAuth")),
    };
    let token_url = setup.url_at("token_url", e.token_url.as_ref(), Some(DEFAULT_TOKEN_URL))?;
    let endpoint =
        TokenEndpoint::new(token_url, setup.redactor.clone()).map_err(|err| setup.error("token_url", err.0))?;
    Ok(RefreshingToken::new(RefreshingTokenConfig {
        client: TokenClient {
            server: setup.name.to_string(),
            provider: "Zapier",
            endpoint,
            client_id,
            client_secret,
            store: setup.store()?,
        },
        access_token,
        refresh_token,
        relogin: format!(
            "the bridge cannot sign in to a white-label app itself (that takes your partner JWT and the redirect \
             URI you registered with Zapier): run your partner flow again (partner JWT → connect token → the user \
             authorizes at the app's mcp_authorize_url → the code exchanged at {DEFAULT_TOKEN_URL}), then put the \
             new `access_token` and `refresh_token` in [servers.{}]",
            setup.name
        ),
    }))
}

/// The hosts its connect links are on (and their subdomains).
pub const LINK_DOMAINS: &[&str] = &["zapier.com"];

/// Zapier's connect and authorize links: `connect.zapier.com/oauth/authorize`
/// (the white-label MCP authorize step) and the `…/connections` pages of
/// zapier.com where an app account is connected, in text or a
/// `connectUrl`-like field. The app is the `resource`'s last path segment
/// (`…/connect/SlackCLIAPI` → `Slack`) or the `app` parameter.
pub fn recognise(result: &serde_json::Value) -> Option<crate::connect_link::ConnectLink> {
    use crate::connect_link::{ConnectLink, account_required, field_url, query_param, text_urls};
    if account_required(result) == Some(false) {
        return None;
    }
    let is_link = |u: &String| {
        let Ok(p) = url::Url::parse(u) else {
            return false;
        };
        let host = p.host_str().unwrap_or("");
        let zapier = host == "zapier.com" || host.ends_with(".zapier.com");
        zapier
            && (p.path().starts_with("/oauth/authorize")
                || p.path_segments().is_some_and(|mut s| s.any(|s| s == "connections")))
    };
    let url = field_url(
        result,
        &["connectUrl", "connect_url", "authorizeUrl", "mcp_authorize_url"],
    )
    .filter(is_link)
    .or_else(|| text_urls(result).into_iter().find(is_link))?;
    let from_resource = query_param(&url, "resource").and_then(|r| {
        let last = r.trim_end_matches('/').rsplit('/').next()?.to_string();
        let app = last.trim_end_matches("CLIAPI").trim_end_matches("API");
        (!app.is_empty() && app != "connect").then(|| app.to_string())
    });
    Some(ConnectLink {
        app: query_param(&url, "app").or(from_resource),
        url,
    })
}

#[cfg(test)]
mod recognise_tests {
    use super::recognise;
    use serde_json::json;

    #[test]
    fn authorize_and_connection_links() {
        let auth = "https://connect.zapier.com/oauth/authorize?token=ct_1&resource=https%3A%2F%2Fmcp.zapier.com%2Fapi%2Fv1%2Fconnect%2FSlackCLIAPI&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=s&scope=mcp%3Arun&client_id=c&response_type=code";
        let r = json!({"content": [{"type": "text", "text": format!("Authorize Slack first: {auth}")}]});
        let l = recognise(&r).unwrap();
        assert_eq!((l.url.as_str(), l.app.as_deref()), (auth, Some("Slack")));
        let conn = "https://mcp.zapier.com/mcp/servers/4f1e/connections?app=gmail";
        let r = json!({"content": [], "structuredContent": {"connectUrl": conn}});
        assert_eq!(recognise(&r).unwrap().app.as_deref(), Some("gmail"));
    }

    #[test]
    fn no_false_alarms() {
        let r = json!({"content": [{"type": "text", "text": "Docs: https://zapier.com/apps and https://mcp.zapier.com/api/v1/connect"}]});
        assert_eq!(recognise(&r), None);
        let r = json!({"content": [{"type": "text", "text": "https://zapier.com/app/connections"}], "accountRequired": false});
        assert_eq!(recognise(&r), None);
    }
}
