//! Config values that may hold secrets, and their resolution.
//!
//! A value is a string (in which `${VAR}` is replaced from the environment),
//! `{ command = ["prog", "arg"] }` (run once per process, stdout trimmed;
//! stopped after `$MCP_BRIDGE_COMMAND_TIMEOUT` seconds, 30 by default, and
//! its stderr shown when it fails), `{ file = "path" }` (read and trimmed),
//! or `{ keyring = "service/account" }` (read from the OS keychain once,
//! cached for the process; see `keychain`). Resolution errors name the
//! server and key and never include the secret itself.

use super::keychain::{self, SecretName};
use serde::Deserialize;
use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

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

/// Resolves `ConfigValue`s, caching what each command gave and each
/// keychain read for the process.
#[derive(Default)]
pub struct Resolver {
    commands: Mutex<HashMap<Vec<String>, Result<String, String>>>,
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
                // Run once per process, whatever it gives: a command that
                // failed or hung is not run (or waited for) again.
                let mut ran = self.commands.lock().unwrap_or_else(|e| e.into_inner());
                let got = ran.entry(command.clone()).or_insert_with(|| run_command(command));
                got.clone().map_err(fail)
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

/// Environment variable: how many seconds a `{ command = [...] }` may run.
pub const COMMAND_TIMEOUT_ENV: &str = "MCP_BRIDGE_COMMAND_TIMEOUT";
/// How long a command may run unless `$MCP_BRIDGE_COMMAND_TIMEOUT` says
/// otherwise: time for a password manager to ask for a fingerprint, within
/// the minute a desktop client waits for `initialize`.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// The most of a command's stderr an error shows (its end: where tools say
/// what went wrong).
const STDERR_SHOWN: usize = 600;

/// Run `command` (its pipes read on threads of their own, so a chatty
/// command never blocks on a full pipe) and wait for it up to the timeout,
/// then kill it: its stdout, trimmed, or what went wrong, with the end of
/// its stderr (escaped, and with what it printed on stdout, the secret,
/// taken out).
fn run_command(command: &[String]) -> Result<String, String> {
    let Some((prog, args)) = command.split_first() else {
        return Err("`command` is empty; give the program and its arguments".into());
    };
    let timeout = command_timeout();
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{prog}`: {e}"))?;
    let stdout = read_on_thread(child.stdout.take());
    let stderr = read_on_thread(child.stderr.take());
    let status = wait(&mut child, Instant::now() + timeout);
    let finished = !matches!(status, Err(Waited::TimedOut));
    // A grandchild may hold the pipes open: take what came within a moment.
    let out = stdout.recv_timeout(PIPE_GRACE).unwrap_or_default();
    let err = stderr.recv_timeout(PIPE_GRACE).unwrap_or_default();
    let text = String::from_utf8_lossy(&out).trim().to_string();
    let said = said(&err, &text);
    match status.ok() {
        _ if !finished => Err(format!(
            "`{prog}` did not finish within {}s and was stopped (raise ${COMMAND_TIMEOUT_ENV} if it needs longer){said}",
            timeout.as_secs_f64()
        )),
        Some(s) if !s.success() => Err(format!("`{prog}` failed ({s}){said}")),
        None => Err(format!("`{prog}` could not be waited for{said}")),
        Some(_) if text.is_empty() => Err(format!("`{prog}` printed nothing{said}")),
        Some(_) => Ok(text),
    }
}

/// How long a pipe is still read once its command has ended.
const PIPE_GRACE: Duration = Duration::from_millis(500);

/// The command's timeout: `$MCP_BRIDGE_COMMAND_TIMEOUT` seconds (1ms to
/// 24h), else the default.
fn command_timeout() -> Duration {
    let Ok(text) = std::env::var(COMMAND_TIMEOUT_ENV) else {
        return COMMAND_TIMEOUT;
    };
    let parsed = text.trim().parse::<f64>().ok().and_then(super::duration_from_secs);
    parsed.unwrap_or_else(|| {
        tracing::warn!(
            "ignoring ${COMMAND_TIMEOUT_ENV}: not a number of seconds from 0.001 to 86400; waiting {}s",
            COMMAND_TIMEOUT.as_secs()
        );
        COMMAND_TIMEOUT
    })
}

/// Read `pipe` to its end on a thread; the bytes come through the channel.
fn read_on_thread(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    if let Some(mut pipe) = pipe {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            let _ = tx.send(buf);
        });
    }
    rx
}

enum Waited {
    TimedOut,
    Failed,
}

/// Wait for `child` until `deadline`, then kill it.
fn wait(child: &mut Child, deadline: Instant) -> Result<std::process::ExitStatus, Waited> {
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Waited::TimedOut);
            }
            Ok(None) => {
                std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
                pause = (pause * 2).min(Duration::from_millis(25));
            }
            Err(_) => return Err(Waited::Failed),
        }
    }
}

/// `: it said "…"`, the end of `stderr` shown safely, or nothing.
fn said(stderr: &[u8], secret: &str) -> String {
    let mut text = String::from_utf8_lossy(stderr).trim().to_string();
    for s in std::iter::once(secret).chain(secret.lines()).map(str::trim) {
        if s.len() >= 4 {
            text = text.replace(s, "[redacted]");
        }
    }
    if text.is_empty() {
        return String::new();
    }
    let chars = text.chars().count();
    let tail: String = text.chars().skip(chars.saturating_sub(STDERR_SHOWN)).collect();
    let cut = if chars > STDERR_SHOWN { "…" } else { "" };
    format!("; it said: \"{cut}{}\"", crate::untrusted::escape(&tail))
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

/// The values of the environment variables `${VAR}` in `text` names (the
/// parts of an interpolated value that came from outside the config).
pub fn variable_values(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        let after = &rest[pos..];
        if let Some(literal) = after.strip_prefix("$${") {
            rest = literal;
        } else if let Some(body) = after.strip_prefix("${")
            && let Some(end) = body.find('}')
        {
            found.extend(std::env::var(&body[..end]).ok());
            rest = &body[end + 1..];
        } else {
            rest = &after[1..];
        }
    }
    found
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
