//! `install claude|cursor [server…]`: the `mcpServers` entry that starts this
//! bridge from a desktop client, printed, or merged into the client's config
//! file with `--write` (every other byte kept, the file backed up first, a
//! file that is not valid JSON refused; a link's target edited, the mode
//! kept).

use super::{CliError, json_edit};
use crate::config::{self, Config};
use serde_json::{Map, Value, json};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// A desktop client whose config file `install` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Client {
    /// Claude Desktop (`claude_desktop_config.json`).
    Claude,
    /// Cursor (`~/.cursor/mcp.json`).
    Cursor,
}

impl Client {
    fn label(self) -> &'static str {
        match self {
            Client::Claude => "Claude Desktop",
            Client::Cursor => "Cursor",
        }
    }
}

/// Where the client keeps its config on `os` ("macos", "windows", other),
/// given the home directory and, on Windows, `%APPDATA%`, and on Linux
/// `$XDG_CONFIG_HOME`.
pub fn client_file(client: Client, os: &str, home: &Path, appdata: Option<&Path>, xdg: Option<&Path>) -> PathBuf {
    match (client, os) {
        (Client::Cursor, _) => home.join(".cursor").join("mcp.json"),
        (Client::Claude, "macos") => home.join("Library/Application Support/Claude/claude_desktop_config.json"),
        (Client::Claude, "windows") => appdata
            .map(Path::to_path_buf)
            .unwrap_or_else(|| home.join("AppData").join("Roaming"))
            .join("Claude")
            .join("claude_desktop_config.json"),
        (Client::Claude, _) => xdg
            .map(Path::to_path_buf)
            .unwrap_or_else(|| home.join(".config"))
            .join("Claude")
            .join("claude_desktop_config.json"),
    }
}

/// The client's config file on this machine.
fn default_file(client: Client) -> Result<PathBuf, CliError> {
    let home = directories::BaseDirs::new()
        .map(|d| d.home_dir().to_path_buf())
        .ok_or_else(|| CliError::Usage("cannot find your home directory; pass --file PATH".into()))?;
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let xdg = env("XDG_CONFIG_HOME").filter(|p| p.is_absolute());
    Ok(client_file(
        client,
        std::env::consts::OS,
        &home,
        env("APPDATA").as_deref(),
        xdg.as_deref(),
    ))
}

pub fn run(
    flag: Option<&Path>,
    client: Client,
    names: &[String],
    write: bool,
    file: Option<&Path>,
) -> Result<(), CliError> {
    let config = Config::load(flag)?;
    let names = config.named_or_default(names)?;
    let exe =
        std::env::current_exe().map_err(|e| CliError::Failed(format!("cannot find this program's own path: {e}")))?;
    // A config other than the default must be named in the entry: the
    // desktop client starts the bridge without your shell's environment.
    let config_arg = match (config::locate(flag), config::default_path()) {
        (Some(used), default) if Some(&used) != default.as_ref() => Some(std::path::absolute(&used).unwrap_or(used)),
        _ => None,
    };
    let mut servers = Map::new();
    for name in &names {
        let mut args: Vec<Value> = Vec::new();
        if let Some(c) = &config_arg {
            args.extend([json!("--config"), json!(c.to_string_lossy())]);
        }
        args.extend([json!("serve"), json!(name)]);
        servers.insert(name.clone(), json!({"command": exe.to_string_lossy(), "args": args}));
    }
    let file = match file {
        Some(f) => f.to_path_buf(),
        None => default_file(client)?,
    };
    warn_unseen_env(&config, &names, client, &file);
    if !write {
        let shown = json!({"mcpServers": servers});
        crate::outln!("{}", serde_json::to_string_pretty(&shown).unwrap_or_default());
        eprintln!(
            "Add this to {} ({}), or run again with --write to merge it in.",
            file.display(),
            client.label()
        );
        return Ok(());
    }
    if merge_into(&file, servers)? {
        eprintln!("Restart {} to load the change.", client.label());
    }
    Ok(())
}

