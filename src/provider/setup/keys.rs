//! The keys of a server's table as a provider checks them: which it
//! accepts (the common ones and its own), a value among allowed choices,
//! a header it sets, and the token store it keeps its sign-in in.

use super::super::auth::SIGN_IN_KEYS;
use super::Setup;
use crate::config::{ConfigError, closest};
use http::{HeaderMap, HeaderName, HeaderValue};

/// Keys every provider accepts.
const COMMON_KEYS: &[&str] = &[
    "provider",
    "url",
    "transport",
    "protocol",
    "headers",
    "query",
    "timeout",
    "list_cache",
    "max_message_size",
    "allow_tools",
    "deny_tools",
    "connect",
    "connect_link_pattern",
    "allow_http",
];

impl Setup<'_> {
    /// Refuse keys set in this server's table that are neither common keys
    /// nor in `allowed`, naming the provider they belong to.
    pub fn allow_only(&self, allowed: &[&str]) -> Result<(), ConfigError> {
        let Ok(doc) = toml::from_str::<toml::Table>(&self.config.source) else {
            return Ok(());
        };
        let Some(table) = doc
            .get("servers")
            .and_then(|s| s.get(self.name))
            .and_then(toml::Value::as_table)
        else {
            return Ok(());
        };
        let provider = self.entry.provider_name();
        for key in table.keys() {
            let oauth_key = self.entry.auth.is_some() && SIGN_IN_KEYS.contains(&key.as_str());
            if COMMON_KEYS.contains(&key.as_str()) || allowed.contains(&key.as_str()) || oauth_key {
                continue;
            }
            let owners = (self.key_owners)(key);
            let belongs = if owners.is_empty() {
                String::new()
            } else {
                format!(" (it is a key of provider `{}`)", owners.join("`, `"))
            };
            let mut accepted: Vec<&str> = COMMON_KEYS.to_vec();
            accepted.extend_from_slice(allowed);
            self.each::<()>(Err(self.error(
                key,
                format!(
                    "provider `{provider}` does not use `{key}`{belongs}; it accepts: {}",
                    accepted.join(", ")
                ),
            )))?;
        }
        Ok(())
    }

    /// A value of `key` that must be one of `allowed`.
    pub fn choice<'v>(
        &self,
        key: &str,
        value: Option<&'v str>,
        allowed: &[&str],
    ) -> Result<Option<&'v str>, ConfigError> {
        match value {
            Some(v) if !allowed.contains(&v) => {
                let hint = closest(v, allowed)
                    .map(|c| format!("did you mean `{c}`? "))
                    .unwrap_or_default();
                Err(self.error(
                    key,
                    format!(
                        "`{v}` is not a valid `{key}`; {hint}allowed values: {}",
                        allowed.join(", ")
                    ),
                ))
            }
            other => Ok(other),
        }
    }

    /// Append header `name: value` (from `key`) to `map`.
    pub fn put_header(
        &self,
        map: &mut HeaderMap,
        key: &str,
        name: &'static str,
        value: &str,
    ) -> Result<(), ConfigError> {
        let v = HeaderValue::from_str(value)
            .map_err(|_| self.error(key, "the value holds characters not allowed in an HTTP header"))?;
        map.insert(HeaderName::from_static(name), v);
        Ok(())
    }

    /// The token store.
    pub fn store(&self) -> Result<crate::store::Store, ConfigError> {
        crate::store::Store::open_default()
            .map_err(|e| self.error("provider", format!("cannot find the token store ({e})")))
    }
}
