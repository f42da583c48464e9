//! Providers: one file each, turning a `[servers.<name>]` entry into a
//! `Prepared` server (an `Endpoint`: URL, headers, query parameters,
//! credential; plus optional hooks). Adding a provider is adding its file
//! and one line to `PROVIDERS`, the provider table below.
//!
//! `prepare` assembles every server the same way: its provider's endpoint,
//! its connect links (`connect_link`, with the provider's recogniser), and
//! the credential its `auth` asks for (`auth.rs`: the OAuth credential and
//! sign-in gate, or an extension grant's). What a provider file gets and
//! gives back is `setup.rs`.

mod auth;
mod generic;
mod integration_app;
mod pipe2;
mod pipedream;
mod sandbox;
mod setup;
mod zapier;

pub use auth::SIGN_IN_KEYS;
pub use setup::{Prepared, Problems, Setup};

use crate::config::{ConfigError, closest};
use crate::connect_link::ConnectLink;
use futures::future::BoxFuture;
use serde_json::Value;

/// One provider, as `provider = "…"` names it.
struct Provider {
    name: &'static str,
    /// Builds the server.
    prepare: Prepare,
    /// Its own keys (besides the common ones): a key of its elsewhere is
    /// traced back to it.
    keys: &'static [&'static str],
    /// Its connect-link recogniser (next to its code), and the domains its
    /// links are on (besides the server's own origin, where an emulator
    /// or a self-hosted server serves them).
    recognise: Option<fn(&Value) -> Option<ConnectLink>>,
    link_domains: &'static [&'static str],
    /// It gets its credential its own way (client credentials, a token the
    /// product team signs, a local token): `auth` (any of `oauth`,
    /// `client_credentials`, `enterprise`) does not apply.
    own_credentials: bool,
}

enum Prepare {
    Ready(fn(&Setup<'_>) -> Result<Prepared, ConfigError>),
    /// Starts something first (the sandbox).
    Started(for<'s, 'a> fn(&'s Setup<'a>) -> BoxFuture<'s, Result<Prepared, ConfigError>>),
}

/// The provider table: every provider, one line each.
#[rustfmt::skip]
const PROVIDERS: &[Provider] = &[
    // A generic server (Pipedream's open-source MCP server among them) finds
    // links only through its `connect_link_pattern`.
    Provider { name: "generic", prepare: Prepare::Ready(generic::prepare), keys: &[], recognise: None, link_domains: &[], own_credentials: false },
    Provider { name: "sandbox", prepare: Prepare::Started(sandbox::prepare), keys: &[], recognise: None, link_domains: &[], own_credentials: true },
    Provider { name: "pipedream", prepare: Prepare::Ready(pipedream::prepare), keys: pipedream::KEYS, recognise: Some(pipedream::recognise), link_domains: pipedream::LINK_DOMAINS, own_credentials: true },
    Provider { name: "zapier", prepare: Prepare::Ready(zapier::prepare), keys: zapier::KEYS, recognise: Some(zapier::recognise), link_domains: zapier::LINK_DOMAINS, own_credentials: false },
    Provider { name: "integration-app", prepare: Prepare::Ready(integration_app::prepare), keys: integration_app::KEYS, recognise: Some(integration_app::recognise), link_domains: integration_app::LINK_DOMAINS, own_credentials: false },
    Provider { name: "pipe2", prepare: Prepare::Ready(pipe2::prepare), keys: pipe2::KEYS, recognise: None, link_domains: &[], own_credentials: false },
];

/// Every provider name `provider = "…"` accepts.
pub fn names() -> Vec<&'static str> {
    PROVIDERS.iter().map(|p| p.name).collect()
}

/// The providers whose own keys include `key`.
fn key_owners(key: &str) -> Vec<&'static str> {
    PROVIDERS
        .iter()
        .filter(|p| p.keys.contains(&key))
        .map(|p| p.name)
        .collect()
}

/// A connect link by any provider's recogniser, for callers that do not
/// know the server.
pub fn recognise_any(result: &Value) -> Option<ConnectLink> {
    PROVIDERS
        .iter()
        .filter_map(|p| p.recognise)
        .find_map(|recognise| recognise(result))
}

/// Build the server `setup` names.
pub async fn prepare(setup: Setup<'_>) -> Result<Prepared, ConfigError> {
    let setup = Setup { key_owners, ..setup };
    let name = setup.entry.provider_name();
    let Some(provider) = PROVIDERS.iter().find(|p| p.name == name) else {
        let names = names();
        let hint = closest(name, &names)
            .map(|c| format!("did you mean `{c}`? "))
            .unwrap_or_default();
        return Err(setup.error(
            "provider",
            format!("unknown provider `{name}`; {hint}choose one of: {}", names.join(", ")),
        ));
    };
    if setup.entry.auth.is_some() && provider.own_credentials {
        return Err(setup.error(
            "auth",
            format!(
                "provider `{name}` gets its credentials its own way, so `auth` does not apply; remove it (use `provider = \"generic\"` with `auth = \"oauth\"` for a plain OAuth server)"
            ),
        ));
    }
    let prepared = match provider.prepare {
        Prepare::Ready(prepare) => setup.each(prepare(&setup))?,
        Prepare::Started(prepare) => setup.each(prepare(&setup).await)?,
    };
    // Checked even when the provider's own keys were wrong (when surveying).
    let origin = prepared.as_ref().map(|p| p.endpoint.url.origin());
    let recognise = match (provider.recognise, origin) {
        (Some(r), Some(origin)) => Some(crate::connect_link::on_hosts(r, provider.link_domains, origin)),
        _ => None,
    };
    let links = setup.each(
        crate::connect_link::for_server(setup.name, setup.entry, recognise)
            .map_err(|e| setup.error("connect_link_pattern", e)),
    )?;
    let kind = setup.each(auth::kind(&setup))?;
    let (Some(mut prepared), Some(links), Some(_)) = (prepared, links, kind) else {
        return Err(setup.noted());
    };
    prepared.transforms.push(links);
    // `auth` on any server its provider lets take it: the OAuth credential
    // and sign-in gate, or an extension grant's credential.
    auth::attach(&setup, prepared)
}
