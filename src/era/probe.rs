//! What an answer to `server/discover` says about a remote.
//!
//! The bridge asks a remote it does not know yet with `server/discover` at
//! the newest modern revision. Only positive evidence makes it modern: a
//! discover result naming a modern revision the bridge speaks, or a
//! `-32022` naming one (then it asks once more, at that revision). Any
//! other refusal (an HTTP 4xx without a modern error, an unknown method) is
//! a legacy remote: the bridge then opens it with `initialize`. A `-32022`
//! or a discover result that names only revisions the bridge does not speak
//! is the one real incompatibility. Server errors and broken connections
//! are no verdict at all.

use super::{HEADER_MISMATCH, MISSING_CAPABILITY, MODERN_VERSIONS, UNSUPPORTED_VERSION, is_legacy};
use serde_json::Value;

/// The verdict on one probe.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A modern remote, at `version`; `discover` is its result.
    Modern { version: String, discover: Value },
    /// A modern remote that does not speak the revision asked for but
    /// names `version`, which the bridge speaks: ask again at it.
    AskAgain { version: String },
    /// A legacy remote: open it with `initialize`.
    Legacy,
    /// A modern remote the bridge shares no revision with.
    NoCommonVersion { supported: Vec<String> },
    /// A modern remote that refused the probe itself (a header or a
    /// capability): a bug on one side, said as it is.
    Refused { message: String },
    /// Not an answer about the era (a 5xx, a body that is not JSON-RPC).
    Inconclusive { why: String },
}