/// Merge `servers` into the `mcpServers` of the JSON file at `file`,
/// creating it if absent, after backing it up. A link is followed: its
/// target is what changes (a dotfiles link stays a link). Only the entries
/// for `servers` change, byte for byte, and in an entry that is there only
/// the fields the bridge sets: what the person added to it (`env`, …) is
/// kept as written. The file keeps its mode (a new one is 0600: its other
/// entries' `env` may hold secrets), and is replaced by a new file made
/// exclusively next to it, then renamed. False when the file already had
/// the entries as they are: then nothing is written and no backup made.
fn merge_into(file: &Path, servers: Map<String, Value>) -> Result<bool, CliError> {
    let fail = |what: String| CliError::Failed(what);
    let target = real_path(file).map_err(fail)?;
    let existing = match std::fs::read_to_string(&target) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(fail(format!("cannot read {}: {e}", file.display()))),
    };
    let untouched = |why: String| {
        fail(format!(
            "{} {why}; it was left untouched. Fix it, or add the entry by hand (run without --write to print it)",
            file.display()
        ))
    };
    let mut text = match existing.as_deref().filter(|t| !t.trim().is_empty()) {
        None => "{}\n".to_string(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(doc)) if doc.get("mcpServers").is_some_and(|s| !s.is_object()) => {
                return Err(untouched("has an `mcpServers` that is not a JSON object".into()));
            }
            Ok(Value::Object(_)) => text.to_string(),
            Ok(_) => return Err(untouched("is not a JSON object".into())),
            Err(e) => return Err(untouched(format!("is not valid JSON ({e})"))),
        },
    };
    let not_understood = || untouched("could not be edited in place".into());
    let top = json_edit::top(&text).ok_or_else(not_understood)?;
    if json_edit::member_at(&text, top, "mcpServers").is_none() {
        text = json_edit::set_member(&text, top, "mcpServers", &json!({})).ok_or_else(not_understood)?;
    }
    // The entries as they are (of a key written twice, the last, as
    // `json_edit` and JSON readers take it).
    let old_servers = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(mut doc)) => match doc.remove("mcpServers") {
            Some(Value::Object(servers)) => servers,
            _ => Map::new(),
        },
        _ => Map::new(),
    };
    let mut report = Vec::new();
    let mut changed = false;
    for (name, value) in servers {
        let at = json_edit::member_at(&text, top, "mcpServers").ok_or_else(not_understood)?;
        // An entry replaced keeps what the person added to it (`env`, …).
        let old = old_servers.get(&name);
        let verb = match old {
            Some(old) if *old == keep_other_fields(Some(old), value.clone()) => "kept",
            Some(_) => "updated",
            None => "added",
        };
        match (old, &value) {
            _ if verb == "kept" => {}
            // Only the fields the bridge sets, each in place.
            (Some(Value::Object(old)), Value::Object(fields)) => {
                for (key, field) in fields {
                    if old.get(key) == Some(field) {
                        continue;
                    }
                    let entry = json_edit::member_at(&text, at, &name).ok_or_else(not_understood)?;
                    text = json_edit::set_member(&text, entry, key, field).ok_or_else(not_understood)?;
                }
            }
            _ => text = json_edit::set_member(&text, at, &name, &value).ok_or_else(not_understood)?,
        }
        changed |= verb != "kept";
        report.push(format!("{verb} `{name}`"));
    }
    if !changed {
        crate::outln!("{} already up to date; nothing written", file.display());
        return Ok(false);
    }
    let dir = match target.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => dir.to_path_buf(),
        None => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
    let mode = mode_of(&target).unwrap_or(0o600);
    if let Some(old) = &existing {
        let backup = backup_path(file);
        let saved = crate::store::create_new(&backup, mode).and_then(|mut f| f.write_all(old.as_bytes()));
        saved.map_err(|e| {
            fail(format!(
                "cannot back up {} to {}: {e}",
                file.display(),
                backup.display()
            ))
        })?;
        eprintln!("Backed up {} to {}", file.display(), backup.display());
    }
    let stem = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (tmp, mut f) = crate::store::create_temp(&dir, &stem, mode)
        .map_err(|e| fail(format!("cannot write in {}: {e}", dir.display())))?;
    let written = f.write_all(text.as_bytes()).and_then(|()| f.sync_all());
    drop(f);
    written.and_then(|()| std::fs::rename(&tmp, &target)).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(format!("cannot write {}: {e}", file.display()))
    })?;
    crate::outln!("{} in {}", report.join(", "), file.display());
    Ok(true)
}

/// The new entry, with the fields of the entry it replaces that it does not
/// set itself (`env`, `cwd`, a client's own keys) kept as they were.
fn keep_other_fields(old: Option<&Value>, new: Value) -> Value {
    match (old, new) {
        (Some(Value::Object(old)), Value::Object(new)) => {
            let mut merged = old.clone();
            for (k, v) in new {
                merged.insert(k, v);
            }
            Value::Object(merged)
        }
        (_, new) => new,
    }
}

