//! Config values that may hold secrets, and their resolution.
//!
//! A value is a string (in which `${VAR}` is replaced from the environment),
//! `{ command = ["prog", "arg"] }` (run once, stdout trimmed, cached for the
//! process), `{ file = "path" }` (read and trimmed), or
//! `{ keyring = "service/account" }` (read from the OS keychain once, cached
//! for the process; see `keychain`). Resolution errors name the server and
//! key and never include the secret itself.

use super::keychain::{self, SecretName};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum ConfigValue {
    Text(String),
    Command { command: Vec<String> },
    File { file: PathBuf },
    Keyring { keyring: String },
}

impl ConfigValue {
    /// The literal text, if this value is a plain string.
    pub fn as_literal(&self) -> Option<&str> {
        match self {
            ConfigValue::Text(t) => Some(t),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("server `{server}`, key `{key}`: {problem}")]
pub struct ResolveError {
    pub server: String,
    pub key: String,
    pub problem: String,
}

/// Resolves `ConfigValue`s, caching command output and keychain reads for
/// the process.
#[derive(Default)]
pub struct Resolver {
    commands: Mutex<HashMap<Vec<String>, String>>,
    keychain: Mutex<HashMap<SecretName, String>>,
}

impl Resolver {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn resolve(&self, server: &str, key: &str, value: &ConfigValue) -> Result<String, ResolveError> {
        let fail = |problem: String| ResolveError {
            server: server.to_string(),
            key: key.to_string(),
            problem,
        };
        match value {
            ConfigValue::Text(t) => interpolate(t).map_err(fail),
            ConfigValue::File { file } => {
                let path = interpolate(&file.to_string_lossy()).map_err(fail)?;
                let path = expand_home(&path);
                std::fs::read_to_string(&path)
                    .map(|s| s.trim().to_string())
                    .map_err(|e| fail(format!("cannot read file {}: {e}", path.display())))
            }
            ConfigValue::Command { command } => {
                if let Some(hit) = self.commands.lock().unwrap_or_else(|e| e.into_inner()).get(command) {
                    return Ok(hit.clone());
                }
                let Some((prog, args)) = command.split_first() else {
                    return Err(fail("`command` is empty; give the program and its arguments".into()));
                };
                let out = std::process::Command::new(prog)
                    .args(args)
                    .stdin(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .output()
                    .map_err(|e| fail(format!("cannot run `{prog}`: {e}")))?;
                if !out.status.success() {
                    return Err(fail(format!("`{prog}` failed ({})", out.status)));
                }
                let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
                if text.is_empty() {
                    return Err(fail(format!("`{prog}` printed nothing")));
                }
                self.commands
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(command.clone(), text.clone());
                Ok(text)
            }
            ConfigValue::Keyring { keyring } => {
                let name = SecretName::parse(keyring).map_err(fail)?;
                if let Some(hit) = self.keychain.lock().unwrap_or_else(|e| e.into_inner()).get(&name) {
                    return Ok(hit.clone());
                }
                let secret = keychain::get(&name).map_err(|e| fail(e.to_string()))?;
                self.keychain
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(name, secret.clone());
                Ok(secret)
            }
        }
    }
}

fn expand_home(p: &str) -> PathBuf {
    if let Some(rest) = p.strip_prefix("~/")
        && let Some(home) = directories::BaseDirs::new()
    {
        return home.home_dir().join(rest);
    }
    PathBuf::from(p)
}

/// The names of the `${VAR}`s in `text` (not `$${`, a literal), in order.
pub fn variables(text: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        let after = &rest[pos..];
        if let Some(literal) = after.strip_prefix("$${") {
            rest = literal;
        } else if let Some(body) = after.strip_prefix("${") {
            let end = body
                .find('}')
                .ok_or_else(|| "unclosed `${` (write `$${` for a literal)".to_string())?;
            names.push(body[..end].to_string());
            rest = &body[end + 1..];
        } else {
            rest = &after[1..];
        }
    }
    Ok(names)
}

/// Replace each `${VAR}` with the environment variable's value. `$${` stays a
/// literal `${`. A missing variable is an error naming it.
pub fn interpolate(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(literal) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = literal;
        } else if let Some(body) = after.strip_prefix("${") {
            let end = body
                .find('}')
                .ok_or_else(|| "unclosed `${` (write `$${` for a literal)".to_string())?;
            let name = &body[..end];
            let val = std::env::var(name).map_err(|_| format!("environment variable `{name}` is not set"))?;
            out.push_str(&val);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation() {
        // SAFETY: test-only, unique variable name.
        unsafe { std::env::set_var("MCPB_TEST_VAR", "v4lue") };
        assert_eq!(interpolate("a${MCPB_TEST_VAR}b").unwrap(), "av4lueb");
        assert_eq!(interpolate("$${X} $5").unwrap(), "${X} $5");
        assert!(
            interpolate("${MCPB_SURELY_UNSET_VAR}")
                .unwrap_err()
                .contains("MCPB_SURELY_UNSET_VAR")
        );
        assert!(interpolate("${OPEN").is_err());
        assert_eq!(variables("a${A}b$${X}${B_2}$").unwrap(), ["A", "B_2"]);
        assert!(variables("${OPEN").is_err());
    }

    #[test]
    fn command_and_file_sources() {
        let r = Resolver::new();
        // A program that prints its arguments, and one that fails.
        let (echo, fail): (&[&str], &[&str]) = if cfg!(windows) {
            (&["cmd", "/c", "echo"], &["cmd", "/c", "exit", "1"])
        } else {
            (&["echo"], &["false"])
        };
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut command = words(echo);
        // Spaces around it (or, from cmd's echo, the \r\n after it) are trimmed;
        // Windows would quote an argument with spaces, and cmd would echo the quotes.
        command.push(
            if cfg!(windows) {
                "s3cr3t-from-cmd"
            } else {
                " s3cr3t-from-cmd "
            }
            .into(),
        );
        let v = ConfigValue::Command { command };
        assert_eq!(r.resolve("s", "k", &v).unwrap(), "s3cr3t-from-cmd");
        let bad = ConfigValue::Command { command: words(fail) };
        let e = r.resolve("srv", "bearer", &bad).unwrap_err().to_string();
        assert!(e.contains("srv") && e.contains("bearer"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("tok");
        std::fs::write(&f, "filetoken\n").unwrap();
        assert_eq!(
            r.resolve("s", "k", &ConfigValue::File { file: f }).unwrap(),
            "filetoken"
        );
        let missing = ConfigValue::File {
            file: dir.path().join("nope"),
        };
        assert!(
            r.resolve("s", "token", &missing)
                .unwrap_err()
                .to_string()
                .contains("token")
        );
    }
}
