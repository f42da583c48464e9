//! The two eras of MCP, and the bridge's translation between them.
//!
//! - **Legacy** revisions (2025-11-25 and earlier) open a session with an
//!   `initialize` handshake; the server may send requests of its own
//!   (elicitation, sampling, roots) in the middle of a call.
//! - **Modern** revisions (2026-07-28) have no handshake and no session:
//!   every request carries the protocol version, client info and client
//!   capabilities in `_meta`; `server/discover` tells what a server is; a
//!   server that needs input answers `resultType: "input_required"` and the
//!   client retries (MRTR); change notifications come on a
//!   `subscriptions/listen` stream; HTTP requests carry the standard headers.
//!
//! Desktop clients speak either era over stdio; remotes speak either over
//! HTTP. This module is the message work of joining them, and nothing else:
//! pure functions over JSON, no I/O. The remote side decides which era a
//! remote speaks (`probe`) and the relay applies the translation.
//!
//! - `meta`: the `_meta` keys and who the client is;
//! - `headers`: `Mcp-Method`, `Mcp-Name` and `Mcp-Param-*` (SEP-2243);
//! - `handshake`: an `initialize` answered from `server/discover` and back;
//! - `probe`: what an answer to `server/discover` says about a remote;
//! - `mrtr`: `input_required` results as client requests, and the retry;
//! - `listen`: `subscriptions/listen` for a legacy client's notifications.

pub mod handshake;
pub mod headers;
pub mod listen;
pub mod meta;
pub mod mrtr;
pub mod probe;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The modern revisions the bridge speaks, newest first.
pub const MODERN_VERSIONS: &[&str] = &["2026-07-28"];
/// The newest modern revision: what a probe asks for first.
pub const LATEST_MODERN: &str = MODERN_VERSIONS[0];
/// The legacy revisions the bridge serves to a client, newest first.
pub const LEGACY_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
/// The newest legacy revision.
pub const LATEST_LEGACY: &str = LEGACY_VERSIONS[0];

/// The headers did not match the body, or one was missing (-32020).
pub const HEADER_MISMATCH: i64 = -32020;
/// The server needs a client capability the request did not declare (-32021).
pub const MISSING_CAPABILITY: i64 = -32021;
/// The server does not speak the requested revision (-32022).
pub const UNSUPPORTED_VERSION: i64 = -32022;

pub fn is_modern(version: &str) -> bool {
    MODERN_VERSIONS.contains(&version)
}

pub fn is_legacy(version: &str) -> bool {
    LEGACY_VERSIONS.contains(&version)
}

/// Which era a remote speaks, as the bridge found it (and remembers it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "era", rename_all = "lowercase")]
pub enum Era {
    /// `initialize`, sessions, server→client requests.
    Legacy,
    /// Per-request `_meta` at `version`.
    Modern { version: String },
}

impl Era {
    pub fn is_modern(&self) -> bool {
        matches!(self, Era::Modern { .. })
    }
}

/// Whether `code` is one of the errors only a modern server sends: such an
/// error proves the server modern, whatever else went wrong.
pub fn is_modern_error(code: i64) -> bool {
    (UNSUPPORTED_VERSION..=HEADER_MISMATCH).contains(&code)
}

/// Whether an error body (text, perhaps cut short) names one of the
/// modern error codes.
pub fn names_modern_error(body: &str) -> bool {
    ["-32020", "-32021", "-32022"].iter().any(|code| body.contains(code))
}

/// What a modern error means, for a person reading it in a desktop client
/// (None for other codes). `data` is the error's `data` member.
pub fn explain(code: i64, message: &str, data: Option<&Value>) -> Option<String> {
    let list = |v: Option<&Value>| -> String {
        match v.and_then(Value::as_array) {
            Some(items) if !items.is_empty() => items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(", "),
            _ => "none named".into(),
        }
    };
    match code {
        HEADER_MISMATCH => Some(format!(
            "the server refused the request's MCP headers (-32020 header mismatch): {message}"
        )),
        MISSING_CAPABILITY => Some(format!(
            "the server needs a capability the desktop client did not declare (-32021): {} ({message})",
            list(data.and_then(|d| d.get("requiredCapabilities")))
        )),
        UNSUPPORTED_VERSION => Some(format!(
            "the server does not speak protocol version {} (-32022); it supports: {}",
            data.and_then(|d| d.get("requested"))
                .and_then(Value::as_str)
                .unwrap_or("the one asked for"),
            list(data.and_then(|d| d.get("supported")))
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn modern_errors_are_the_three_new_codes() {
        assert!(is_modern_error(-32020) && is_modern_error(-32021) && is_modern_error(-32022));
        assert!(!is_modern_error(-32019) && !is_modern_error(-32023) && !is_modern_error(-32601));
    }

    #[test]
    fn an_unsupported_version_names_what_the_server_speaks() {
        let data = json!({"supported": ["2026-07-28"], "requested": "2025-11-25"});
        let text = explain(UNSUPPORTED_VERSION, "Unsupported protocol version", Some(&data)).unwrap();
        assert!(
            text.contains("2025-11-25") && text.contains("supports: 2026-07-28"),
            "{text}"
        );
        let caps = json!({"requiredCapabilities": ["elicitation"]});
        let text = explain(MISSING_CAPABILITY, "needs elicitation", Some(&caps)).unwrap();
        assert!(text.contains("elicitation") && text.contains("-32021"), "{text}");
        assert!(explain(-32601, "nope", None).is_none());
    }

    #[test]
    fn the_era_is_remembered_as_plain_json() {
        let modern = Era::Modern {
            version: "2026-07-28".into(),
        };
        let text = serde_json::to_string(&modern).unwrap();
        assert_eq!(text, r#"{"era":"modern","version":"2026-07-28"}"#);
        assert_eq!(serde_json::from_str::<Era>(&text).unwrap(), modern);
        assert_eq!(serde_json::from_str::<Era>(r#"{"era":"legacy"}"#).unwrap(), Era::Legacy);
    }
}
