//! Set one member of an object in a JSON text, leaving every other byte as
//! it was: `install --write` edits a desktop client's config file, whose
//! other entries may hold numbers no `f64` keeps (an id of 20 digits),
//! duplicate keys, or a layout the person chose. Parsing the file into a
//! tree and writing the tree out again would change all three; splicing the
//! one entry in changes nothing else.
//!
//! The text is checked as valid JSON first (by serde_json); the scanner here
//! only finds where objects, members and values start and end.

use serde_json::Value;
use std::ops::Range;

/// One `"key": value` member of an object: its key (unescaped), where the
/// key's opening quote is, and the value's bytes.
struct Member {
    key: String,
    key_at: usize,
    value: Range<usize>,
}

/// An object: its members in order and where its closing brace is.
struct Object {
    open: usize,
    members: Vec<Member>,
    close: usize,
}

/// Where the value of the last member `key` of the object at `open` starts,
/// if it is there (the last one: what JSON readers keep of duplicates).
pub fn member_at(text: &str, open: usize, key: &str) -> Option<usize> {
    let obj = object(text.as_bytes(), open)?;
    obj.members.iter().rev().find(|m| m.key == key).map(|m| m.value.start)
}

/// Where the top-level object opens, if the text is one.
pub fn top(text: &str) -> Option<usize> {
    let at = skip_ws(text.as_bytes(), 0);
    (text.as_bytes().get(at) == Some(&b'{')).then_some(at)
}

/// `text` with member `key` of the object at `open` set to `value`: the
/// last member of that name gets the new value in place of its own, else a
/// member is added after the last one, laid out like its neighbours. None
/// when there is no object at `open`.
pub fn set_member(text: &str, open: usize, key: &str, value: &Value) -> Option<String> {
    let b = text.as_bytes();
    let obj = object(b, open)?;
    if let Some(m) = obj.members.iter().rev().find(|m| m.key == key) {
        let indent = line_indent(b, m.key_at);
        let shown = render(value, Some(&indent));
        return Some(format!("{}{shown}{}", &text[..m.value.start], &text[m.value.end..]));
    }
    let name = serde_json::to_string(key).ok()?;
    let (at, insert) = match obj.members.last() {
        // Members each on their own line: a new line with the same indent.
        Some(last) if starts_line(b, obj.members[0].key_at) => {
            let indent = line_indent(b, obj.members[0].key_at);
            let item = format!("{name}: {}", render(value, Some(&indent)));
            (last.value.end, format!(",\n{indent}{item}"))
        }
        Some(last) => (last.value.end, format!(", {name}: {}", render(value, None))),
        None => {
            let outer = line_indent(b, obj.open);
            let indent = format!("{outer}  ");
            let item = format!("{name}: {}", render(value, Some(&indent)));
            let text = format!(
                "{}{{\n{indent}{item}\n{outer}}}{}",
                &text[..obj.open],
                &text[obj.close + 1..]
            );
            return Some(text);
        }
    };
    Some(format!("{}{insert}{}", &text[..at], &text[at..]))
}

/// `value` as JSON: pretty, each line after the first indented by `indent`,
/// or compact on one line.
fn render(value: &Value, indent: Option<&str>) -> String {
    match indent {
        Some(indent) => serde_json::to_string_pretty(value)
            .unwrap_or_default()
            .replace('\n', &format!("\n{indent}")),
        None => serde_json::to_string(value).unwrap_or_default(),
    }
}

/// Whether only spaces and tabs come before `at` on its line.
fn starts_line(b: &[u8], at: usize) -> bool {
    b[..at]
        .iter()
        .rev()
        .take_while(|c| **c != b'\n')
        .all(|c| *c == b' ' || *c == b'\t')
}

/// The spaces and tabs that open the line `at` is on.
fn line_indent(b: &[u8], at: usize) -> String {
    let start = b[..at].iter().rposition(|c| *c == b'\n').map_or(0, |n| n + 1);
    b[start..]
        .iter()
        .take_while(|c| **c == b' ' || **c == b'\t')
        .map(|c| char::from(*c))
        .collect()
}

