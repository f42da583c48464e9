//! `provider = "pipe2"`: Pipe2.ai's MCP server with a personal access token
//! (a signed JWT from the dashboard, valid a year) sent as Bearer, or
//! `auth = "oauth"`, where the general MCP authorization flow (`crate::auth`)
//! supplies the credential.

use super::{Prepared, Setup};
use crate::config::ConfigError;
use crate::credential::Static;
use std::sync::Arc;

/// The keys this provider reads (besides the common ones).
pub const KEYS: &[&str] = &["token"];

pub const DEFAULT_URL: &str = "https://mcp.pipe2.ai/mcp";

pub fn prepare(setup: &Setup<'_>) -> Result<Prepared, ConfigError> {
    setup.allow_only(KEYS)?;
    if setup.entry.auth.is_some() {
        // `auth = "oauth"`: the OAuth layer supplies the credential.
        if setup.entry.token.is_some() {
            return Err(setup.error(
                "token",
                "set either `token` (a personal access token) or `auth = \"oauth\"`, not both",
            ));
        }
        let mut url = setup.url(Some(DEFAULT_URL))?;
        setup.apply_query(&mut url)?;
        return Ok(Prepared::new(setup.endpoint(url, Arc::new(Static::none()))?));
    }
    let token = setup.required_secret(
        "token",
        setup.entry.token.as_ref(),
        "a personal access token from the Pipe2.ai dashboard (API Keys → Personal Access Tokens)",
    )?;
    let mut url = setup.url(Some(DEFAULT_URL))?;
    setup.apply_query(&mut url)?;
    let hint = format!(
        "Pipe2.ai refused the personal access token in `token` of [servers.{}] (expired after a year, or \
         revoked); create a new one in the dashboard under API Keys → Personal Access Tokens",
        setup.name
    );
    let credential = Static::bearer(&token, hint).map_err(|e| setup.error("token", e.0))?;
    Ok(Prepared::new(setup.endpoint(url, Arc::new(credential))?))
}
