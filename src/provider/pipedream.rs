//! `provider = "pipedream"`: Pipedream Connect's remote MCP server.
//!
//! The bridge gets an access token with the project's OAuth client
//! (`POST {api_base}/v1/oauth/token`, client-credentials grant, cached in the
//! token store and refreshed two minutes before it expires or after a 401)
//! and sends the Connect parameters as `x-pd-*` headers on every request.
//! Values are checked at startup so a typo fails before any request.
//!
//! The default endpoint is `/v3`, the current server (Pipedream's "tool
//! modes" docs page, note of 2026-04-15: tool modes are no longer needed
//! there, every tool comes with its full schema). Tool modes, and the
//! full-config mode app discovery needs, belong to the root endpoint
//! (`base_url = "https://remote.mcp.pipedream.net"`). On `/v3` the bridge
//! sends no tool mode; how `/v3` does app discovery is not documented, so
//! there the bridge sends `x-pd-app-discovery` alone (no forced full-config,
//! no generated conversation ID): unverified.
//!
//! The options Pipedream takes only as headers (the MCP developers page,
//! from its pull request #17249) are keys here: `oauth_app_id`
//! (`x-pd-oauth-app-id`), `webhook_uri`, `success_redirect_uri` and
//! `error_redirect_uri`.

use super::{Prepared, Setup};
use crate::config::{ConfigError, ConfigValue};
use crate::credential::client_credentials::ClientCredentials;
use crate::credential::hinted::Hinted;
use crate::credential::token_source::{TokenClient, TokenEndpoint};
use http::HeaderMap;
use std::sync::Arc;

/// The keys this provider reads (besides the common ones).
pub const KEYS: &[&str] = &[
    "client_id",
    "client_secret",
    "project_id",
    "environment",
    "external_user_id",
    "app",
    "app_discovery",
    "account_id",
    "tool_mode",
    "conversation_id",
    "base_url",
    "api_base",
    "oauth_app_id",
    "webhook_uri",
    "success_redirect_uri",
    "error_redirect_uri",
];

pub const DEFAULT_BASE_URL: &str = "https://remote.mcp.pipedream.net/v3";
/// The endpoint before `/v3`, the one with tool modes.
pub const ROOT_BASE_URL: &str = "https://remote.mcp.pipedream.net";
pub const DEFAULT_API_BASE: &str = "https://api.pipedream.com";
const ENVIRONMENTS: &[&str] = &["development", "production"];
const TOOL_MODES: &[&str] = &["sub-agent", "tools-only", "full-config"];

/// A required value that is not secret.
fn required(setup: &Setup<'_>, key: &str, value: Option<&ConfigValue>, what: &str) -> Result<String, ConfigError> {
    let missing = || setup.error(key, format!("`{key}` is required for provider `pipedream`: {what}"));
    let v = setup.plain(key, value.ok_or_else(missing)?)?;
    if v.trim().is_empty() {
        return Err(missing());
    }
    Ok(v)
}

