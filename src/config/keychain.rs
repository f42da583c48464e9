//! The OS keychain as a place for secrets: `{ keyring = "service/account" }`
//! in the config, and `mcp-bridge secret set|get|delete service/account`.
//!
//! The store is the platform's own (through the `keyring` crate): Keychain
//! on macOS, Credential Manager on Windows, the Secret Service (GNOME
//! Keyring, KWallet, KeePassXC) on Linux. Each call runs on a thread of its
//! own, so a store that drives D-Bus with its own executor never meets the
//! caller's async runtime. Errors name the secret and what to do, and never
//! hold the secret (nor the bytes of one that is not text).

use std::fmt;

/// One secret in the keychain: a service and an account, written
/// `service/account` (the first `/` separates them).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretName {
    pub service: String,
    pub account: String,
}

impl SecretName {
    pub fn parse(text: &str) -> Result<SecretName, String> {
        match text.split_once('/') {
            Some((service, account)) if !service.trim().is_empty() && !account.trim().is_empty() => Ok(SecretName {
                service: service.to_string(),
                account: account.to_string(),
            }),
            _ => Err(format!(
                "`{text}` is not a keychain entry: write \"service/account\", e.g. \"mcp-bridge/zapier-token\""
            )),
        }
    }
}

impl fmt::Display for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.service, self.account)
    }
}

/// Why the keychain did not give (or take) a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeychainError {
    /// The store answered: it has no such entry.
    #[error("the OS keychain has no secret `{0}`; store it with `mcp-bridge secret set {0}`")]
    Missing(SecretName),
    /// The store could not be reached, or refused access (locked, no
    /// Secret Service running, access denied).
    #[error("cannot reach the OS keychain ({store}) for secret `{name}`: {why}. {hint}")]
    Unreachable {
        name: SecretName,
        store: &'static str,
        why: String,
        hint: &'static str,
    },
    /// The entry holds something that is not UTF-8 text, or the name is
    /// not one the store accepts.
    #[error("the OS keychain entry `{name}` {why}")]
    Unusable { name: SecretName, why: String },
}

/// The platform's store, in words.
pub const STORE: &str = if cfg!(target_os = "macos") {
    "macOS Keychain"
} else if cfg!(windows) {
    "Windows Credential Manager"
} else {
    "Secret Service"
};

const HINT: &str = if cfg!(target_os = "macos") {
    "Unlock the login keychain (Keychain Access) and allow mcp-bridge to use it, or give this value with `${ENV}`, `{ command = [...] }` or `{ file = ... }` instead"
} else if cfg!(windows) {
    "Check that you are signed in to Windows as the user who stored it, or give this value with `${ENV}`, `{ command = [...] }` or `{ file = ... }` instead"
} else {
    "Start and unlock a Secret Service in this session (GNOME Keyring, KWallet or KeePassXC; in a headless shell: `dbus-run-session` and `gnome-keyring-daemon --unlock`), or give this value with `${ENV}`, `{ command = [...] }` or `{ file = ... }` instead"
};

/// The secret stored under `name`.
pub fn get(name: &SecretName) -> Result<String, KeychainError> {
    on_own_thread(name, |entry| entry.get_password())
}

/// Store `value` under `name`, replacing what was there.
pub fn set(name: &SecretName, value: &str) -> Result<(), KeychainError> {
    on_own_thread(name, |entry| entry.set_password(value))
}

/// Remove `name`; `Missing` if there was none.
pub fn delete(name: &SecretName) -> Result<(), KeychainError> {
    on_own_thread(name, |entry| entry.delete_credential())
}

fn on_own_thread<T: Send>(
    name: &SecretName,
    op: impl FnOnce(&keyring::Entry) -> keyring::Result<T> + Send,
) -> Result<T, KeychainError> {
    let outcome = std::thread::scope(|scope| {
        scope
            .spawn(|| keyring::Entry::new(&name.service, &name.account).and_then(|entry| op(&entry)))
            .join()
    });
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(explain(name, e)),
        Err(_) => Err(unreachable(name, "the keychain library failed".into())),
    }
}

fn unreachable(name: &SecretName, why: String) -> KeychainError {
    KeychainError::Unreachable {
        name: name.clone(),
        store: STORE,
        why,
        hint: HINT,
    }
}

/// The store's error as a `KeychainError`. The variants that carry the
/// entry's bytes are never formatted.
fn explain(name: &SecretName, e: keyring::Error) -> KeychainError {
    use keyring::Error as E;
    let unusable = |why: String| KeychainError::Unusable {
        name: name.clone(),
        why,
    };
    match e {
        E::NoEntry => KeychainError::Missing(name.clone()),
        E::NoDefaultStore => unreachable(name, "no keychain could be opened on this system".into()),
        E::NoStorageAccess(inner) => unreachable(name, format!("access refused ({inner})")),
        E::PlatformFailure(inner) => unreachable(name, inner.to_string()),
        E::BadEncoding(_) => unusable(format!(
            "does not hold UTF-8 text; store it again with `mcp-bridge secret set {name}`"
        )),
        E::BadDataFormat(_, _) | E::BadStoreFormat(_) => unusable(format!(
            "is not in the form this store expects; store it again with `mcp-bridge secret set {name}`"
        )),
        E::TooLong(what, limit) => unusable(format!("has a {what} longer than the store allows ({limit})")),
        E::Invalid(what, why) => unusable(format!("cannot be used: {what} {why}")),
        E::Ambiguous(_) => unusable(format!(
            "matches several entries in the keychain; remove the extra ones (`mcp-bridge secret delete {name}`) and store it again"
        )),
        E::NotSupportedByStore(why) => unusable(format!("cannot be used with this store: {why}")),
        _ => unreachable(name, "the keychain returned an unexpected error".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_name_is_service_slash_account() {
        let n = SecretName::parse("mcp-bridge/zapier/work").unwrap();
        assert_eq!((n.service.as_str(), n.account.as_str()), ("mcp-bridge", "zapier/work"));
        assert_eq!(n.to_string(), "mcp-bridge/zapier/work");
        for bad in ["", "service", "/account", "service/", " /x"] {
            let e = SecretName::parse(bad).unwrap_err();
            assert!(e.contains("service/account"), "{bad}: {e}");
        }
    }

    #[test]
    fn errors_name_the_secret_and_never_its_bytes() {
        let name = SecretName::parse("svc/acct").unwrap();
        let bytes = explain(&name, keyring::Error::BadEncoding(b"s3cr3t-bytes".to_vec())).to_string();
        assert!(bytes.contains("svc/acct") && !bytes.contains("s3cr3t"), "{bytes}");
        let missing = explain(&name, keyring::Error::NoEntry).to_string();
        assert!(missing.contains("mcp-bridge secret set svc/acct"), "{missing}");
        let down = explain(&name, keyring::Error::NoDefaultStore).to_string();
        assert!(
            down.contains("svc/acct") && down.contains(STORE) && down.contains("instead"),
            "{down}"
        );
    }
}
