//! What a provider file gets to build its server from (`Setup`: the
//! server's entry, and helpers that resolve its values, register every
//! secret with the `Redactor` and point errors at the config's lines), and
//! what it gives back (`Prepared`).

use crate::auth::OAuth;
use crate::config::{Config, ConfigError, ConfigValue, Resolver, ServerEntry};
use crate::credential::{Credential, Static};
use crate::hooks::{Hook, Transform};
use crate::redact::Redactor;
use crate::remote::Endpoint;
use crate::remote::filter::ToolFilter;
use http::{HeaderMap, HeaderName, HeaderValue};
use std::any::Any;
use std::sync::Arc;
use url::Url;

/// A server ready to be relayed to.
pub struct Prepared {
    pub endpoint: Endpoint,
    pub hooks: Option<Arc<dyn Hook>>,
    /// Whatever must live as long as the relay (e.g. an in-process sandbox).
    pub keep_alive: Vec<Box<dyn Any + Send>>,
    /// Steps on the server's answers (its connect links), run in `Inbound`.
    pub transforms: Vec<Arc<dyn Transform>>,
    /// The sign-in of an `auth = "oauth"` server (its gate is in `hooks`;
    /// a bundle, which has no single relay to hook, uses this directly).
    pub oauth: Option<Arc<OAuth>>,
}

impl Prepared {
    /// An endpoint with nothing else: no hooks, nothing to keep alive, no
    /// transforms yet (`prepare` adds the connect links), no OAuth.
    pub fn new(endpoint: Endpoint) -> Prepared {
        Prepared {
            endpoint,
            hooks: None,
            keep_alive: vec![],
            transforms: vec![],
            oauth: None,
        }
    }
}

/// What a provider file gets to build its endpoint from.
pub struct Setup<'a> {
    pub name: &'a str,
    pub entry: &'a ServerEntry,
    pub config: &'a Config,
    pub resolver: &'a Resolver,
    pub redactor: &'a Redactor,
    /// The providers whose own keys include a key (from the provider table,
    /// set by `provider::prepare`), to say whose a misplaced key is.
    pub(super) key_owners: fn(&str) -> Vec<&'static str>,
    /// Set by `check` and `doctor`: go on past a wrong key and note it here,
    /// so that every key's problem is shown, not only the first.
    pub(super) survey: Option<&'a Problems>,
}

/// The problems a survey noted (see `Setup::surveying`).
#[derive(Default)]
pub struct Problems(std::sync::Mutex<Vec<ConfigError>>);

impl Problems {
    /// Every problem noted so far, and with them the one `prepare`
    /// returned (its `Setup::noted` marker adds none).
    pub fn take(&self, returned: Option<ConfigError>) -> Vec<ConfigError> {
        let noted = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        noted
            .into_iter()
            .chain(returned)
            .flat_map(ConfigError::into_each)
            .collect()
    }
}

impl<'a> Setup<'a> {
    pub fn new(
        name: &'a str,
        entry: &'a ServerEntry,
        config: &'a Config,
        resolver: &'a Resolver,
        redactor: &'a Redactor,
    ) -> Setup<'a> {
        Setup {
            name,
            entry,
            config,
            resolver,
            redactor,
            key_owners: |_| Vec::new(),
            survey: None,
        }
    }

    /// Prepare to find every problem of the entry: a check that does not
    /// depend on another (`each`) notes its error in `problems` and the
    /// provider goes on to the next key.
    pub fn surveying(self, problems: &'a Problems) -> Setup<'a> {
        Setup {
            survey: Some(problems),
            ..self
        }
    }
}