/// Variables a desktop client never gets from a shell profile, so a
/// `${VAR}` of theirs is no worry.
const ALWAYS_SET: &[&str] = &["HOME", "USER", "LOGNAME", "USERPROFILE", "APPDATA", "LOCALAPPDATA"];

/// Warn when a server the entry starts reads a `${VAR}` from the
/// environment: a desktop app does not read the shell profile it is usually
/// set in. Says both fixes: a file or command source for the secret, or an
/// `env` block in the entry (not warned about when the client's file has
/// one that sets it).
fn warn_unseen_env(config: &Config, names: &[String], client: Client, file: &Path) {
    let in_file = env_in_file(file);
    for name in names {
        let servers = match config.bundles.get(name) {
            Some(b) => b.servers.clone(),
            None => vec![name.clone()],
        };
        for server in servers {
            let Some(entry) = config.servers.get(&server) else {
                continue;
            };
            for (key, value) in super::probe::indirect_values(entry) {
                let text = match value {
                    crate::config::ConfigValue::Text(t) => t.clone(),
                    crate::config::ConfigValue::File { file } => file.to_string_lossy().into_owned(),
                    _ => continue,
                };
                for var in env_vars(&text) {
                    let set_there = in_file.get(name).is_some_and(|env| env.contains(&var));
                    if ALWAYS_SET.contains(&var.as_str()) || set_there {
                        continue;
                    }
                    eprintln!(
                        "Note: {} does not read your shell profile, so `{server}` will not see {var} (`{key}` of \
                         [servers.{server}] reads \"${{{var}}}\"). To fix, either:\n  \
                         - keep the secret in a file or a password manager instead: {key} = {{ file = \"~/.secrets/{server}-{key}\" }} \
                         or {key} = {{ command = [\"op\", \"read\", \"op://…\"] }}, or\n  \
                         - add it to the `{name}` entry in {}: \"env\": {{ \"{var}\": \"…\" }} (install --write keeps it)",
                        client.label(),
                        file.display()
                    );
                }
            }
        }
    }
}

/// The names of the `${VAR}`s in `text` (not `$${`, a literal).
fn env_vars(text: &str) -> Vec<String> {
    let mut vars = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        let after = &rest[at..];
        if let Some(literal) = after.strip_prefix("$${") {
            rest = literal;
        } else if let Some(body) = after.strip_prefix("${") {
            let Some(end) = body.find('}') else { break };
            vars.push(body[..end].to_string());
            rest = &body[end + 1..];
        } else {
            rest = &after[1..];
        }
    }
    vars
}

/// The variables the `env` block of each entry in the client's file sets
/// (nothing for a file that is absent or not JSON).
fn env_in_file(file: &Path) -> std::collections::HashMap<String, Vec<String>> {
    let doc: Value = std::fs::read_to_string(file)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    doc["mcpServers"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, entry)| {
            let vars = entry["env"].as_object().into_iter().flatten().map(|(k, _)| k.clone());
            (name.clone(), vars.collect())
        })
        .collect()
}

/// The file a write to `file` changes: `file` itself, or the file its
/// link (a chain of them) points at, which may not exist yet.
fn real_path(file: &Path) -> Result<PathBuf, String> {
    let mut path = file.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                let to =
                    std::fs::read_link(&path).map_err(|e| format!("cannot read the link {}: {e}", path.display()))?;
                path = match path.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
            }
            _ => return Ok(path),
        }
    }
    Err(format!("{} is a chain of links too long to follow", file.display()))
}

/// The permission bits of `path`, if it exists.
#[cfg(unix)]
fn mode_of(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).ok().map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn mode_of(_path: &Path) -> Option<u32> {
    None
}

/// `<file>.bak-<YYYYMMDD-HHMMSS>` (UTC), with `-2`, `-3`… if taken.
fn backup_path(file: &Path) -> PathBuf {
    let stamp = timestamp(crate::store::now());
    let base = format!("{}.bak-{stamp}", file.display());
    let mut candidate = PathBuf::from(&base);
    let mut n = 1;
    while candidate.exists() {
        n += 1;
        candidate = PathBuf::from(format!("{base}-{n}"));
    }
    candidate
}

/// `secs` since the epoch as `YYYYMMDD-HHMMSS` (UTC).
fn timestamp(secs: u64) -> String {
    let (y, mo, d, h, m, s) = crate::store::utc_parts(secs);
    format!("{y:04}{mo:02}{d:02}-{h:02}{m:02}{s:02}")
}

#[cfg(test)]
mod tests;
