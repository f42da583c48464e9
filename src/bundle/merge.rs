//! Merging what several servers answered into one answer: the `initialize`
//! result (capabilities united, the bridge's own `serverInfo`) and the lists
//! (every name prefixed `<server>__`).

use serde_json::{Map, Value, json};

/// Separates the server from the tool, prompt or resource name.
pub const SEP: &str = "__";

/// `<server>__<name>`.
pub fn prefixed(server: &str, name: &str) -> String {
    format!("{server}{SEP}{name}")
}

/// Prefix the `name` of each list item with its server.
pub fn prefix_items(server: &str, items: &mut [Value]) {
    for item in items {
        if let Some(name) = item.get("name").and_then(Value::as_str) {
            item["name"] = Value::String(prefixed(server, name));
        }
    }
}

/// The `result` of the bundle's `initialize`, from each server's result
/// (in config order, failed ones left out).
pub fn initialize_result(results: &[(&str, Value)]) -> Value {
    let mut caps = Value::Object(Map::new());
    let mut instructions = Vec::new();
    for (server, r) in results {
        if let Some(c) = r.get("capabilities") {
            union(&mut caps, c);
        }
        if let Some(text) = r.get("instructions").and_then(Value::as_str) {
            instructions.push(format!(
                "Tools, prompts and resources named `{server}{SEP}…` ({server}): {text}"
            ));
        }
    }
    // The bridge announces list changes itself (a server coming back, or
    // any server's own change), so it always offers them.
    for key in ["tools", "prompts", "resources"] {
        if key == "tools" || caps.get(key).is_some() {
            let entry = caps.as_object_mut().map(|o| o.entry(key).or_insert_with(|| json!({})));
            if let Some(e) = entry.filter(|e| e.is_object()) {
                e["listChanged"] = Value::Bool(true);
            }
        }
    }
    let version = results
        .iter()
        .find_map(|(_, r)| r.get("protocolVersion").cloned())
        .unwrap_or(Value::Null);
    let servers: Vec<&str> = results.iter().map(|(s, _)| *s).collect();
    let mut out = json!({
        "protocolVersion": version,
        "capabilities": caps,
        "serverInfo": {
            "name": "mcp-bridge",
            "title": format!("mcp-bridge: {}", servers.join(", ")),
            "version": env!("CARGO_PKG_VERSION"),
        },
    });
    if !instructions.is_empty() {
        out["instructions"] = Value::String(instructions.join("\n\n"));
    }
    out
}

/// Merge `from` into `into`: objects key by key, `true` wins over `false`,
/// otherwise the first value stays.
pub fn union(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(k) {
                    Some(existing) => union(existing, v),
                    None => {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Bool(a), Value::Bool(b)) => *a |= *b,
        _ => {}
    }
}

/// The literal start of a URI template, up to its first expression.
pub fn template_prefix(template: &str) -> &str {
    template.split('{').next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_are_united() {
        let a =
            json!({"protocolVersion": "2025-11-25", "capabilities": {"tools": {"listChanged": false}, "logging": {}}});
        let b =
            json!({"protocolVersion": "2025-06-18", "capabilities": {"prompts": {}, "tools": {"listChanged": true}}});
        let r = initialize_result(&[("a", a), ("b", b)]);
        assert_eq!(r["protocolVersion"], "2025-11-25");
        assert_eq!(r["capabilities"]["tools"]["listChanged"], true);
        assert_eq!(r["capabilities"]["prompts"]["listChanged"], true);
        assert!(r["capabilities"]["logging"].is_object());
        assert!(r["capabilities"].get("resources").is_none());
        assert_eq!(r["serverInfo"]["name"], "mcp-bridge");
    }

    #[test]
    fn prefixes() {
        let mut items = vec![json!({"name": "x", "description": "d"})];
        prefix_items("srv", &mut items);
        assert_eq!(items[0], json!({"name": "srv__x", "description": "d"}));
        assert_eq!(template_prefix("file:///logs/{day}.txt"), "file:///logs/");
    }
}
