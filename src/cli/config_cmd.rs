//! `config path|init|check` (with the older `config-path` and `check`) and
//! `servers`: where the config lives, a starter file, validation without
//! connecting, and the list of configured servers.

use super::CliError;
use crate::config::{self, Config, ConfigError, Resolver, ServerEntry};
use crate::provider::{self, Problems, Setup};
use crate::redact::{Redactor, display_url, secret_segment};
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

/// The starter config: the example, whose only live server is the sandbox,
/// so a fresh file passes `doctor` until the person adds a real server.
pub fn starter() -> String {
    EXAMPLE.to_string()
}

/// Validate the config and resolve each server's credentials, without
/// connecting: every server and every key, then every problem found.
pub async fn check(flag: Option<&Path>, only: Option<&str>) -> Result<(), CliError> {
    let (config, problems) = Config::load_all(flag)?;
    let Some(config) = config else {
        return Err(ConfigError::from_all(problems).map_or(CliError::Found, CliError::Config));
    };
    let (rows, problems) = report(&config, problems, only, &Resolver::new()).await?;
    crate::out!("{rows}");
    match ConfigError::from_all(problems) {
        Some(e) => Err(CliError::Config(e)),
        None => {
            crate::outln!("{}: valid", config.display_path());
            Ok(())
        }
    }
}

/// `check`'s reading of a config: one row per server (`ok` with its
/// provider and URL, or `FAIL`), and every problem, the file's (`problems`)
/// and each server's keys'. The error is a name that is not in the file.
pub async fn report(
    config: &Config,
    mut problems: Vec<ConfigError>,
    only: Option<&str>,
    resolver: &Resolver,
) -> Result<(String, Vec<ConfigError>), ConfigError> {
    let names = config.servers_to_check(only)?;
    let mut rows = Vec::new();
    for name in names {
        let redactor = Redactor::new();
        let provider = config.servers.get(&name).map_or("-", |e| e.provider_name());
        match examine(config, &name, resolver, &redactor).await {
            Ok(prepared) => {
                let url = redactor.apply(&display_url(&prepared.endpoint.url));
                rows.push(["ok", &name, provider, &url].map(String::from));
            }
            Err(found) => {
                rows.push(["FAIL", &name, provider, ""].map(String::from));
                problems.extend(found);
            }
        }
    }
    problems.sort_by_key(|p| match p {
        ConfigError::Invalid { line, .. } => line.unwrap_or(0),
        _ => 0,
    });
    Ok((columns(&rows), problems))
}

/// What the config alone says of server `name`: it prepared as `serve`
/// would, or every problem its keys have (none listed for a server whose
/// table could not be read: those are the file's problems).
pub async fn examine(
    config: &Config,
    name: &str,
    resolver: &Resolver,
    redactor: &Redactor,
) -> Result<provider::Prepared, Vec<ConfigError>> {
    let Some(entry) = config.servers.get(name) else {
        return Err(Vec::new());
    };
    let survey = Problems::default();
    let setup = Setup::new(name, entry, config, resolver, redactor).surveying(&survey);
    let prepared = provider::prepare(setup).await;
    let (prepared, mut found) = match prepared {
        Ok(p) => (Some(p), survey.take(None)),
        Err(e) => (None, survey.take(Some(e))),
    };
    match prepared {
        Some(p) if found.is_empty() => Ok(p),
        _ => {
            if found.is_empty() {
                found.push(config.error_at(Some(name), "provider", "the server could not be prepared"));
            }
            Err(found)
        }
    }
}

/// Rows of cells as aligned columns (the last one not padded).
fn columns<const N: usize>(rows: &[[String; N]]) -> String {
    let widths: Vec<usize> = (0..N)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// `servers`: each configured server (`*` marks the default) with its
/// provider and where it connects, then each bundle.
pub fn servers(flag: Option<&Path>) -> Result<(), CliError> {
    let config = Config::load(flag)?;
    crate::outln!("{}", config.display_path());
    let mut rows = Vec::new();
    for (name, entry) in &config.servers {
        let mark = if config.default.as_deref() == Some(name) {
            "*"
        } else {
            " "
        };
        rows.push([
            mark.into(),
            name.clone(),
            entry.provider_name().into(),
            endpoint_words(entry),
        ]);
    }
    for (name, bundle) in &config.bundles {
        let mark = if config.default.as_deref() == Some(name) {
            "*"
        } else {
            " "
        };
        rows.push([mark.into(), name.clone(), "(bundle)".into(), bundle.servers.join(", ")]);
    }
    crate::out!("{}", columns(&rows));
    Ok(())
}

/// Where a server connects, in words: its URL (Pipedream's `base_url`)
/// without secrets, or what sets it.
fn endpoint_words(entry: &ServerEntry) -> String {
    let value = match entry.provider_name() {
        "pipedream" => entry.base_url.as_ref(),
        _ => entry.url.as_ref(),
    };
    match value {
        _ if entry.provider_name() == "sandbox" => "(built in, on 127.0.0.1)".into(),
        None => "(provider default)".into(),
        Some(v) => match v.as_literal() {
            Some(text) if text.contains("${") => "(from the environment)".into(),
            Some(text) => match url::Url::parse(text) {
                Ok(u) if secret_segment(&u).is_some() => "(a secret server URL)".into(),
                Ok(u) => display_url(&u),
                Err(_) => "(not a valid URL: see `mcp-bridge check`)".into(),
            },
            None => "(from a command or a file)".into(),
        },
    }
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
