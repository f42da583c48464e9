//! The TOML config: where it lives, what it may hold, and how it is checked.
//!
//! A config names servers under `[servers.<name>]`. Each entry is one flat
//! table (`ServerEntry`); which keys apply depends on its `provider`. Loading
//! reports a bad file with its path, line and key, and suggests the closest
//! valid key for a misspelt one. Values that may hold secrets are
//! `ConfigValue`s, resolved (env, command, file, keychain) when a server is started.

mod connect;
mod diagnose;
mod duration;
pub mod keychain;
mod list_cache;
mod read;
pub mod size;
mod spoken;
mod value;

pub use connect::ConnectSettings;
pub use diagnose::{ConfigError, closest};
#[cfg(test)]
use duration::parse_duration;
pub use duration::{LONGEST, SHORTEST, Timeout, duration_from_secs};
pub use list_cache::{DEFAULT_LIST_CACHE, LONGEST_LIST_CACHE, ListCacheAge};
pub use spoken::{Protocol, Transport};
pub use value::{ConfigValue, Resolver, variable_values, variables};

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Environment variable that overrides the config file location.
pub const CONFIG_ENV: &str = "MCP_BRIDGE_CONFIG";

/// The whole config file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The server `serve` uses when no name is given.
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub servers: BTreeMap<String, ServerEntry>,
    /// `[bundles.<name>]`: several servers served as one.
    #[serde(default)]
    pub bundles: BTreeMap<String, BundleEntry>,
    /// Where the file came from (not a TOML key).
    #[serde(skip)]
    pub path: Option<PathBuf>,
    /// The file's text, kept to point errors found after parsing at a line.
    #[serde(skip)]
    pub source: String,
    /// The tables of servers and bundles the file defines but that could
    /// not be read (`servers.<name>`, `bundles.<name>`; their problems are
    /// `parse_all`'s): the names exist, for `default`, bundles and `check`.
    #[serde(skip)]
    pub unreadable: Vec<String>,
}

/// One `[bundles.<name>]` table: the servers `serve <name>` merges.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct BundleEntry {
    pub servers: Vec<String>,
}

/// One `[servers.<name>]` table. Keys that a provider does not use are
/// rejected by that provider's validation, naming the provider they belong to.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ServerEntry {
    // ---- every provider ----
    /// `generic` (default), `sandbox`, `pipedream`, `zapier`, `integration-app`, `pipe2`.
    pub provider: Option<String>,
    pub url: Option<ConfigValue>,
    #[serde(default)]
    pub transport: Transport,
    /// `"auto"` (default) or a pinned revision (`"2026-07-28"`, `"2025-11-25"`, …).
    #[serde(default)]
    pub protocol: Protocol,
    #[serde(default)]
    pub headers: BTreeMap<String, ConfigValue>,
    #[serde(default)]
    pub query: BTreeMap<String, ConfigValue>,
    pub timeout: Option<Timeout>,
    /// How long cached lists may answer a start (`"0"`: never).
    #[serde(default)]
    pub list_cache: ListCacheAge,
    /// The largest message held for this server: a stdin line, a response
    /// body, an SSE event (`size::DEFAULT_MAX_MESSAGE_SIZE` when unset).
    pub max_message_size: Option<size::Size>,
    /// Globs (`*`, `?`) of the tools shown; others are hidden and refused.
    pub allow_tools: Option<Vec<String>>,
    /// Globs (`*`, `?`) of the tools hidden and refused.
    pub deny_tools: Option<Vec<String>>,
    pub bearer: Option<ConfigValue>,
    /// `"oauth"` to sign in with the MCP authorization flow;
    /// `"client_credentials"` or `"enterprise"` for the extension grants.
    pub auth: Option<String>,
    /// `[servers.<name>.connect]`: how connect links are shown.
    #[serde(default)]
    pub connect: ConnectSettings,
    /// A glob (`*`) of the connect links this server sends.
    pub connect_link_pattern: Option<String>,
    /// Let `url`, `base_url`, `api_base`, `token_url` and the OAuth
    /// endpoints be plain `http://` to another machine (a trusted network):
    /// without it only `https://`, or `http://` to this machine, is taken.
    pub allow_http: Option<bool>,

    // ---- OAuth and client credentials ----
    pub scopes: Option<Vec<String>>,
    pub client_id: Option<ConfigValue>,
    pub client_secret: Option<ConfigValue>,
    pub callback_port: Option<u16>,
    pub resource: Option<String>,
    /// The issuer of the authorization server the client belongs to:
    /// discovery must find this one, so the client's secret or key never
    /// goes to another that the server's metadata names.
    pub authorization_server: Option<String>,

    // ---- sign-in (`auth`): client ID metadata document, extension grants ----
    /// The https URL of the client ID metadata document identifying the bridge.
    pub client_metadata_url: Option<String>,
    /// `auth = "client_credentials"` with private_key_jwt: the PEM private key.
    pub private_key: Option<ConfigValue>,
    /// Its JWT algorithm (`ES256`, `ES384`, `RS256`, `RS384`, `RS512`).
    pub signing_algorithm: Option<String>,
    /// `auth = "enterprise"`: the organisation's identity provider (issuer URL).
    pub idp_issuer: Option<String>,
    /// Its token endpoint, when its metadata does not give it.
    pub idp_token_endpoint: Option<String>,
    pub idp_client_id: Option<ConfigValue>,
    pub idp_client_secret: Option<ConfigValue>,
    /// The person's ID token from the identity provider.
    pub id_token: Option<ConfigValue>,

    // ---- pipedream ----
    pub project_id: Option<ConfigValue>,
    pub environment: Option<String>,
    pub external_user_id: Option<ConfigValue>,
    pub app: Option<String>,
    pub app_discovery: Option<bool>,
    pub account_id: Option<ConfigValue>,
    pub tool_mode: Option<String>,
    pub conversation_id: Option<String>,
    pub base_url: Option<ConfigValue>,
    pub api_base: Option<ConfigValue>,
    /// Pipedream's header-only options (`x-pd-oauth-app-id`, …).
    pub oauth_app_id: Option<ConfigValue>,
    pub webhook_uri: Option<ConfigValue>,
    pub success_redirect_uri: Option<ConfigValue>,
    pub error_redirect_uri: Option<ConfigValue>,

    // ---- zapier, integration-app, pipe2 ----
    pub token: Option<ConfigValue>,
    pub access_token: Option<ConfigValue>,
    pub refresh_token: Option<ConfigValue>,
    pub token_url: Option<ConfigValue>,
    pub mode: Option<String>,
    pub apps: Option<Vec<String>>,
    pub chat_id: Option<ConfigValue>,

    // ---- sandbox ----
    /// Sandbox: seconds a remote session lives before it expires.
    pub session_ttl: Option<Timeout>,
}