pub fn prepare(setup: &Setup<'_>) -> Result<Prepared, ConfigError> {
    setup.allow_only(KEYS)?;
    let e = setup.entry;
    // Each key is checked on its own (`each`): `check` shows every wrong one.
    setup.each(match e.url {
        Some(_) => Err(setup.error(
            "url",
            format!("provider `pipedream` takes its endpoint from `base_url` (default {DEFAULT_BASE_URL}), not `url`"),
        )),
        None => Ok(()),
    })?;
    let client_id = setup.each(required(
        setup,
        "client_id",
        e.client_id.as_ref(),
        "the OAuth client ID from Pipedream (workspace settings → API)",
    ))?;
    let client_secret = setup.each(setup.required_secret(
        "client_secret",
        e.client_secret.as_ref(),
        "the OAuth client secret shown once when the client was created",
    ))?;
    let project_id = setup.each(
        required(
            setup,
            "project_id",
            e.project_id.as_ref(),
            "the Connect project ID, `proj_…`",
        )
        .and_then(|id| {
            if !id.starts_with("proj_") || id.len() <= "proj_".len() {
                return Err(setup.error(
                    "project_id",
                    format!("`{id}` is not a Pipedream project ID; it starts with `proj_` (e.g. \"proj_abc123\")"),
                ));
            }
            Ok(id)
        }),
    )?;
    let environment = setup.each(
        setup
            .choice("environment", e.environment.as_deref(), ENVIRONMENTS)
            .and_then(|env| {
                env.ok_or_else(|| {
                    setup.error(
                        "environment",
                        format!(
                            "`environment` is required for provider `pipedream`; allowed values: {}",
                            ENVIRONMENTS.join(", ")
                        ),
                    )
                })
            }),
    )?;
    let external_user_id = setup.each(required(
        setup,
        "external_user_id",
        e.external_user_id.as_ref(),
        "your user's ID in your own system",
    ))?;
    let url = setup.each(setup.url_at("base_url", e.base_url.as_ref(), Some(DEFAULT_BASE_URL)))?;
    let discovery = e.app_discovery.unwrap_or(false);
    let tool_mode = setup.each(setup.choice("tool_mode", e.tool_mode.as_deref(), TOOL_MODES))?;
    let app = setup.each(match e.app.as_deref().map(str::trim) {
        Some("") => Err(setup.error("app", "`app` is empty; give the app's slug, e.g. \"slack\"")),
        Some(a) => Ok(Some(a)),
        None if discovery => Ok(None),
        None => Err(setup.error(
            "app",
            "`app` (the app's slug, e.g. \"slack\") is required for provider `pipedream` unless \
             `app_discovery = true`",
        )),
    })?;
    let account_id = setup.each(e.account_id.as_ref().map(|v| setup.plain("account_id", v)).transpose())?;
    let oauth_app_id = setup.each(
        e.oauth_app_id
            .as_ref()
            .map(|v| {
                let id = setup.plain("oauth_app_id", v)?;
                if !id.starts_with("oa_") || id.len() <= "oa_".len() {
                    return Err(setup.error(
                        "oauth_app_id",
                        format!("`{id}` is not a Pipedream OAuth client ID; it starts with `oa_` (e.g. \"oa_abc123\")"),
                    ));
                }
                Ok(id)
            })
            .transpose(),
    )?;
    // Header-only URLs: where Pipedream posts account events, and where the
    // connect page sends the person after a success or an error.
    let mut header_urls = Some(vec![]);
    for (key, value, header) in [
        ("webhook_uri", &e.webhook_uri, "x-pd-webhook-uri"),
        (
            "success_redirect_uri",
            &e.success_redirect_uri,
            "x-pd-success-redirect-uri",
        ),
        ("error_redirect_uri", &e.error_redirect_uri, "x-pd-error-redirect-uri"),
    ] {
        if let Some(v) = value {
            match setup.each(setup.any_url_at(key, Some(v), None))? {
                Some(url) => header_urls.iter_mut().for_each(|h| h.push((key, header, url.clone()))),
                None => header_urls = None,
            }
        }
    }
    let (
        Some(client_id),
        Some(client_secret),
        Some(project_id),
        Some(environment),
        Some(external_user_id),
        Some(mut url),
        Some(mut tool_mode),
        Some(app),
        Some(account_id),
        Some(oauth_app_id),
        Some(header_urls),
    ) = (
        client_id,
        client_secret,
        project_id,
        environment,
        external_user_id,
        url,
        tool_mode,
        app,
        account_id,
        oauth_app_id,
        header_urls,
    )
    else {
        return Err(setup.noted());
    };
    // What depends on the endpoint: tool modes exist only before /v3.
    let v3 = url.path().trim_end_matches('/').ends_with("/v3");
    if v3 && let Some(m) = tool_mode {
        return Err(setup.error(
            "tool_mode",
            format!(
                "Pipedream's /v3 server has no tool modes (every tool comes with its full schema); remove \
                 `tool_mode = \"{m}\"`, or use the root endpoint that has them: base_url = \"{ROOT_BASE_URL}\""
            ),
        ));
    }
    if discovery && !v3 {
        match tool_mode {
            None => tool_mode = Some("full-config"),
            Some("full-config") => {}
            Some(other) => {
                return Err(setup.error(
                    "tool_mode",
                    format!("`app_discovery = true` needs `tool_mode = \"full-config\"`, not `{other}`"),
                ));
            }
        }
    }
    let conversation_id = match (&e.conversation_id, tool_mode) {
        (Some(c), _) => Some(c.clone()),
        (None, Some("full-config")) => Some(uuid::Uuid::new_v4().to_string()),
        (None, _) => None,
    };

    setup.apply_query(&mut url)?;
    let mut token_url = setup.url_at("api_base", e.api_base.as_ref(), Some(DEFAULT_API_BASE))?;
    let path = format!("{}/v1/oauth/token", token_url.path().trim_end_matches('/'));
    token_url.set_path(&path);
    token_url.set_query(None);

    let endpoint = TokenEndpoint::new(token_url, setup.redactor.clone()).map_err(|e| setup.error("api_base", e.0))?;
    let credential = Arc::new(ClientCredentials::new(TokenClient {
        server: setup.name.to_string(),
        provider: "Pipedream",
        endpoint,
        client_id,
        client_secret,
        store: setup.store()?,
    }));
    // An endpoint before /v3 that answers 404 (or 410) has likely been
    // retired: say how to move to the current one.
    let hints = if v3 {
        vec![]
    } else {
        let fix = format!(
            "Pipedream may no longer serve this endpoint: set `base_url = \"{DEFAULT_BASE_URL}\"` in \
             [servers.{}] (or remove `base_url` for that default), and remove `tool_mode`, which /v3 does not use",
            setup.name
        );
        vec![(404, fix.clone()), (410, fix)]
    };
    let credential = Arc::new(Hinted::new(credential, hints));

    let mut pd = HeaderMap::new();
    setup.put_header(&mut pd, "project_id", "x-pd-project-id", &project_id)?;
    setup.put_header(&mut pd, "environment", "x-pd-environment", environment)?;
    setup.put_header(&mut pd, "external_user_id", "x-pd-external-user-id", &external_user_id)?;
    if let Some(a) = app {
        setup.put_header(&mut pd, "app", "x-pd-app-slug", a)?;
    }
    if let Some(a) = &account_id {
        setup.put_header(&mut pd, "account_id", "x-pd-account-id", a)?;
    }
    if let Some(m) = tool_mode {
        setup.put_header(&mut pd, "tool_mode", "x-pd-tool-mode", m)?;
    }
    if discovery {
        setup.put_header(&mut pd, "app_discovery", "x-pd-app-discovery", "true")?;
    }
    if let Some(c) = &conversation_id {
        setup.put_header(&mut pd, "conversation_id", "x-pd-conversation-id", c)?;
    }
    if let Some(id) = &oauth_app_id {
        setup.put_header(&mut pd, "oauth_app_id", "x-pd-oauth-app-id", id)?;
    }
    for (key, header, url) in &header_urls {
        setup.put_header(&mut pd, key, header, url.as_str())?;
    }

    let mut endpoint = setup.endpoint(url, credential)?;
    endpoint.headers.extend(pd);
    Ok(Prepared::new(endpoint))
}

