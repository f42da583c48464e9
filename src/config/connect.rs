//! `[servers.<name>.connect]`: how a connect link is shown to the person
//! (`connect_link` does the showing). Every way is on by default except
//! opening the browser.

use serde::Deserialize;

/// The per-server connect-link settings.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectSettings {
    /// Lead the tool result with `Connect your <App> account to continue:`
    /// and the link, and put the link under the result's `_meta`.
    pub notice: bool,
    /// A warn line on stderr with the app and the link.
    pub log: bool,
    /// A `notifications/message` to a client that takes log messages.
    pub notify: bool,
    /// A URL-mode `elicitation/create` to a client that declared it.
    pub elicit: bool,
    /// Open the link in the default browser, once per app and token.
    pub open_browser: bool,
    /// Retry a call this many times when the answer says an account is
    /// required (the provider's answer is sometimes wrong).
    pub retry_on_account_required: u32,
}

impl Default for ConnectSettings {
    fn default() -> Self {
        Self {
            notice: true,
            log: true,
            notify: true,
            elicit: true,
            open_browser: false,
            retry_on_account_required: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let s: ConnectSettings = toml::from_str("").unwrap();
        assert_eq!(s, ConnectSettings::default());
        assert!(s.notice && s.log && s.notify && s.elicit && !s.open_browser);
        assert_eq!(s.retry_on_account_required, 1);
        let s: ConnectSettings = toml::from_str("open_browser = true\nretry_on_account_required = 0").unwrap();
        assert!(s.open_browser && s.notice);
        assert_eq!(s.retry_on_account_required, 0);
        assert!(toml::from_str::<ConnectSettings>("opne_browser = true").is_err());
    }
}
