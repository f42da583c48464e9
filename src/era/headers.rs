//! The standard MCP request headers of the 2026-07-28 revision (SEP-2243).
//!
//! Every POST names its method (`Mcp-Method`); `tools/call`, `prompts/get`
//! and `resources/read` name their target (`Mcp-Name`); and a tool argument
//! whose schema carries `x-mcp-header` is mirrored into `Mcp-Param-<name>`.
//! A value that is not a plain, header-safe ASCII string is sent as
//! `=?base64?…?=`. A tool whose declarations break the rules is left out of
//! `tools/list` (`screen_tools`), since no request to it could be right.

use base64::Engine;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

pub const MCP_METHOD: &str = "mcp-method";
pub const MCP_NAME: &str = "mcp-name";
pub const MCP_PARAM_PREFIX: &str = "mcp-param-";

const SENTINEL_START: &str = "=?base64?";
const SENTINEL_END: &str = "?=";

/// `value` as a header value: as it is when plain, else Base64 in the
/// sentinel form (non-ASCII, a control character or tab, space at either
/// end, or text that itself looks like the sentinel).
pub fn encode(value: &str) -> Cow<'_, str> {
    let looks_encoded = value.starts_with(SENTINEL_START) && value.ends_with(SENTINEL_END);
    let plain = value.bytes().all(|b| (0x20..=0x7e).contains(&b))
        && !value.starts_with(' ')
        && !value.ends_with(' ')
        && !looks_encoded;
    if plain {
        Cow::Borrowed(value)
    } else {
        let b64 = base64::engine::general_purpose::STANDARD.encode(value.as_bytes());
        Cow::Owned(format!("{SENTINEL_START}{b64}{SENTINEL_END}"))
    }
}

/// Where `Mcp-Name` comes from for `method`: `params.name` or `params.uri`.
pub fn name_member(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => Some("uri"),
        _ => None,
    }
}

/// A tool's `x-mcp-header` declarations: the argument's path (its chain of
/// `properties` keys) and the header's name part.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParamHeaders(Vec<(Vec<String>, String)>);

impl ParamHeaders {
    /// The declarations in `input_schema`, or why they break the rules.
    pub fn read(input_schema: &Value) -> Result<ParamHeaders, String> {
        let mut found = Vec::new();
        walk(input_schema, Some(Vec::new()), &mut found)?;
        let mut seen = HashSet::new();
        for (_, name) in &found {
            if !seen.insert(name.to_ascii_lowercase()) {
                return Err(format!(
                    "x-mcp-header `{name}` is declared twice (names are case-insensitive)"
                ));
            }
        }
        Ok(ParamHeaders(found))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `Mcp-Param-*` headers for a call with `arguments`: one per
    /// declared argument that is present and not null.
    pub fn for_arguments(&self, arguments: Option<&Value>) -> Vec<(String, String)> {
        let Some(arguments) = arguments else { return vec![] };
        self.0
            .iter()
            .filter_map(|(path, name)| {
                let value = path.iter().try_fold(arguments, |v, key| v.get(key))?;
                let text = match value {
                    Value::String(s) => encode(s).into_owned(),
                    Value::Bool(b) => b.to_string(),
                    Value::Number(n) => n.to_string(),
                    _ => return None,
                };
                Some((format!("{MCP_PARAM_PREFIX}{name}"), text))
            })
            .collect()
    }
}

/// Keywords whose values are data, not schemas: an `x-mcp-header` key in
/// a default value is not a declaration.
const DATA_KEYWORDS: &[&str] = &["default", "const", "enum", "examples", "example"];

/// Find the declarations under `schema`; `path` is its chain of
/// `properties` keys from the root, or None once the walk has left it.
fn walk(schema: &Value, path: Option<Vec<String>>, found: &mut Vec<(Vec<String>, String)>) -> Result<(), String> {
    let Some(obj) = schema.as_object() else { return Ok(()) };
    if let Some(decl) = obj.get("x-mcp-header") {
        let Some(at) = &path else {
            return Err("x-mcp-header is declared where it cannot be reached by properties alone".into());
        };
        if at.is_empty() {
            return Err("x-mcp-header is declared on the schema itself, not on an argument".into());
        }
        let name = decl.as_str().ok_or("an x-mcp-header value is not a string")?;
        check_name(name)?;
        match obj.get("type").and_then(Value::as_str) {
            Some("string" | "integer" | "boolean") => {}
            other => {
                return Err(format!(
                    "x-mcp-header `{name}` is on an argument of type {}, not string, integer or boolean",
                    other.map_or_else(|| "unstated or mixed".into(), |t| format!("`{t}`"))
                ));
            }
        }
        found.push((at.clone(), name.to_string()));
    }
    for (key, value) in obj {
        if DATA_KEYWORDS.contains(&key.as_str()) {
            continue;
        }
        if key == "properties"
            && let Some(props) = value.as_object()
        {
            for (prop, sub) in props {
                let sub_path = path.as_ref().map(|p| {
                    let mut p = p.clone();
                    p.push(prop.clone());
                    p
                });
                walk(sub, sub_path, found)?;
            }
        } else if let Some(items) = value.as_array() {
            for item in items {
                walk(item, None, found)?;
            }
        } else if value.is_object() {
            walk(value, None, found)?;
        }
    }
    Ok(())
}

/// An `x-mcp-header` name must be an HTTP token (RFC 9110 §5.6.2).
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("an x-mcp-header value is empty".into());
    }
    let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if let Some(bad) = name.chars().find(|c| !tchar(*c)) {
        return Err(format!(
            "x-mcp-header `{}` holds {bad:?}, which a header name cannot",
            name.escape_debug()
        ));
    }
    Ok(())
}