/// The hosts its connect links are on (and their subdomains).
pub const LINK_DOMAINS: &[&str] = &["pipedream.com"];

/// Pipedream's "connect your account first" answer: `accountRequired` /
/// `connectUrl` anywhere in the result (top level, `structuredContent`,
/// `_meta`), or the `connect.html?token=ctok_…` Connect Link in its text.
/// An explicit `accountRequired: false` is never a connect request.
pub fn recognise(result: &serde_json::Value) -> Option<crate::connect_link::ConnectLink> {
    use crate::connect_link::{ConnectLink, account_required, field_url, query_param, text_urls};
    if account_required(result) == Some(false) {
        return None;
    }
    let is_link = |u: &String| {
        url::Url::parse(u).is_ok_and(|p| p.path().ends_with("/_static/connect.html"))
            && query_param(u, "token").is_some_and(|t| t.starts_with("ctok_"))
    };
    let url =
        field_url(result, &["connectUrl", "connect_url"]).or_else(|| text_urls(result).into_iter().find(is_link))?;
    Some(ConnectLink {
        app: query_param(&url, "app"),
        url,
    })
}

#[cfg(test)]
mod recognise_tests {
    use super::recognise;
    use serde_json::json;

    const LINK: &str = "https://pipedream.com/_static/connect.html?token=ctok_cbb248e2374dc105ed42c5c01d7ac158&connectLink=true&app=slack";

    #[test]
    fn open_source_text_and_hosted_fields() {
        // The open-source server: plain text, no isError.
        let text = json!({"content": [{"type": "text", "text": format!("Go to: {LINK} to connect your account.")}]});
        let l = recognise(&text).unwrap();
        assert_eq!((l.url.as_str(), l.app.as_deref()), (LINK, Some("slack")));
        // The hosted server: accountRequired + connectUrl, top level or nested.
        let hosted = json!({"_meta": {"requestId": "ee7f"}, "content": [{"type": "text", "text": "Connect an account"}],
                            "accountRequired": true, "connectUrl": LINK, "isError": false});
        assert_eq!(recognise(&hosted).unwrap().url, LINK);
        let nested = json!({"content": [], "structuredContent": {"accountRequired": true, "connectUrl": LINK}});
        assert_eq!(recognise(&nested).unwrap().app.as_deref(), Some("slack"));
        let meta = json!({"content": [], "_meta": {"accountRequired": true, "connectUrl": LINK}});
        assert!(recognise(&meta).is_some());
    }

    #[test]
    fn no_false_alarms() {
        let plain = json!({"content": [{"type": "text", "text": "See https://pipedream.com/docs/connect and https://example.com/x?token=1"}]});
        assert_eq!(recognise(&plain), None);
        let said_no =
            json!({"content": [{"type": "text", "text": format!("Go to: {LINK}")}], "accountRequired": false});
        assert_eq!(recognise(&said_no), None);
        let not_ctok =
            json!({"content": [{"type": "text", "text": "https://pipedream.com/_static/connect.html?token=abc"}]});
        assert_eq!(recognise(&not_ctok), None);
    }
}
