//! `config path|init|check` (with the older `config-path` and `check`) and
//! `servers`: where the config lives, a starter file, validation without
//! connecting, and the list of configured servers.

use super::CliError;
use crate::config::{self, Config, Resolver};
use crate::provider::{self, Setup};
use crate::redact::{Redactor, display_url};
use std::io::Write;
use std::path::Path;

/// The starter config: the example shipped with the source.
const EXAMPLE: &str = include_str!("../../config.example.toml");

pub fn path(flag: Option<&Path>) -> Result<(), CliError> {
    match config::locate(flag) {
        Some(p) => crate::outln!("{}", p.display()),
        None => crate::outln!("(no config directory on this system; pass --config)"),
    }
    Ok(())
}

/// Write the starter config where the config is looked for, never over an
/// existing file.
pub fn init(flag: Option<&Path>) -> Result<(), CliError> {
    let path = config::locate(flag)
        .ok_or_else(|| CliError::Usage("this system has no config directory; pass --config PATH".into()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| CliError::Failed(format!("cannot create {}: {e}", dir.display())))?;
    }
    let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path);
    let mut file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(CliError::Failed(format!(
                "{} already exists; it was left as it is. Edit it, or check it with `mcp-bridge config check`",
                path.display()
            )));
        }
        Err(e) => return Err(CliError::Failed(format!("cannot create {}: {e}", path.display()))),
    };
    file.write_all(starter().as_bytes())
        .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))?;
    crate::outln!("Wrote {}", path.display());
    eprintln!(
        "It has the built-in sandbox and commented examples for each provider. Next:\n  \
         mcp-bridge doctor             check it end to end\n  \
         mcp-bridge install claude     wire it into Claude Desktop"
    );
    Ok(())
}

/// The example config with its placeholder server commented out, so a fresh
/// file passes `doctor` until the person adds a real server.
pub fn starter() -> String {
    let mut out = String::with_capacity(EXAMPLE.len());
    let mut in_placeholder = false;
    for line in EXAMPLE.lines() {
        if line.starts_with('[') {
            in_placeholder = line.trim() == "[servers.my-server]";
        } else if line.starts_with("# ---") {
            in_placeholder = false;
        }
        if in_placeholder && !line.starts_with('#') && !line.trim().is_empty() {
            out.push_str("# ");
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Validate the config and resolve each server's credentials, without connecting.
pub async fn check(flag: Option<&Path>, only: Option<&str>) -> Result<(), CliError> {
    let config = Config::load(flag)?;
    let names = config.servers_to_check(only)?;
    let resolver = Resolver::new();
    for name in names {
        let entry = &config.servers[&name];
        let redactor = Redactor::new();
        let prepared = provider::prepare(Setup::new(&name, entry, &config, &resolver, &redactor)).await?;
        crate::outln!(
            "ok  {name:<16} {:<16} {}",
            entry.provider_name(),
            display_url(&prepared.endpoint.url)
        );
    }
    crate::outln!("{}: valid", config.display_path());
    Ok(())
}

pub fn servers(flag: Option<&Path>) -> Result<(), CliError> {
    let config = Config::load(flag)?;
    crate::outln!("{}", config.display_path());
    for (name, entry) in &config.servers {
        let url = entry
            .url
            .as_ref()
            .and_then(|u| u.as_literal())
            .and_then(|u| url::Url::parse(u).ok());
        let shown = url
            .map(|u| display_url(&u))
            .unwrap_or_else(|| "(provider default)".into());
        let mark = if config.default.as_deref() == Some(name) {
            "*"
        } else {
            " "
        };
        crate::outln!("{mark} {name:<16} {:<16} {shown}", entry.provider_name());
    }
    for (name, bundle) in &config.bundles {
        crate::outln!("  {name:<16} {:<16} {}", "(bundle)", bundle.servers.join(", "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starter_keeps_the_sandbox_and_comments_out_the_placeholder() {
        let text = starter();
        let config = Config::parse(&text, None).expect("the starter config parses");
        assert_eq!(config.servers.keys().collect::<Vec<_>>(), ["sandbox"]);
        assert!(text.contains("# [servers.my-server]"), "{text}");
        assert!(text.contains("# [servers.pipedream-slack]"), "{text}");
    }
}
