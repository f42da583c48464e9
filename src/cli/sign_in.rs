//! `login`, `logout` and `status`: which servers they act on (a server, or
//! the `auth = "oauth"` servers of a bundle), each prepared as `serve`
//! prepares it. Signing in and out, and the words for a token's state, are
//! `auth::terminal`'s.

use crate::auth::{OAuth, terminal};
use crate::config::{Config, Resolver, ServerEntry};
use crate::provider::{self, Setup};
use crate::redact::Redactor;
use crate::store::Store;
use std::path::Path;
use std::sync::Arc;

/// `login NAME`: sign in to a server, or to each OAuth server of a bundle.
pub async fn login(flag: Option<&Path>, name: &str, no_browser: bool) -> Result<(), String> {
    for server in oauth_servers(flag, name)? {
        terminal::login(open(flag, &server).await?, no_browser).await?;
    }
    Ok(())
}

/// `logout NAME`: sign out of a server, or of each OAuth server of a bundle.
pub async fn logout(flag: Option<&Path>, name: &str) -> Result<(), String> {
    for server in oauth_servers(flag, name)? {
        terminal::logout(open(flag, &server).await?).await?;
    }
    Ok(())
}

/// `status`: what the bridge holds for each configured server.
pub async fn status(flag: Option<&Path>) -> Result<(), String> {
    let config = Config::load(flag).map_err(|e| e.to_string())?;
    let store = Store::open_default().map_err(|e| format!("cannot open the token store: {e}"))?;
    if config.servers.is_empty() {
        crate::outln!("No servers in {}.", config.display_path());
        return Ok(());
    }
    for (name, entry) in &config.servers {
        let rec = store.load(name).map_err(|e| e.to_string())?;
        crate::outln!("{name:<16} {}", terminal::server_state(entry, rec));
    }
    Ok(())
}

/// The OAuth state of server `name`, checked to be an `auth = "oauth"` server.
async fn open(flag: Option<&Path>, name: &str) -> Result<Arc<OAuth>, String> {
    let config = Config::load(flag).map_err(|e| e.to_string())?;
    let (name, entry) = config.select(Some(name)).map_err(|e| e.to_string())?;
    match entry.auth.as_deref() {
        Some("oauth") => {}
        Some(kind @ ("client_credentials" | "enterprise")) => {
            return Err(format!(
                "server `{name}` signs in with no browser (`auth = \"{kind}\"`): there is nothing to log in or \
                 out of; its access token is fetched when it is first used"
            ));
        }
        _ => return Err(no_sign_in(name, entry, &config.display_path())),
    }
    let (resolver, redactor) = (Resolver::new(), Redactor::new());
    let setup = Setup::new(name, entry, &config, &resolver, &redactor);
    let prepared = provider::prepare(setup).await.map_err(|e| e.to_string())?;
    prepared
        .oauth
        .ok_or_else(|| format!("server `{name}` has no OAuth sign-in"))
}

/// Why a server that is not `auth = "oauth"` has nothing to sign in to,
/// and what to do instead: `auth = "oauth"` is suggested only where it
/// applies.
fn no_sign_in(name: &str, entry: &ServerEntry, file: &str) -> String {
    let given = [
        ("token", entry.token.is_some()),
        ("bearer", entry.bearer.is_some()),
        ("access_token", entry.access_token.is_some()),
    ]
    .into_iter()
    .find(|(_, set)| *set)
    .map(|(key, _)| key);
    match (entry.provider_name(), given) {
        ("sandbox", _) => format!(
            "`{name}` is the built-in sandbox: it needs no sign-in; try `mcp-bridge tools {name}` or `mcp-bridge demo`"
        ),
        ("pipedream", _) => format!(
            "`{name}` (provider `pipedream`) gets its own token with `client_id` and `client_secret`: there is \
             nothing to sign in to; `mcp-bridge doctor {name}` checks it"
        ),
        (_, Some(key)) => format!(
            "`{name}` uses the credential in `{key}` of [servers.{name}]: there is nothing to sign in to. To sign in \
             with OAuth instead, remove `{key}` and set `auth = \"oauth\"` there ({file})"
        ),
        _ => {
            format!("server `{name}` does not sign in with OAuth; set `auth = \"oauth\"` in [servers.{name}] of {file}")
        }
    }
}

/// The servers `login NAME` and `logout NAME` act on: NAME itself, or the
/// `auth = "oauth"` servers of the bundle NAME, in its order.
fn oauth_servers(flag: Option<&Path>, name: &str) -> Result<Vec<String>, String> {
    let config = Config::load(flag).map_err(|e| e.to_string())?;
    let Some(bundle) = config.bundles.get(name) else {
        return Ok(vec![name.to_string()]);
    };
    let servers: Vec<String> = bundle
        .servers
        .iter()
        .filter(|s| {
            config
                .servers
                .get(*s)
                .is_some_and(|e| e.auth.as_deref() == Some("oauth"))
        })
        .cloned()
        .collect();
    if servers.is_empty() {
        return Err(format!(
            "no server of bundle `{name}` ({}) signs in with OAuth; the others take their credentials from {}",
            bundle.servers.join(", "),
            config.display_path()
        ));
    }
    Ok(servers)
}