fn skip_ws(b: &[u8], mut at: usize) -> usize {
    while b.get(at).is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// The object whose `{` is at `open`.
fn object(b: &[u8], open: usize) -> Option<Object> {
    if b.get(open) != Some(&b'{') {
        return None;
    }
    let mut members = Vec::new();
    let mut at = skip_ws(b, open + 1);
    if b.get(at) == Some(&b'}') {
        return Some(Object {
            open,
            members,
            close: at,
        });
    }
    loop {
        let key_at = at;
        let key_end = string_end(b, at)?;
        let key = serde_json::from_slice::<String>(&b[key_at..key_end]).ok()?;
        at = skip_ws(b, key_end);
        if b.get(at) != Some(&b':') {
            return None;
        }
        let start = skip_ws(b, at + 1);
        let end = value_end(b, start)?;
        members.push(Member {
            key,
            key_at,
            value: start..end,
        });
        at = skip_ws(b, end);
        match b.get(at) {
            Some(b',') => at = skip_ws(b, at + 1),
            Some(b'}') => {
                return Some(Object {
                    open,
                    members,
                    close: at,
                });
            }
            _ => return None,
        }
    }
}

/// Where the string whose `"` is at `at` ends (just past its closing quote).
fn string_end(b: &[u8], at: usize) -> Option<usize> {
    if b.get(at) != Some(&b'"') {
        return None;
    }
    let mut i = at + 1;
    loop {
        match b.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// Where the value that starts at `at` ends.
fn value_end(b: &[u8], at: usize) -> Option<usize> {
    match b.get(at)? {
        b'"' => string_end(b, at),
        b'{' | b'[' => {
            // Nested brackets, skipping strings (which may hold brackets).
            let mut depth = 0usize;
            let mut i = at;
            loop {
                match b.get(i)? {
                    b'"' => {
                        i = string_end(b, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        // A number, true, false or null: up to the next delimiter.
        _ => {
            let len = b[at..]
                .iter()
                .position(|c| matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(b.len() - at);
            (len > 0).then_some(at + len)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(text: &str, key: &str, value: Value) -> String {
        set_member(text, top(text).unwrap(), key, &value).unwrap()
    }

    #[test]
    fn a_new_member_follows_the_layout_and_nothing_else_changes() {
        let text = "{\n    \"id\": 123456789012345678901234567890,\n    \"a\": 1,\n    \"a\": \"x}\\\"]\"\n}\n";
        assert_eq!(
            set(text, "b", json!({"k": [1]})),
            "{\n    \"id\": 123456789012345678901234567890,\n    \"a\": 1,\n    \"a\": \"x}\\\"]\",\n    \"b\": {\n      \"k\": [\n        1\n      ]\n    }\n}\n"
        );
        assert_eq!(set("{\"a\": 1}", "b", json!(2)), "{\"a\": 1, \"b\": 2}");
        assert_eq!(set("{  }\n", "b", json!(2)), "{\n  \"b\": 2\n}\n");
    }

    #[test]
    fn the_last_of_duplicate_members_is_the_one_replaced() {
        let text = "{\"a\": 1, \"a\": {\"deep\": [true, null]}, \"z\": 1e400}";
        assert_eq!(set(text, "a", json!(3)), "{\"a\": 1, \"a\": 3, \"z\": 1e400}");
        assert_eq!(member_at(text, 0, "z"), Some(text.find("1e400").unwrap()));
        assert_eq!(member_at(text, 0, "nope"), None);
    }

    #[test]
    fn a_key_with_escapes_is_found_by_its_meaning() {
        let text = "{\"\\u0061\": 1}";
        assert_eq!(set(text, "a", json!(2)), "{\"\\u0061\": 2}");
    }
}
