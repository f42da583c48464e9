//! `auth = …` on any server whose provider takes it: the server's keys
//! resolved into what `crate::auth` works with (the OAuth `Settings`, and for
//! an extension grant its `Grant`), and the credential attached. For
//! `"oauth"` that is the OAuth credential and the sign-in gate wrapping
//! whatever hooks its provider set; for `"client_credentials"` and
//! `"enterprise"` the credential that fetches its token with no browser.

use super::{Prepared, Setup};
use crate::auth::{
    ClientAuth, Enterprise, Gate, Grant, OAuth, OAuthCredential, SIGNING_ALGORITHMS, Settings, Unattended,
};
use crate::config::ConfigError;
use crate::remote::Endpoint;
use crate::store::Store;
use std::sync::Arc;
use url::Url;

/// Config keys that belong to `auth` (accepted on any provider that takes it).
pub const SIGN_IN_KEYS: &[&str] = &[
    "auth",
    "scopes",
    "client_id",
    "client_secret",
    "callback_port",
    "resource",
    "authorization_server",
    "client_metadata_url",
    "private_key",
    "signing_algorithm",
    "idp_issuer",
    "idp_token_endpoint",
    "idp_client_id",
    "idp_client_secret",
    "id_token",
];

/// The values `auth` takes.
const KINDS: &[&str] = &["oauth", "client_credentials", "enterprise"];

/// The `auth` kind of this server, checked (None: no `auth` key).
pub(super) fn kind<'s>(setup: &Setup<'s>) -> Result<Option<&'s str>, ConfigError> {
    setup.choice("auth", setup.entry.auth.as_deref(), KINDS)
}

/// Give a prepared server the credential its `auth` asks for (none: as it is).
pub(super) fn attach(setup: &Setup<'_>, mut prepared: Prepared) -> Result<Prepared, ConfigError> {
    let Some(kind) = kind(setup)? else {
        return Ok(prepared);
    };
    let settings = setup.oauth_settings(&prepared.endpoint)?;
    let store = Store::open_default().map_err(|e| setup.error("auth", format!("cannot open the token store: {e}")))?;
    if kind != "oauth" {
        let grant = setup.grant(kind, &settings)?;
        let oauth = OAuth::new(settings, store);
        prepared.endpoint.credential = Arc::new(Unattended::new(oauth, grant));
        return Ok(prepared);
    }
    let oauth = OAuth::new(settings, store);
    prepared.endpoint.credential = Arc::new(OAuthCredential::new(oauth.clone()));
    prepared.hooks = Some(Gate::new(oauth.clone(), prepared.hooks.take()));
    prepared.oauth = Some(oauth);
    Ok(prepared)
}