/// The default per-request timeout when a server entry sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

impl ServerEntry {
    pub fn provider_name(&self) -> &str {
        self.provider.as_deref().unwrap_or("generic")
    }
    pub fn timeout(&self) -> Duration {
        self.timeout.map(|t| t.0).unwrap_or(DEFAULT_TIMEOUT)
    }
    pub fn max_message_size(&self) -> usize {
        self.max_message_size.map_or(size::DEFAULT_MAX_MESSAGE_SIZE, |s| s.0)
    }
}

/// The config file's usual location: `<config dir>/mcp-bridge/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "mcp-bridge").map(|d| d.config_dir().join("config.toml"))
}

/// Where the config is read from: `--config`, then `MCP_BRIDGE_CONFIG`, then
/// the per-OS default.
pub fn locate(flag: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = flag {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    default_path()
}

/// The built-in config used when no file exists: one sandbox server.
pub fn builtin() -> Config {
    let mut servers = BTreeMap::new();
    servers.insert(
        "sandbox".to_string(),
        ServerEntry {
            provider: Some("sandbox".into()),
            ..Default::default()
        },
    );
    Config {
        default: Some("sandbox".into()),
        servers,
        bundles: BTreeMap::new(),
        path: None,
        source: String::new(),
        unreadable: Vec::new(),
    }
}

impl Config {
    /// Load the config. An explicitly named file (flag or env) must exist; a
    /// missing default file means "no account configured": use the sandbox.
    pub fn load(flag: Option<&Path>) -> Result<Config, ConfigError> {
        let (config, problems) = Config::load_all(flag)?;
        match (config, ConfigError::from_all(problems)) {
            (Some(config), None) => Ok(config),
            (_, Some(e)) => Err(e),
            (None, None) => Err(ConfigError::Usage("the config could not be read".into())),
        }
    }

    /// `load`, keeping what is valid of a file with mistakes (see
    /// `parse_all`); the error is a file that cannot be read at all.
    pub fn load_all(flag: Option<&Path>) -> Result<(Option<Config>, Vec<ConfigError>), ConfigError> {
        let explicit = flag.is_some() || std::env::var_os(CONFIG_ENV).is_some_and(|p| !p.is_empty());
        let Some(path) = locate(flag) else {
            return Ok((Some(builtin()), vec![]));
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Config::parse_all(&text, Some(&path))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                tracing::info!("no config at {}; using the built-in sandbox", path.display());
                Ok((Some(builtin()), vec![]))
            }
            Err(e) => Err(ConfigError::Io {
                path,
                error: e.to_string(),
            }),
        }
    }

    /// Parse config text; `path` is only used in error messages. Every
    /// problem the file has is reported, not only the first.
    pub fn parse(text: &str, path: Option<&Path>) -> Result<Config, ConfigError> {
        let (config, problems) = Config::parse_all(text, path);
        match (config, ConfigError::from_all(problems)) {
            (Some(config), None) => Ok(config),
            (_, Some(e)) => Err(e),
            (None, None) => Err(ConfigError::Usage("the config could not be read".into())),
        }
    }

    /// Pick the server `serve` should run.
    pub fn select(&self, name: Option<&str>) -> Result<(&str, &ServerEntry), ConfigError> {
        let name = match name.or(self.default.as_deref()) {
            Some(n) => n,
            None if self.servers.len() == 1 => self.servers.keys().next().map(String::as_str).unwrap_or(""),
            None => {
                return Err(ConfigError::Usage(format!(
                    "no server named; pass one (`mcp-bridge serve <name>`) or set `default = \"<name>\"` in {}; {}",
                    self.display_path(),
                    self.known_servers()
                )));
            }
        };
        match self.servers.get_key_value(name) {
            Some((k, v)) => Ok((k.as_str(), v)),
            None => {
                let names: Vec<&str> = self.servers.keys().map(String::as_str).collect();
                let hint = closest(name, &names)
                    .map(|c| format!(" Did you mean `{c}`?"))
                    .unwrap_or_default();
                Err(ConfigError::Usage(format!(
                    "no server `{name}` in {}.{hint} {}",
                    self.display_path(),
                    self.known_servers()
                )))
            }
        }
    }

    fn known_servers(&self) -> String {
        if self.servers.is_empty() {
            return "the file defines no [servers.<name>] tables".to_string();
        }
        let names: Vec<&str> = self.servers.keys().map(String::as_str).collect();
        let mut known = format!("known servers: {}", names.join(", "));
        if !self.bundles.is_empty() {
            let bundles: Vec<&str> = self.bundles.keys().map(String::as_str).collect();
            known.push_str(&format!("; bundles: {}", bundles.join(", ")));
        }
        known
    }

    /// Whether `[<kind>.<name>]` is in the file but could not be read.
    pub fn is_unreadable(&self, kind: &str, name: &str) -> bool {
        self.unreadable
            .iter()
            .any(|t| t.strip_prefix(kind).and_then(|t| t.strip_prefix('.')) == Some(name))
    }

    /// The servers `doctor NAME` and `check NAME` look at: every server, the
    /// one named, or the servers of the bundle named; servers whose table
    /// could not be read are included (they have no entry: their problems
    /// are the file's).
    pub fn servers_to_check(&self, only: Option<&str>) -> Result<Vec<String>, ConfigError> {
        let exists = |s: &String| self.servers.contains_key(s) || self.is_unreadable("servers", s);
        let mut names: Vec<String> = match only {
            None => {
                let unreadable = self.unreadable.iter().filter_map(|t| t.strip_prefix("servers."));
                self.servers
                    .keys()
                    .map(String::as_str)
                    .chain(unreadable)
                    .map(str::to_string)
                    .collect()
            }
            // A member that names no server is a problem of its own
            // (`check_names`); it is left out here, never looked up.
            Some(n) => match self.bundles.get(n) {
                Some(bundle) => bundle.servers.iter().filter(|s| exists(s)).cloned().collect(),
                None if self.is_unreadable("servers", n) => vec![n.to_string()],
                None if self.is_unreadable("bundles", n) => vec![],
                None => vec![self.select(Some(n))?.0.to_string()],
            },
        };
        if only.is_none() {
            names.sort();
        }
        names.dedup();
        Ok(names)
    }

    /// What `serve` and `install` use when no name is given: `default`
    /// (a server or a bundle), else the only server.
    pub fn default_name(&self) -> Result<&str, ConfigError> {
        match self.default.as_deref() {
            Some(d) if self.bundles.contains_key(d) => Ok(d),
            _ => self.select(None).map(|(n, _)| n),
        }
    }

    /// `name` as a server or a `[bundles.<name>]` entry (what `serve`,
    /// `install`, `tools` and `call` take); the error is `select`'s.
    pub fn server_or_bundle<'a>(&'a self, name: &str) -> Result<&'a str, ConfigError> {
        match self.bundles.get_key_value(name) {
            Some((k, _)) => Ok(k.as_str()),
            None => self.select(Some(name)).map(|(n, _)| n),
        }
    }

    /// The entries `names` asks for, each checked with `server_or_bundle`;
    /// none named is the default entry alone (what `install` and `pack`
    /// take).
    pub fn named_or_default(&self, names: &[String]) -> Result<Vec<String>, ConfigError> {
        if names.is_empty() {
            return Ok(vec![self.default_name()?.to_string()]);
        }
        names
            .iter()
            .map(|n| self.server_or_bundle(n).map(str::to_string))
            .collect()
    }

    pub fn display_path(&self) -> String {
        match &self.path {
            Some(p) => p.display().to_string(),
            None => "the built-in config".to_string(),
        }
    }

    /// An error about `key` in `[servers.<server>]` (or the top level), with
    /// the line it is on when it can be found.
    pub fn error_at(&self, server: Option<&str>, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.clone(),
            line: diagnose::find_key_line(&self.source, server, key),
            key: match server {
                Some(s) => format!("servers.{s}.{key}"),
                None => key.to_string(),
            },
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests;