/// Judge the answer to a `server/discover` at `asked` (HTTP `status`, and
/// the JSON-RPC response when the body was one).
pub fn judge(status: u16, body: Option<&Value>, asked: &str) -> Verdict {
    if status >= 500 {
        return Verdict::Inconclusive {
            why: format!("HTTP {status}"),
        };
    }
    let Some(body) = body else {
        return if (400..500).contains(&status) {
            Verdict::Legacy
        } else {
            Verdict::Inconclusive {
                why: format!("HTTP {status} with no JSON-RPC answer"),
            }
        };
    };
    if let Some(error) = body.get("error") {
        let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
        let message = error.get("message").and_then(Value::as_str).unwrap_or("").to_string();
        return match code {
            UNSUPPORTED_VERSION => {
                let supported: Vec<String> = error
                    .pointer("/data/supported")
                    .and_then(Value::as_array)
                    .map(|v| v.iter().filter_map(Value::as_str).map(str::to_string).collect())
                    .unwrap_or_default();
                // Asked again even at the same version: a server may refuse
                // a first request it cannot tell apart (the caller bounds it).
                match MODERN_VERSIONS.iter().find(|v| supported.iter().any(|s| s == *v)) {
                    Some(v) => Verdict::AskAgain { version: v.to_string() },
                    None if supported.iter().any(|s| is_legacy(s)) || supported.is_empty() => Verdict::Legacy,
                    None => Verdict::NoCommonVersion { supported },
                }
            }
            HEADER_MISMATCH | MISSING_CAPABILITY => Verdict::Refused { message },
            _ => Verdict::Legacy,
        };
    }
    let Some(result) = body.get("result") else {
        return Verdict::Inconclusive {
            why: "an answer with neither result nor error".into(),
        };
    };
    let versions: Vec<&str> = result
        .get("supportedVersions")
        .and_then(Value::as_array)
        .map(|v| v.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let chosen = if versions.contains(&asked) {
        Some(asked)
    } else {
        MODERN_VERSIONS.iter().copied().find(|v| versions.contains(v))
    };
    // Only a result shaped like discover's counts as evidence.
    let shaped = result.get("capabilities").is_some_and(Value::is_object);
    match chosen {
        Some(v) if shaped => Verdict::Modern {
            version: v.to_string(),
            discover: result.clone(),
        },
        Some(v) if v != asked => Verdict::AskAgain { version: v.to_string() },
        // A discover result naming only revisions the bridge does not know:
        // a server of a later revision, not a legacy one.
        None if shaped && !versions.is_empty() && !versions.iter().any(|v| is_legacy(v)) => Verdict::NoCommonVersion {
            supported: versions.iter().map(|v| v.to_string()).collect(),
        },
        _ => Verdict::Legacy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ASKED: &str = "2026-07-28";

    #[test]
    fn a_discover_result_with_a_common_version_is_a_modern_remote() {
        let body = json!({"jsonrpc":"2.0","id":1,"result":{"resultType":"complete",
            "supportedVersions":["2026-07-28","2025-11-25"],"capabilities":{"tools":{}}}});
        match judge(200, Some(&body), ASKED) {
            Verdict::Modern { version, discover } => {
                assert_eq!(version, "2026-07-28");
                assert_eq!(discover["capabilities"], json!({"tools":{}}));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn what_is_not_modern_evidence_is_a_legacy_remote() {
        // server-everything before initialize; a method it does not know; an empty 400; 404 and 405.
        let no_session =
            json!({"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Bad Request: Server not initialized"}});
        assert_eq!(judge(400, Some(&no_session), ASKED), Verdict::Legacy);
        let unknown = json!({"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found"}});
        assert_eq!(judge(200, Some(&unknown), ASKED), Verdict::Legacy);
        assert_eq!(judge(400, None, ASKED), Verdict::Legacy);
        assert_eq!(judge(404, None, ASKED), Verdict::Legacy);
        assert_eq!(judge(405, None, ASKED), Verdict::Legacy);
        // Discover answered, but only with handshake-era versions (a stateful go server).
        let old = json!({"jsonrpc":"2.0","id":1,"result":{"supportedVersions":["2025-11-25"],"capabilities":{}}});
        assert_eq!(judge(200, Some(&old), ASKED), Verdict::Legacy);
        // A -32022 listing legacy versions only.
        let legacy_list =
            json!({"jsonrpc":"2.0","id":1,"error":{"code":-32022,"message":"no","data":{"supported":["2025-06-18"]}}});
        assert_eq!(judge(400, Some(&legacy_list), ASKED), Verdict::Legacy);
    }

    #[test]
    fn a_version_error_naming_a_common_version_asks_again_even_the_same_one() {
        let same = json!({"jsonrpc":"2.0","id":1,"error":{"code":-32022,"message":"no","data":{"supported":["2026-07-28"],"requested":ASKED}}});
        assert_eq!(
            judge(400, Some(&same), ASKED),
            Verdict::AskAgain {
                version: "2026-07-28".into()
            }
        );
    }

    #[test]
    fn a_version_error_naming_only_unknown_modern_versions_is_no_common_version() {
        let future = json!({"jsonrpc":"2.0","id":1,"error":{"code":-32022,"message":"no","data":{"supported":["2027-03-01"],"requested":ASKED}}});
        assert_eq!(
            judge(400, Some(&future), ASKED),
            Verdict::NoCommonVersion {
                supported: vec!["2027-03-01".into()]
            }
        );
    }

    #[test]
    fn a_discover_result_naming_only_unknown_versions_is_no_common_version() {
        let future = json!({"jsonrpc":"2.0","id":1,"result":{"resultType":"complete",
            "supportedVersions":["2027-03-01"],"capabilities":{}}});
        assert_eq!(
            judge(200, Some(&future), ASKED),
            Verdict::NoCommonVersion {
                supported: vec!["2027-03-01".into()]
            }
        );
        // One the bridge speaks among them, or no list at all: not that.
        let with_legacy = json!({"jsonrpc":"2.0","id":1,"result":{
            "supportedVersions":["2027-03-01","2025-11-25"],"capabilities":{}}});
        assert_eq!(judge(200, Some(&with_legacy), ASKED), Verdict::Legacy);
        let no_list = json!({"jsonrpc":"2.0","id":1,"result":{"capabilities":{}}});
        assert_eq!(judge(200, Some(&no_list), ASKED), Verdict::Legacy);
    }

    #[test]
    fn server_trouble_is_no_verdict_and_a_modern_refusal_is_said() {
        assert!(matches!(judge(503, None, ASKED), Verdict::Inconclusive { .. }));
        assert!(matches!(judge(200, None, ASKED), Verdict::Inconclusive { .. }));
        let mismatch = json!({"jsonrpc":"2.0","id":1,"error":{"code":-32020,"message":"Mcp-Method missing"}});
        assert_eq!(
            judge(400, Some(&mismatch), ASKED),
            Verdict::Refused {
                message: "Mcp-Method missing".into()
            }
        );
    }
}