impl Setup<'_> {
    /// The OAuth keys of this server resolved, for its `endpoint`.
    pub fn oauth_settings(&self, endpoint: &Endpoint) -> Result<Settings, ConfigError> {
        let entry = self.entry;
        let client_id = entry
            .client_id
            .as_ref()
            .map(|v| self.plain("client_id", v))
            .transpose()?;
        let client_secret = entry
            .client_secret
            .as_ref()
            .map(|v| self.secret("client_secret", v))
            .transpose()?;
        if client_secret.is_some() && client_id.is_none() {
            return Err(self.error("client_secret", "`client_secret` needs the `client_id` it belongs to"));
        }
        if let Some(r) = &entry.resource
            && Url::parse(r).is_err()
        {
            return Err(self.error("resource", "`resource` must be an absolute URL (RFC 8707)"));
        }
        if let Some(a) = &entry.authorization_server
            && !Url::parse(a).is_ok_and(|u| u.host_str().is_some() && matches!(u.scheme(), "https" | "http"))
        {
            return Err(self.error(
                "authorization_server",
                "`authorization_server` must be the issuer URL of the authorization server (as its metadata's `issuer` says it)",
            ));
        }
        if let Some(u) = &entry.client_metadata_url {
            let ok = Url::parse(u).is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some() && u.path() != "/");
            if !ok {
                return Err(self.error(
                    "client_metadata_url",
                    "`client_metadata_url` must be the https URL (with a path) where the client ID metadata document is published",
                ));
            }
        }
        Ok(Settings {
            server: self.name.to_string(),
            url: endpoint.url.clone(),
            headers: endpoint.headers.clone(),
            scopes: entry.scopes.clone().unwrap_or_default(),
            client_id,
            client_secret,
            client_metadata_url: entry.client_metadata_url.clone(),
            callback_port: entry.callback_port,
            resource: entry.resource.clone(),
            authorization_server: entry.authorization_server.clone(),
            allow_http: entry.allow_http == Some(true),
            redactor: endpoint.redactor.clone(),
        })
    }

    /// The grant `auth = "<kind>"` (`client_credentials` or `enterprise`)
    /// configures, from this server's keys and its resolved `settings`.
    fn grant(&self, kind: &str, settings: &Settings) -> Result<Grant, ConfigError> {
        let entry = self.entry;
        let need = |key: &str, what: &str| self.error(key, format!("`auth = \"{kind}\"` needs `{key}`: {what}"));
        let client_id = settings.client_id.clone().ok_or_else(|| {
            need(
                "client_id",
                "the client registered with the server's authorization server",
            )
        })?;
        if kind == "client_credentials" {
            let key = entry
                .private_key
                .as_ref()
                .map(|v| self.secret("private_key", v))
                .transpose()?;
            let auth = match (&settings.client_secret, key) {
                (Some(_), Some(_)) => {
                    return Err(self.error(
                        "private_key",
                        "set either `client_secret` or `private_key` (for private_key_jwt), not both",
                    ));
                }
                (Some(secret), None) => ClientAuth::Secret(secret.clone()),
                (None, Some(pem)) => {
                    let named = self.choice(
                        "signing_algorithm",
                        entry.signing_algorithm.as_deref(),
                        SIGNING_ALGORITHMS,
                    )?;
                    ClientAuth::private_key(pem, named).map_err(|e| self.error("private_key", e))?
                }
                (None, None) => {
                    return Err(need(
                        "client_secret",
                        "the client's secret (or set `private_key` to authenticate with a signed JWT)",
                    ));
                }
            };
            return Ok(Grant::ClientCredentials { client_id, auth });
        }
        let idp_issuer = entry
            .idp_issuer
            .clone()
            .ok_or_else(|| need("idp_issuer", "the issuer URL of your organisation's identity provider"))?;
        for (key, value) in [
            ("idp_issuer", Some(&idp_issuer)),
            ("idp_token_endpoint", entry.idp_token_endpoint.as_ref()),
        ] {
            if let Some(v) = value {
                let url = Url::parse(v).map_err(|_| self.error(key, format!("`{key}` must be an absolute URL")))?;
                self.require_https_at(key, &url)?;
            }
        }
        let idp_client_id = entry
            .idp_client_id
            .as_ref()
            .map(|v| self.plain("idp_client_id", v))
            .transpose()?
            .ok_or_else(|| need("idp_client_id", "the bridge's client at your identity provider"))?;
        let idp_client_secret = entry
            .idp_client_secret
            .as_ref()
            .map(|v| self.secret("idp_client_secret", v))
            .transpose()?;
        let id_token = entry.id_token.clone().ok_or_else(|| {
            need(
                "id_token",
                "your ID token from the identity provider (usually `{command = [...]}` running your organisation's sign-in tool)",
            )
        })?;
        // Checked now, so a broken value is a config error; read again at each exchange.
        self.secret("id_token", &id_token)?;
        Ok(Grant::Enterprise(Box::new(Enterprise {
            idp_issuer,
            idp_token_endpoint: entry.idp_token_endpoint.clone(),
            idp_client_id,
            idp_client_secret,
            id_token,
        })))
    }
}
