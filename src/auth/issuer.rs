//! The issuer rules, in one place: which authorization server a metadata
//! document, and a browser coming back from a sign-in, belong to.
//!
//! - RFC 8414 §3.3 (OpenID Connect Discovery §4.3): the metadata's `issuer`
//!   must be identical to the issuer identifier its well-known URL was built
//!   from (the entry of the protected-resource metadata's
//!   `authorization_servers`, or the MCP origin for a 2025-03-26 server).
//!   Metadata without `issuer` is not used.
//! - RFC 9207: an `iss` in the authorization response must be identical to
//!   the issuer the sign-in started with, and is required when that server's
//!   metadata sets `authorization_response_iss_parameter_supported`. What it
//!   must equal and whether it is required are taken from rmcp's record of the
//!   authorization request (`StoredAuthorizationState`); the comparison is
//!   written here because rmcp's is private to its code exchange, which the
//!   bridge does not use (see `token`).
//!
//! - `authorization_server` in the config: the issuer discovery finds must
//!   be identical to it (`check_pinned`), so a configured client's secret
//!   or key goes to no other.
//!
//! All three compare the strings exactly: no case folding, default-port elision,
//! trailing-slash or percent-encoding normalisation.

use rmcp::transport::auth::AuthorizationMetadata;

/// What the authorization response must say about its issuer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    /// The issuer of the metadata the sign-in started from, if it named one.
    pub issuer: Option<String>,
    /// The server advertised `authorization_response_iss_parameter_supported`.
    pub required: bool,
}

/// A remote-supplied string as it may appear in a message: control
/// characters escaped, so it cannot forge lines.
fn shown(s: &str) -> String {
    s.escape_debug().to_string()
}

/// `authorization_server` in the config: the issuer discovery `found` must
/// be the `pinned` one, which the configured client belongs to.
pub fn check_pinned(server: &str, pinned: &str, found: Option<&str>) -> Result<(), String> {
    if found == Some(pinned) {
        return Ok(());
    }
    let named = match found {
        Some(issuer) => format!("the authorization server `{}`", shown(issuer)),
        None => "no authorization server (it publishes no metadata)".to_string(),
    };
    Err(format!(
        "server `{server}` names {named}, not the `authorization_server` of its config (`{}`); \
         nothing was sent to it. Fix `authorization_server` in [servers.{server}] if the server \
         really moved",
        shown(pinned)
    ))
}

/// RFC 8414 §3.3: `metadata`, fetched from `url`, belongs to `identifier`.
pub fn check_metadata(identifier: &str, metadata: &AuthorizationMetadata, url: &url::Url) -> Result<(), String> {
    match metadata.issuer.as_deref() {
        Some(published) if published == identifier => Ok(()),
        Some(published) => Err(format!(
            "the authorization-server metadata at {url} names the issuer `{}`, not `{identifier}` \
             that it was looked up for; it is not used (RFC 8414 §3.3: it may be misconfigured or impersonated)",
            shown(published)
        )),
        None => Err(format!(
            "the authorization-server metadata at {url} names no `issuer`; it is not used (RFC 8414 §3.3 \
             requires one, so the bridge can tell which server it came from)"
        )),
    }
}

/// RFC 9207: the authorization response's `iss` (`received`) is the one expected.
pub fn check_response(expected: &Expected, received: Option<&str>) -> Result<(), String> {
    match (expected.issuer.as_deref(), received) {
        (Some(want), Some(got)) if got == want => Ok(()),
        (Some(want), Some(got)) => Err(format!(
            "the sign-in response says it comes from `{}`, not from `{want}` where the sign-in started; \
             it was refused (RFC 9207: a response from another authorization server may be a mix-up attack)",
            shown(got)
        )),
        (Some(want), None) if expected.required => Err(format!(
            "the sign-in response carries no `iss`, though `{want}` says it always sends one \
             (authorization_response_iss_parameter_supported); it was refused (RFC 9207)"
        )),
        (None, Some(got)) => Err(format!(
            "the sign-in response says it comes from `{}`, but the authorization server named no issuer \
             to compare it with; it was refused (RFC 9207)",
            shown(got)
        )),
        (None, None) if expected.required => Err(
            "the sign-in response carries no `iss` and the server named no issuer; it was refused (RFC 9207)".into(),
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expect(issuer: Option<&str>, required: bool) -> Expected {
        Expected {
            issuer: issuer.map(str::to_string),
            required,
        }
    }

    #[test]
    fn the_response_issuer_is_compared_as_a_plain_string() {
        let e = expect(Some("https://as.example"), true);
        assert!(check_response(&e, Some("https://as.example")).is_ok());
        for wrong in [
            "https://as.example/",
            "https://AS.example",
            "https://as.example:443",
            "https://evil.example",
        ] {
            assert!(check_response(&e, Some(wrong)).is_err(), "{wrong} must be refused");
        }
    }

    #[test]
    fn a_missing_iss_is_refused_only_where_the_server_promised_one() {
        assert!(check_response(&expect(Some("https://as.example"), true), None).is_err());
        assert!(check_response(&expect(Some("https://as.example"), false), None).is_ok());
        assert!(check_response(&expect(None, false), None).is_ok());
        assert!(check_response(&expect(None, false), Some("https://as.example")).is_err());
    }

    #[test]
    fn metadata_must_name_exactly_the_issuer_it_was_looked_up_for() {
        let url = url::Url::parse("https://as.example/.well-known/oauth-authorization-server").unwrap();
        let meta = |issuer: Option<&str>| {
            let mut m = AuthorizationMetadata::default();
            m.issuer = issuer.map(str::to_string);
            m
        };
        assert!(check_metadata("https://as.example", &meta(Some("https://as.example")), &url).is_ok());
        assert!(check_metadata("https://as.example", &meta(Some("https://as.example/")), &url).is_err());
        assert!(check_metadata("https://as.example", &meta(Some("https://as.example/other")), &url).is_err());
        let missing = check_metadata("https://as.example", &meta(None), &url).unwrap_err();
        assert!(missing.contains("names no `issuer`"), "{missing}");
    }
}
