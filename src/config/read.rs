//! Reading a config file so that one mistake hides no other: the whole
//! file at once when it is valid; else each server and bundle table (and
//! each key of a server that fails) on its own, keeping the valid ones.
//! Then the names the file uses (`default`, bundle members) are checked to
//! exist. `check` and `doctor` show every problem found here.

use super::diagnose;
use super::{BundleEntry, Config, ConfigError, ServerEntry, closest};
use serde::Deserialize;
use std::path::Path;

impl Config {
    /// Parse config text, keeping what is valid: the config without the
    /// entries that are wrong (none when the file is not TOML at all), and
    /// every problem found, each with its line and key. `check` and `doctor`
    /// look at the valid servers too, so one mistake hides no other.
    pub fn parse_all(text: &str, path: Option<&Path>) -> (Option<Config>, Vec<ConfigError>) {
        let mut problems = Vec::new();
        let mut cfg = match toml::from_str::<Config>(text) {
            Ok(cfg) => cfg,
            Err(e) => match parse_each(text, path, &mut problems) {
                Some(cfg) => cfg,
                None => return (None, vec![diagnose::from_toml(&e, text, path)]),
            },
        };
        cfg.path = path.map(Path::to_path_buf);
        cfg.source = text.to_string();
        problems.extend(cfg.check_names());
        problems.sort_by_key(|p| match p {
            ConfigError::Invalid { line, .. } => line.unwrap_or(0),
            _ => 0,
        });
        (Some(cfg), problems)
    }

    /// The names the file uses for servers, in `default` and in bundles,
    /// each checked to exist.
    fn check_names(&self) -> Vec<ConfigError> {
        let mut problems = Vec::new();
        if let Some(d) = &self.default
            && !self.servers.contains_key(d)
            && !self.bundles.contains_key(d)
            && !self.is_unreadable("servers", d)
            && !self.is_unreadable("bundles", d)
        {
            let names: Vec<&str> = self
                .servers
                .keys()
                .chain(self.bundles.keys())
                .map(String::as_str)
                .collect();
            let hint = closest(d, &names)
                .map(|c| format!("did you mean `{c}`? "))
                .unwrap_or_default();
            problems.push(self.error_at(
                None,
                "default",
                format!(
                    "`default = \"{d}\"` names no server or bundle; {hint}{}",
                    self.known_servers()
                ),
            ));
        }
        let servers: Vec<&str> = self.servers.keys().map(String::as_str).collect();
        for (name, bundle) in &self.bundles {
            let at = |message: String| ConfigError::Invalid {
                path: self.path.clone(),
                line: diagnose::find_line_in(&self.source, Some(&format!("bundles.{name}")), "servers"),
                key: format!("bundles.{name}.servers"),
                message,
            };
            if bundle.servers.is_empty() {
                problems.push(at(format!(
                    "bundle `{name}` lists no server; name at least one, e.g. servers = [\"{}\"]; {}",
                    servers.first().copied().unwrap_or("sandbox"),
                    self.known_servers()
                )));
            }
            for member in &bundle.servers {
                if self.servers.contains_key(member) || self.is_unreadable("servers", member) {
                    continue;
                }
                let why = if self.bundles.contains_key(member) {
                    format!("`{member}` is a bundle, and a bundle lists servers only; list its servers instead")
                } else {
                    let hint = closest(member, &servers)
                        .map(|c| format!("did you mean `{c}`? "))
                        .unwrap_or_default();
                    format!("`{member}` names no server; {hint}{}", self.known_servers())
                };
                problems.push(at(format!("bundle `{name}`: {why}")));
            }
        }
        problems
    }
}

/// The file taken apart after `toml::from_str` refused it: each server and
/// bundle read on its own, so that a mistake in one is reported with the
/// mistakes of the others, and the valid ones are kept. `None` when the
/// text is not TOML (that error is the only one there is).
fn parse_each(text: &str, path: Option<&Path>, problems: &mut Vec<ConfigError>) -> Option<Config> {
    let root = toml::de::DeTable::parse(text).ok()?;
    let span = root.span();
    let mut rest = toml::de::DeTable::new();
    let mut cfg = Config::default();
    let mut fail = |e: toml::de::Error| problems.push(diagnose::from_toml(&e, text, path));
    for (key, value) in root.into_inner() {
        let tables = match key.get_ref().as_ref() {
            "servers" => Some(true),
            "bundles" => Some(false),
            _ => None,
        };
        let Some(is_servers) = tables else {
            rest.insert(key, value);
            continue;
        };
        let toml::de::DeValue::Table(entries) = value.get_ref() else {
            rest.insert(key, value);
            continue;
        };
        for (name, entry) in entries.clone() {
            let name = name.into_inner().into_owned();
            let entry_copy = entry.clone();
            let de = toml::de::ValueDeserializer::from(entry);
            if is_servers {
                match ServerEntry::deserialize(de) {
                    Ok(e) => drop(cfg.servers.insert(name, e)),
                    Err(e) => {
                        each_key(&entry_copy, e).into_iter().for_each(&mut fail);
                        cfg.unreadable.push(format!("servers.{name}"));
                    }
                }
            } else {
                match BundleEntry::deserialize(de) {
                    Ok(b) => drop(cfg.bundles.insert(name, b)),
                    Err(e) => {
                        fail(e);
                        cfg.unreadable.push(format!("bundles.{name}"));
                    }
                }
            }
        }
    }
    // The other top-level keys, each alone so that one unknown key does not
    // hide `default`.
    for (key, value) in rest {
        let mut one = toml::de::DeTable::new();
        one.insert(key, value);
        match Config::deserialize(toml::de::Deserializer::from(toml::Spanned::new(span.clone(), one))) {
            Ok(t) => {
                cfg.default = cfg.default.take().or(t.default);
                cfg.servers.extend(t.servers);
                cfg.bundles.extend(t.bundles);
            }
            Err(e) => fail(e),
        }
    }
    Some(cfg)
}

/// The errors of a server table that failed to read, one per key: serde
/// stops at the first, so each key is read alone (every key of a server
/// entry is optional). `whole` is the error reading all of it, used when no
/// single key fails alone.
fn each_key(entry: &toml::Spanned<toml::de::DeValue<'_>>, whole: toml::de::Error) -> Vec<toml::de::Error> {
    let toml::de::DeValue::Table(table) = entry.get_ref() else {
        return vec![whole];
    };
    let mut errors = Vec::new();
    for (key, value) in table.iter() {
        let mut one = toml::de::DeTable::new();
        one.insert(key.clone(), value.clone());
        let alone = toml::Spanned::new(entry.span(), toml::de::DeValue::Table(one));
        if let Err(e) = ServerEntry::deserialize(toml::de::ValueDeserializer::from(alone)) {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        errors.push(whole);
    }
    errors
}