impl Setup<'_> {
    /// The outcome of a check that does not depend on the others: its value,
    /// or its error at once; when surveying, the error is noted and `None`
    /// returned so that the next key is checked too.
    pub fn each<T>(&self, checked: Result<T, ConfigError>) -> Result<Option<T>, ConfigError> {
        match (checked, self.survey) {
            (Ok(v), _) => Ok(Some(v)),
            (Err(e), Some(problems)) => {
                problems.0.lock().unwrap_or_else(|e| e.into_inner()).push(e);
                Ok(None)
            }
            (Err(e), None) => Err(e),
        }
    }

    /// The error to return once a survey has noted problems and cannot
    /// go on: it adds none of its own (they are in the survey).
    pub fn noted(&self) -> ConfigError {
        ConfigError::Several(Vec::new())
    }

    /// An error about `key` of this server, pointing at its line.
    pub fn error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        self.config.error_at(Some(self.name), key, message)
    }

    /// Resolve a value that is not secret in itself. What came from
    /// outside the config (a `${VAR}`, a command's output, a file) is
    /// registered for redaction all the same: the config does not say what
    /// it holds.
    pub fn plain(&self, key: &str, value: &ConfigValue) -> Result<String, ConfigError> {
        let v = self
            .resolver
            .resolve(self.name, key, value)
            .map_err(|e| self.error(key, e.problem))?;
        match value {
            ConfigValue::Text(t) => crate::config::variable_values(t)
                .into_iter()
                .for_each(|s| self.redactor.add(s)),
            _ => self.redactor.add(v.clone()),
        }
        Ok(v)
    }

    /// Resolve a secret and register it for redaction.
    pub fn secret(&self, key: &str, value: &ConfigValue) -> Result<String, ConfigError> {
        let v = self.plain(key, value)?;
        self.redactor.add(v.clone());
        Ok(v)
    }

    /// A required secret key.
    pub fn required_secret(&self, key: &str, value: Option<&ConfigValue>, what: &str) -> Result<String, ConfigError> {
        match value {
            Some(v) => self.secret(key, v),
            None => Err(self.error(
                key,
                format!(
                    "`{key}` is required for provider `{}`: {what}",
                    self.entry.provider_name()
                ),
            )),
        }
    }

    /// The server URL: `url` from the config, else the provider's default.
    pub fn url(&self, default: Option<&str>) -> Result<Url, ConfigError> {
        self.url_at("url", self.entry.url.as_ref(), default)
    }

    /// An http(s) URL the bridge sends requests to, from `key`, else
    /// `default`: `https://`, or `http://` to this machine, unless the
    /// entry says `allow_http = true`.
    pub fn url_at(&self, key: &str, value: Option<&ConfigValue>, default: Option<&str>) -> Result<Url, ConfigError> {
        let url = self.any_url_at(key, value, default)?;
        self.require_https_at(key, &url)?;
        Ok(url)
    }

    /// `url`, from `key`, may be sent secrets: `https://`, or `http://` to
    /// this machine, or anywhere with `allow_http = true` (and a warning).
    pub fn require_https_at(&self, key: &str, url: &Url) -> Result<(), ConfigError> {
        let allow_http = self.entry.allow_http == Some(true);
        if allow_http && crate::net::plain_http_elsewhere(url) {
            crate::net::warn_plain_http(self.name, &format!("`{key}`"), url);
        }
        crate::net::require_https(url, allow_http).map_err(|e| {
            self.error(
                key,
                format!(
                    "`{key}` {e}; use https://, or set `allow_http = true` in [servers.{}] if that network is trusted",
                    self.name
                ),
            )
        })
    }

    /// An http(s) URL from `key`, else `default`, whichever its scheme (a
    /// URL the bridge only passes on, such as a webhook).
    pub fn any_url_at(
        &self,
        key: &str,
        value: Option<&ConfigValue>,
        default: Option<&str>,
    ) -> Result<Url, ConfigError> {
        let text = match (value, default) {
            (Some(v), _) => self.plain(key, v)?,
            (None, Some(d)) => d.to_string(),
            (None, None) => {
                return Err(self.error(
                    key,
                    format!("`{key}` is required: the MCP endpoint, e.g. \"https://example.com/mcp\""),
                ));
            }
        };
        let url = Url::parse(&text).map_err(|e| self.error(key, format!("not a valid URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(self.error(key, "the URL must start with http:// or https://"));
        }
        // Query strings often carry tokens: the whole, and each value (as
        // written and decoded); and so may a password before the host.
        if let Some(q) = url.query() {
            self.redactor.add(q.to_string());
            for pair in q.split('&') {
                self.redactor
                    .add(pair.split_once('=').map_or(pair, |(_, v)| v).to_string());
            }
            url.query_pairs().for_each(|(_, v)| self.redactor.add(v.into_owned()));
        }
        if let Some(p) = url.password() {
            self.redactor.add(p.to_string());
        }
        Ok(url)
    }

    /// `headers = { … }` from the config. Every value is a secret, whatever
    /// the header's name: a name says nothing sure about what it carries.
    pub fn headers(&self) -> Result<HeaderMap, ConfigError> {
        let mut map = HeaderMap::new();
        for (k, v) in &self.entry.headers {
            let key = format!("headers.{k}");
            let name =
                HeaderName::from_bytes(k.as_bytes()).map_err(|_| self.error(&key, "not a valid HTTP header name"))?;
            let text = self.secret(&key, v)?;
            let mut value = HeaderValue::from_str(&text)
                .map_err(|_| self.error(&key, "the value holds characters not allowed in a header"))?;
            value.set_sensitive(true);
            map.append(name, value);
        }
        Ok(map)
    }

    /// Apply `query = { … }` from the config to `url`; every value is a
    /// secret, as with headers.
    pub fn apply_query(&self, url: &mut Url) -> Result<(), ConfigError> {
        for (k, v) in &self.entry.query {
            let key = format!("query.{k}");
            let text = self.secret(&key, v)?;
            url.query_pairs_mut().append_pair(k, &text);
        }
        // The value as it goes on the wire (percent-encoded) is hidden too.
        for pair in url.query().unwrap_or_default().split('&') {
            if let Some((_, v)) = pair.split_once('=') {
                self.redactor.add(v.to_string());
            }
        }
        Ok(())
    }

    /// `bearer` as a static credential, or none.
    pub fn bearer(&self) -> Result<Arc<dyn Credential>, ConfigError> {
        match &self.entry.bearer {
            Some(v) => {
                let token = self.secret("bearer", v)?;
                let cred = Static::bearer(
                    &token,
                    format!(
                        "the token in `bearer` of [servers.{}] was refused; replace it",
                        self.name
                    ),
                )
                .map_err(|e| self.error("bearer", e.0))?;
                Ok(Arc::new(cred))
            }
            None => Ok(Arc::new(Static::none())),
        }
    }

    /// The endpoint with everything common to all providers filled in.
    pub fn endpoint(&self, url: Url, credential: Arc<dyn Credential>) -> Result<Endpoint, ConfigError> {
        Ok(Endpoint {
            server: self.name.to_string(),
            url,
            headers: self.headers()?,
            credential,
            transport: self.entry.transport,
            protocol: self.entry.protocol.clone(),
            store: crate::store::Store::open_default().ok(),
            timeout: self.entry.timeout(),
            max_message_size: self.entry.max_message_size(),
            tools: ToolFilter::new(self.entry.allow_tools.clone(), self.entry.deny_tools.clone()),
            list_cache: self.entry.list_cache,
            redactor: self.redactor.clone(),
        })
    }
}

mod keys;
