//! `pack [server…]`: a Claude Desktop extension, an MCP Bundle (`.mcpb`):
//! a zip holding `manifest.json` (manifest version 0.3, a `binary`
//! server), this bridge built for each platform given, and a config with
//! the servers packed and no secret in it (`strip`).
//!
//! Double-clicked, Claude Desktop installs it, asks for each `user_config`
//! entry (the secrets marked sensitive, which it keeps in the OS keychain)
//! and starts `bin/<platform>/mcp-bridge --config <dir>/config.toml serve
//! <server…>` with those values in its environment.

mod strip;

use super::CliError;
use crate::config::Config;
use serde_json::{Map, Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use strip::{Asks, strip_server};
use toml::Table;

/// The platforms Claude Desktop tells apart (Node's `process.platform`).
const PLATFORMS: &[&str] = &["darwin", "linux", "win32"];

/// The manifest version written, and the one `mcpb validate` checks it against.
pub const MANIFEST_VERSION: &str = "0.3";

/// One binary to put in the bundle.
struct Binary {
    platform: &'static str,
    path: PathBuf,
}

impl Binary {
    /// Where it sits in the bundle.
    fn entry(&self) -> String {
        let exe = if self.platform == "win32" { ".exe" } else { "" };
        format!("bin/{}/mcp-bridge{exe}", self.platform)
    }
}

/// The platform this bridge runs on, in Claude Desktop's words.
fn this_platform() -> Option<&'static str> {
    match std::env::consts::OS {
        "macos" => Some("darwin"),
        "windows" => Some("win32"),
        "linux" => Some("linux"),
        _ => None,
    }
}

fn parse_binaries(given: &[String]) -> Result<Vec<Binary>, CliError> {
    let mut out: Vec<Binary> = Vec::new();
    for spec in given {
        let Some((platform, path)) = spec.split_once('=') else {
            return Err(CliError::Usage(format!(
                "--binary {spec}: write PLATFORM=PATH, e.g. --binary win32=target/x86_64-pc-windows-gnu/release/mcp-bridge.exe"
            )));
        };
        let Some(&platform) = PLATFORMS.iter().find(|p| **p == platform) else {
            return Err(CliError::Usage(format!(
                "--binary {spec}: the platform is one of {} (for macOS give one universal binary, or the one for the Macs you target)",
                PLATFORMS.join(", ")
            )));
        };
        if out.iter().any(|b| b.platform == platform) {
            return Err(CliError::Usage(format!("--binary {platform}=… is given twice")));
        }
        out.push(Binary {
            platform,
            path: PathBuf::from(path),
        });
    }
    if out.is_empty() {
        let platform = this_platform().ok_or_else(|| {
            CliError::Usage("this system is not one Claude Desktop runs on; pass --binary PLATFORM=PATH".into())
        })?;
        let path = std::env::current_exe()
            .map_err(|e| CliError::Failed(format!("cannot find this program's own path: {e}; pass --binary")))?;
        out.push(Binary { platform, path });
    }
    // darwin, then linux, then win32: the command is the first one's.
    out.sort_by_key(|b| PLATFORMS.iter().position(|p| *p == b.platform));
    Ok(out)
}

