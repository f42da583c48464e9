//! The config that goes into a bundle: the servers (and bundles) packed,
//! with no secret left in them.
//!
//! A secret key (`bearer`, `token`, `client_secret`, …, and headers or
//! query parameters whose name says auth, key, token, secret, password,
//! cookie or session) never keeps its value: a literal, a command, a file
//! or a keychain entry becomes `${MCP_BRIDGE_<SERVER>_<KEY>}`, which Claude
//! Desktop fills from a `user_config` entry it asks for at install and keeps
//! in the OS keychain. A `${VAR}` anywhere stays as written and `VAR`
//! becomes such an entry too (marked sensitive when it sits in a secret
//! key). Any other command, file or keychain value names something on this
//! machine only, so it becomes an entry as well, not marked sensitive.

use crate::config::{ConfigValue, variables};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::{Table, Value};

/// Keys whose value is a credential, whatever form it takes.
const SECRET_KEYS: &[&str] = &["bearer", "token", "access_token", "refresh_token", "client_secret"];

/// Keys that hold a `ConfigValue` (see `config::ServerEntry`).
const VALUE_KEYS: &[&str] = &[
    "url",
    "bearer",
    "token",
    "access_token",
    "refresh_token",
    "client_id",
    "client_secret",
    "project_id",
    "external_user_id",
    "account_id",
    "base_url",
    "api_base",
    "token_url",
    "chat_id",
];

/// Words in a header or query parameter name that mark its value as a secret.
const SECRET_WORDS: &[&str] = &["auth", "key", "token", "secret", "password", "cookie", "session"];

/// One value Claude Desktop asks for at install and passes in `env`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    /// The environment variable the packed config reads.
    pub env: String,
    /// What Claude Desktop shows: the key and server, or the variable.
    pub title: String,
    /// Where it is used, e.g. `token` of `[servers.zapier]`.
    pub used_by: Vec<String>,
    pub sensitive: bool,
}

impl Ask {
    /// The `user_config` key: the variable's name in lower case.
    pub fn key(&self) -> String {
        self.env.to_ascii_lowercase()
    }
}

/// What the bundle's config needs filled in, by environment variable.
#[derive(Debug, Default)]
pub struct Asks(pub BTreeMap<String, Ask>);

impl Asks {
    fn add(&mut self, env: &str, title: String, used_by: String, sensitive: bool) {
        let ask = self.0.entry(env.to_string()).or_insert_with(|| Ask {
            env: env.to_string(),
            title,
            used_by: Vec::new(),
            sensitive: false,
        });
        if !ask.used_by.contains(&used_by) {
            ask.used_by.push(used_by);
        }
        ask.sensitive |= sensitive;
    }
}

/// `[servers.<name>]` as it goes into the bundle, with what it needs asked.
pub fn strip_server(name: &str, table: &Table, asks: &mut Asks) -> Result<Table, String> {
    let mut out = table.clone();
    for &key in VALUE_KEYS {
        if let Some(value) = out.get_mut(key) {
            let secret = SECRET_KEYS.contains(&key);
            strip_value(name, key, value, secret, asks)?;
        }
    }
    for group in ["headers", "query"] {
        if let Some(Value::Table(entries)) = out.get_mut(group) {
            for (key, value) in entries.iter_mut() {
                let lower = key.to_ascii_lowercase();
                let secret = SECRET_WORDS.iter().any(|w| lower.contains(w));
                strip_value(name, &format!("{group}.{key}"), value, secret, asks)?;
            }
        }
    }
    Ok(out)
}

fn strip_value(server: &str, key: &str, value: &mut Value, secret: bool, asks: &mut Asks) -> Result<(), String> {
    let used_by = format!("`{key}` of [servers.{server}]");
    let parsed = ConfigValue::deserialize(value.clone()).map_err(|_| {
        format!("{used_by} is not a string, {{ command = [...] }}, {{ file = ... }} or {{ keyring = ... }}")
    })?;
    let text = match parsed {
        ConfigValue::Text(text) => text,
        _ => String::new(),
    };
    let refs = variables(&text).map_err(|e| format!("{used_by}: {e}"))?;
    let literal = matches!(value, Value::String(_));
    if literal && !refs.is_empty() {
        // `${VAR}` stays as written; VAR is asked for.
        for var in refs {
            asks.add(&var, var.clone(), used_by.clone(), secret);
        }
    } else if !literal || secret {
        let env = env_name(server, key);
        asks.add(&env, format!("{key} ({server})"), used_by, secret);
        *value = Value::String(format!("${{{env}}}"));
    }
    Ok(())
}

/// `MCP_BRIDGE_<SERVER>_<KEY>`, upper case, every other character `_`.
pub fn env_name(server: &str, key: &str) -> String {
    let word = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("MCP_BRIDGE_{}_{}", word(server), word(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(toml_text: &str) -> (String, Asks) {
        let table: Table = toml::from_str(toml_text).unwrap();
        let mut asks = Asks::default();
        let out = strip_server("work chat", &table, &mut asks).unwrap();
        (toml::to_string(&out).unwrap(), asks)
    }

    #[test]
    fn literal_and_indirect_secrets_become_asked_variables() {
        let (text, asks) = strip(
            r#"
            url = "https://example.com/mcp"
            bearer = "s3cr3t-literal"
            client_secret = { keyring = "svc/acct" }
            client_id = { command = ["echo", "id"] }
            [headers]
            X-Api-Key = { file = "/k" }
            X-Team = "blue"
            Authorization = "Bearer ${ZAP_TOKEN}"
            "#,
        );
        assert!(
            !text.contains("s3cr3t") && !text.contains("svc/acct") && !text.contains("echo"),
            "{text}"
        );
        assert!(
            text.contains("https://example.com/mcp") && text.contains("blue"),
            "{text}"
        );
        assert!(text.contains("${MCP_BRIDGE_WORK_CHAT_BEARER}"), "{text}");
        assert!(text.contains("Bearer ${ZAP_TOKEN}"), "{text}");
        let sensitive = |env: &str| asks.0.get(env).map(|a| a.sensitive);
        assert_eq!(sensitive("MCP_BRIDGE_WORK_CHAT_BEARER"), Some(true));
        assert_eq!(asks.0["MCP_BRIDGE_WORK_CHAT_BEARER"].title, "bearer (work chat)");
        assert_eq!(sensitive("MCP_BRIDGE_WORK_CHAT_CLIENT_SECRET"), Some(true));
        assert_eq!(sensitive("MCP_BRIDGE_WORK_CHAT_HEADERS_X_API_KEY"), Some(true));
        assert_eq!(sensitive("ZAP_TOKEN"), Some(true));
        // A command for a value that is no secret is still this machine's only.
        assert_eq!(sensitive("MCP_BRIDGE_WORK_CHAT_CLIENT_ID"), Some(false));
        assert_eq!(asks.0.len(), 5, "{:?}", asks.0.keys());
    }

    #[test]
    fn a_variable_outside_a_secret_key_is_asked_but_not_sensitive() {
        let (text, asks) = strip("url = \"https://${HOST}/mcp\"\nprovider = \"generic\"\n");
        assert!(text.contains("https://${HOST}/mcp"), "{text}");
        let ask = &asks.0["HOST"];
        assert!(!ask.sensitive);
        assert_eq!((ask.key().as_str(), ask.title.as_str()), ("host", "HOST"));
        assert_eq!(ask.used_by, vec!["`url` of [servers.work chat]".to_string()]);
    }
}