/// Leave out of a `tools/list` result every tool whose `x-mcp-header`
/// declarations break the rules. Returns the declarations of the tools
/// kept (only those that have some) and each tool left out with the reason.
pub fn screen_tools(result: &mut Value) -> (HashMap<String, ParamHeaders>, Vec<(String, String)>) {
    let mut kept = HashMap::new();
    let mut dropped = Vec::new();
    let Some(tools) = result.get_mut("tools").and_then(Value::as_array_mut) else {
        return (kept, dropped);
    };
    tools.retain(|tool| {
        let name = tool.get("name").and_then(Value::as_str).unwrap_or("").to_string();
        let Some(schema) = tool.get("inputSchema") else {
            return true;
        };
        match ParamHeaders::read(schema) {
            Ok(decls) => {
                if !decls.is_empty() {
                    kept.insert(name, decls);
                }
                true
            }
            Err(why) => {
                dropped.push((name, why));
                false
            }
        }
    });
    (kept, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_values_go_as_they_are_and_the_rest_in_base64() {
        assert_eq!(encode("us-west1"), "us-west1");
        assert_eq!(encode("us west 1"), "us west 1", "inner spaces are fine");
        assert_eq!(encode("Hello, 世界"), "=?base64?SGVsbG8sIOS4lueVjA==?=");
        assert_eq!(encode(" padded "), "=?base64?IHBhZGRlZCA=?=");
        assert_eq!(encode("line1\nline2"), "=?base64?bGluZTEKbGluZTI=?=");
        assert_eq!(encode("a\tb"), "=?base64?YQli?=");
        assert_eq!(encode("=?base64?literal?="), "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=");
        assert_eq!(encode(""), "");
    }

    fn schema(props: Value) -> Value {
        json!({"type": "object", "properties": props})
    }

    #[test]
    fn declared_arguments_become_headers_and_null_or_absent_ones_do_not() {
        let s = schema(json!({
            "region": {"type": "string", "x-mcp-header": "Region"},
            "priority": {"type": "integer", "x-mcp-header": "Priority"},
            "debug": {"type": "boolean", "x-mcp-header": "Debug"},
            "opts": {"type": "object", "properties": {"zone": {"type": "string", "x-mcp-header": "Zone"}}},
            "gone": {"type": "string", "x-mcp-header": "Gone"},
            "query": {"type": "string"}
        }));
        let decls = ParamHeaders::read(&s).unwrap();
        let args = json!({"region": "Hello, 世界", "priority": 42, "debug": false,
            "opts": {"zone": "b"}, "gone": null, "query": "select"});
        let mut headers = decls.for_arguments(Some(&args));
        headers.sort();
        assert_eq!(
            headers,
            vec![
                ("mcp-param-Debug".to_string(), "false".to_string()),
                ("mcp-param-Priority".into(), "42".into()),
                ("mcp-param-Region".into(), "=?base64?SGVsbG8sIOS4lueVjA==?=".into()),
                ("mcp-param-Zone".into(), "b".into()),
            ]
        );
        assert!(decls.for_arguments(None).is_empty());
    }

    #[test]
    fn broken_declarations_are_named() {
        let cases = [
            ("empty", schema(json!({"a": {"type": "string", "x-mcp-header": ""}}))),
            ("object", schema(json!({"a": {"type": "object", "x-mcp-header": "A"}}))),
            ("array", schema(json!({"a": {"type": "array", "x-mcp-header": "A"}}))),
            ("null", schema(json!({"a": {"type": "null", "x-mcp-header": "A"}}))),
            ("number", schema(json!({"a": {"type": "number", "x-mcp-header": "A"}}))),
            (
                "twice",
                schema(
                    json!({"a": {"type": "string", "x-mcp-header": "A"}, "b": {"type": "string", "x-mcp-header": "A"}}),
                ),
            ),
            (
                "case",
                schema(
                    json!({"a": {"type": "string", "x-mcp-header": "Abc"}, "b": {"type": "string", "x-mcp-header": "aBC"}}),
                ),
            ),
            ("space", schema(json!({"a": {"type": "string", "x-mcp-header": "A B"}}))),
            ("colon", schema(json!({"a": {"type": "string", "x-mcp-header": "A:B"}}))),
            (
                "non-ascii",
                schema(json!({"a": {"type": "string", "x-mcp-header": "Ä"}})),
            ),
            (
                "control",
                schema(json!({"a": {"type": "string", "x-mcp-header": "A\r\nB"}})),
            ),
            (
                "in items",
                schema(json!({"a": {"type": "array", "items": {"type": "string", "x-mcp-header": "A"}}})),
            ),
            (
                "in oneOf",
                json!({"oneOf": [{"properties": {"a": {"type": "string", "x-mcp-header": "A"}}}]}),
            ),
            ("on the root", json!({"type": "string", "x-mcp-header": "A"})),
        ];
        for (what, s) in cases {
            assert!(ParamHeaders::read(&s).is_err(), "{what} should be refused");
        }
        // A property *named* x-mcp-header, or one in a default value, is no declaration.
        let fine = schema(
            json!({"x-mcp-header": {"type": "string"}, "b": {"type": "object", "default": {"x-mcp-header": 1}}}),
        );
        assert!(ParamHeaders::read(&fine).unwrap().is_empty());
    }

    #[test]
    fn tools_with_broken_declarations_leave_the_list_and_the_rest_stay() {
        let mut result = json!({"tools": [
            {"name": "good", "inputSchema": schema(json!({"r": {"type": "string", "x-mcp-header": "R"}}))},
            {"name": "bad", "inputSchema": schema(json!({"r": {"type": "number", "x-mcp-header": "R"}}))},
            {"name": "plain", "inputSchema": schema(json!({}))},
            {"name": "no-schema"}
        ], "ttlMs": 0});
        let (kept, dropped) = screen_tools(&mut result);
        let names: Vec<_> = result["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["good", "plain", "no-schema"]);
        assert_eq!(dropped.len(), 1);
        assert_eq!(dropped[0].0, "bad");
        assert!(dropped[0].1.contains("number"), "{}", dropped[0].1);
        assert!(kept.contains_key("good") && !kept.contains_key("plain"));
        assert_eq!(result["ttlMs"], 0);
    }

    #[test]
    fn the_name_header_comes_from_name_or_uri() {
        assert_eq!(name_member("tools/call"), Some("name"));
        assert_eq!(name_member("prompts/get"), Some("name"));
        assert_eq!(name_member("resources/read"), Some("uri"));
        assert_eq!(name_member("tools/list"), None);
    }
}