pub fn run(flag: Option<&Path>, names: &[String], binaries: &[String], output: Option<&Path>) -> Result<(), CliError> {
    let config = Config::load(flag)?;
    if config.path.is_none() {
        return Err(CliError::Usage(
            "there is no config file to pack; write one with `mcp-bridge config init` (or pass --config PATH)".into(),
        ));
    }
    let names = config.named_or_default(names)?;
    let binaries = parse_binaries(binaries)?;
    let (config_text, asks) = packed_config(&config, &names)?;
    // What goes in must load as a config here too.
    Config::parse(&config_text, Some(Path::new("config.toml")))
        .map_err(|e| CliError::Failed(format!("the packed config does not load ({e}); please report this")))?;
    let manifest = manifest(&names, &binaries, &asks);
    let id = bundle_id(&names);
    let output = output
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(format!("{id}.mcpb")));
    let manifest_text = serde_json::to_string_pretty(&manifest).unwrap_or_default() + "\n";
    write_zip(&output, &manifest_text, &config_text, &binaries)?;

    crate::outln!("Wrote {}", output.display());
    let platforms: Vec<&str> = binaries.iter().map(|b| b.platform).collect();
    eprintln!("  serves {} on {}", names.join(" + "), platforms.join(", "));
    for ask in asks.0.values() {
        let kind = if ask.sensitive { "secret" } else { "setting" };
        eprintln!("  asks for {} ({kind}): {}", ask.key(), ask.used_by.join(", "));
    }
    eprintln!("Open it with Claude Desktop (double-click, or Settings > Extensions) to install it.");
    Ok(())
}

/// The config text the bundle holds, and what it needs asked.
fn packed_config(config: &Config, names: &[String]) -> Result<(String, Asks), CliError> {
    let source: Table = toml::from_str(&config.source)
        .map_err(|e| CliError::Failed(format!("cannot read {} again: {e}", config.display_path())))?;
    let section = |key: &str| {
        source
            .get(key)
            .and_then(toml::Value::as_table)
            .cloned()
            .unwrap_or_default()
    };
    let (all_servers, all_bundles) = (section("servers"), section("bundles"));
    let mut servers = Table::new();
    let mut bundles = Table::new();
    let mut asks = Asks::default();
    for name in names {
        let members: Vec<String> = match config.bundles.get(name) {
            Some(bundle) => {
                if let Some(t) = all_bundles.get(name) {
                    bundles.insert(name.clone(), t.clone());
                }
                bundle.servers.clone()
            }
            None => vec![name.clone()],
        };
        for member in members {
            if servers.contains_key(&member) {
                continue;
            }
            let Some(table) = all_servers.get(&member).and_then(toml::Value::as_table) else {
                return Err(CliError::Usage(format!(
                    "no server `{member}` in {}",
                    config.display_path()
                )));
            };
            let stripped = strip_server(&member, table, &mut asks)
                .map_err(|e| CliError::Usage(format!("{}: {e}", config.display_path())))?;
            servers.insert(member, toml::Value::Table(stripped));
        }
    }
    let mut out = Table::new();
    out.insert("servers".into(), toml::Value::Table(servers));
    if !bundles.is_empty() {
        out.insert("bundles".into(), toml::Value::Table(bundles));
    }
    let body = toml::to_string(&out).map_err(|e| CliError::Failed(format!("cannot write the packed config: {e}")))?;
    let head = "# Packed by `mcp-bridge pack`: no secret is in this file. Each ${VAR} is filled\n\
                # from what Claude Desktop asked for at install (see manifest.json).\n\n";
    Ok((format!("{head}{body}"), asks))
}

/// `mcp-bridge-<names>`, in the characters a manifest name takes.
fn bundle_id(names: &[String]) -> String {
    let joined: String = names
        .join("-")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("mcp-bridge-{joined}")
}

