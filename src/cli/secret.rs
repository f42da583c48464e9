//! `secret set|get|delete <service/account>`: the OS keychain entries that
//! `{ keyring = "service/account" }` config values read.
//!
//! `set` never takes the secret on the command line (it would sit in the
//! shell's history and in every process listing): it asks at a prompt that
//! does not echo, or, when stdin is not a terminal (a script, a pipe), reads
//! stdin to its end, dropping one final newline.

use super::CliError;
use crate::config::keychain::{self, KeychainError, SecretName};
use std::io::{IsTerminal, Read};

fn name(text: &str) -> Result<SecretName, CliError> {
    SecretName::parse(text).map_err(CliError::Usage)
}

fn failed(e: KeychainError) -> CliError {
    CliError::Failed(e.to_string())
}

pub fn set(text: &str) -> Result<(), CliError> {
    let name = name(text)?;
    let value = read_value(&name)?;
    keychain::set(&name, &value).map_err(failed)?;
    crate::outln!("Stored `{name}` in the {}.", keychain::STORE);
    eprintln!("Use it in the config as {{ keyring = \"{name}\" }}.");
    Ok(())
}

pub fn get(text: &str) -> Result<(), CliError> {
    let name = name(text)?;
    let value = keychain::get(&name).map_err(failed)?;
    crate::outln!("{value}");
    Ok(())
}

pub fn delete(text: &str) -> Result<(), CliError> {
    let name = name(text)?;
    keychain::delete(&name).map_err(failed)?;
    crate::outln!("Removed `{name}` from the {}.", keychain::STORE);
    Ok(())
}

/// The secret, from a prompt with no echo, or from stdin when it is not a
/// terminal.
fn read_value(name: &SecretName) -> Result<String, CliError> {
    let value = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("Secret for {name} (not shown): "))
            .map_err(|e| CliError::Failed(format!("cannot read the secret from the terminal: {e}")))?
    } else {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::Failed(format!("cannot read the secret from stdin: {e}")))?;
        let trimmed = text.strip_suffix('\n').unwrap_or(&text);
        trimmed.strip_suffix('\r').unwrap_or(trimmed).to_string()
    };
    if value.is_empty() {
        return Err(CliError::Usage(format!(
            "nothing to store for `{name}`: type the secret at the prompt, or pipe it in on stdin"
        )));
    }
    Ok(value)
}
