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
        // Echo goes off before the prompt shows, so nothing typed once the
        // prompt is up is ever echoed (rpassword turns it off only after).
        #[cfg(unix)]
        let quiet = quiet::EchoOff::on_the_terminal();
        let typed = rpassword::prompt_password(format!("Secret for {name} (not shown): "));
        #[cfg(unix)]
        drop(quiet);
        typed.map_err(|e| match e.kind() {
            std::io::ErrorKind::Interrupted => CliError::Failed("cancelled at the prompt: nothing was stored".into()),
            _ => CliError::Failed(format!("cannot read the secret from the terminal: {e}")),
        })?
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

#[cfg(unix)]
mod quiet {
    //! The controlling terminal in rpassword's raw mode (no echo), for as
    //! long as the guard lives, so the prompt shows only once typing is safe.

    use std::fs::File;
    use std::os::fd::AsRawFd;

    pub struct EchoOff {
        tty: File,
        before: libc::termios,
        /// SIGINT's action before the guard: Ctrl-C at the prompt makes
        /// rpassword put back the terminal as it found it (echo off, by
        /// this guard) and raise SIGINT, which would end the process before
        /// this guard puts echo back. Ignored while the guard lives, it
        /// makes the prompt return `Interrupted` instead; the guard then
        /// restores the terminal, and this action (so Ctrl-C stops the rest
        /// of the command, such as a keychain that does not answer).
        interrupt_before: libc::sigaction,
    }

    impl EchoOff {
        /// `None` when there is no terminal to quiet: the prompt then works
        /// as rpassword alone does.
        pub fn on_the_terminal() -> Option<EchoOff> {
            let tty = File::options().read(true).write(true).open("/dev/tty").ok()?;
            let fd = tty.as_raw_fd();
            // SAFETY: `fd` is open for as long as `tty` lives, and `before`
            // is a plain C struct that tcgetattr fills in whole on success.
            let mut before: libc::termios = unsafe { std::mem::zeroed() };
            if unsafe { libc::tcgetattr(fd, &mut before) } != 0 {
                return None;
            }
            // As rpassword sets it, so the two agree from the first key:
            // no echo, each key read as it comes, Ctrl-C a key (not a
            // signal from the terminal) that rpassword sees and handles.
            let mut quiet = before;
            quiet.c_lflag &= !(libc::ECHO | libc::ICANON | libc::ECHONL | libc::ISIG);
            quiet.c_cc[libc::VMIN] = 1;
            quiet.c_cc[libc::VTIME] = 0;
            // SAFETY: zeroed `sigaction`s are valid (no handler, empty
            // mask, no flags); `ignore` is set to SIG_IGN, and sigaction
            // fills `interrupt_before` whole when it succeeds.
            let mut ignore: libc::sigaction = unsafe { std::mem::zeroed() };
            ignore.sa_sigaction = libc::SIG_IGN;
            let mut interrupt_before: libc::sigaction = unsafe { std::mem::zeroed() };
            if unsafe { libc::sigaction(libc::SIGINT, &ignore, &mut interrupt_before) } != 0 {
                return None;
            }
            // SAFETY: as above; `quiet` is a valid termios read from `fd`.
            if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) } != 0 {
                // SAFETY: `interrupt_before` is the action sigaction returned.
                unsafe { libc::sigaction(libc::SIGINT, &interrupt_before, std::ptr::null_mut()) };
                return None;
            }
            Some(EchoOff {
                tty,
                before,
                interrupt_before,
            })
        }
    }

    impl Drop for EchoOff {
        fn drop(&mut self) {
            // SAFETY: the descriptor is still open; `before` came from it,
            // and `interrupt_before` is the action sigaction returned.
            unsafe {
                libc::tcsetattr(self.tty.as_raw_fd(), libc::TCSANOW, &self.before);
                libc::sigaction(libc::SIGINT, &self.interrupt_before, std::ptr::null_mut());
            }
        }
    }
}