fn manifest(names: &[String], binaries: &[Binary], asks: &Asks) -> Value {
    let dir = "${__dirname}";
    let first = &binaries[0];
    let mut args = vec![
        "--config".to_string(),
        format!("{dir}/config.toml"),
        "serve".to_string(),
    ];
    args.extend(names.iter().cloned());
    let env: Map<String, Value> = asks
        .0
        .values()
        .map(|a| (a.env.clone(), json!(format!("${{user_config.{}}}", a.key()))))
        .collect();
    let overrides: Map<String, Value> = binaries[1..]
        .iter()
        .map(|b| {
            (
                b.platform.to_string(),
                json!({"command": format!("{dir}/{}", b.entry())}),
            )
        })
        .collect();
    let mut mcp_config = json!({
        "command": format!("{dir}/{}", first.entry()),
        "args": args,
        "env": env,
    });
    if !overrides.is_empty() {
        mcp_config["platform_overrides"] = Value::Object(overrides);
    }
    let user_config: Map<String, Value> = asks
        .0
        .values()
        .map(|a| {
            let keeps = if a.sensitive {
                " Claude Desktop keeps it in your OS keychain."
            } else {
                ""
            };
            let option = json!({
                "type": "string",
                "title": a.title,
                "description": format!("Used as {}.{keeps}", a.used_by.join(", ")),
                "required": true,
                "sensitive": a.sensitive,
            });
            (a.key(), option)
        })
        .collect();
    let shown = names.join(" + ");
    let mut manifest = json!({
        "manifest_version": MANIFEST_VERSION,
        "name": bundle_id(names),
        "display_name": format!("{shown} (mcp-bridge)"),
        "version": env!("CARGO_PKG_VERSION"),
        "description": format!("Relays {shown} through mcp-bridge, adding its credentials, so no secret sits in Claude Desktop's config."),
        "author": {"name": "mcp-bridge"},
        "license": env!("CARGO_PKG_LICENSE"),
        "server": {
            "type": "binary",
            "entry_point": first.entry(),
            "mcp_config": mcp_config,
        },
        "compatibility": {
            "platforms": binaries.iter().map(|b| b.platform).collect::<Vec<_>>(),
        },
    });
    if !user_config.is_empty() {
        manifest["user_config"] = Value::Object(user_config);
    }
    manifest
}

/// The bundle: manifest, config and binaries, in that order, each stamped
/// with the same fixed time, so the same inputs give the same bytes.
fn write_zip(output: &Path, manifest: &str, config: &str, binaries: &[Binary]) -> Result<(), CliError> {
    use zip::write::SimpleFileOptions;
    let fail = |e: String| CliError::Failed(format!("cannot write {}: {e}", output.display()));
    let tmp = output.with_extension("mcpb.part");
    let file = std::fs::File::create(&tmp).map_err(|e| fail(e.to_string()))?;
    let mut zip = zip::ZipWriter::new(file);
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    let result = (|| -> Result<(), String> {
        for (name, text) in [("manifest.json", manifest), ("config.toml", config)] {
            zip.start_file(name, options.unix_permissions(0o644))
                .map_err(|e| e.to_string())?;
            zip.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
        }
        for binary in binaries {
            let mut input = std::fs::File::open(&binary.path).map_err(|e| {
                format!(
                    "cannot read the {} binary {}: {e}",
                    binary.platform,
                    binary.path.display()
                )
            })?;
            zip.start_file(binary.entry(), options.unix_permissions(0o755))
                .map_err(|e| e.to_string())?;
            std::io::copy(&mut input, &mut zip).map_err(|e| {
                format!(
                    "cannot read the {} binary {}: {e}",
                    binary.platform,
                    binary.path.display()
                )
            })?;
        }
        zip.finish().map_err(|e| e.to_string())?;
        Ok(())
    })();
    match result.and_then(|()| std::fs::rename(&tmp, output).map_err(|e| e.to_string())) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(fail(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binaries_are_platform_equals_path_and_the_command_is_the_first() {
        let given = ["win32=a.exe".to_string(), "linux=b".to_string()];
        let b = parse_binaries(&given).unwrap();
        assert_eq!(b[0].platform, "linux");
        assert_eq!(b[1].entry(), "bin/win32/mcp-bridge.exe");
        for bad in ["win32", "windows=x", "linux=a"] {
            let mut given = vec![bad.to_string()];
            if bad == "linux=a" {
                given.push("linux=b".into());
            }
            assert!(matches!(parse_binaries(&given), Err(CliError::Usage(_))), "{bad}");
        }
    }

    #[test]
    fn a_bundle_id_is_lower_case_words() {
        assert_eq!(
            bundle_id(&["Zapier".into(), "pd slack".into()]),
            "mcp-bridge-zapier-pd-slack"
        );
    }
}
