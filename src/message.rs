//! One message from the client: its JSON text as the client sent it, the
//! few members the bridge reads to route it (its head), and the whole tree
//! only when something asks for it.
//!
//! A message goes to the remote as the client's own text. It is not parsed
//! into a tree and written out again, which was a third of the bridge's work
//! on each call, and every number, escape and key order stays exactly as
//! sent.
//!
//! The head is read with serde, which refuses a second copy of any member it
//! reads (`id`, `method`, `params`, `result`, `error`, and in `params`:
//! `name`, `uri`, `_meta.progressToken`, `requestId`). A message with such a
//! duplicate, or with one of these members of an unexpected type, is parsed
//! as a whole tree instead and posted as that tree written out, as before:
//! what the bridge judged (a hidden tool's name, say) is then what the remote
//! reads.

use crate::jsonrpc::{self, Kind};
use bytes::Bytes;
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny};
use serde_json::Value;
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

/// A client message (or one the bridge made, from a tree).
#[derive(Debug)]
pub struct Message {
    text: Bytes,
    head: Head,
    /// Boxed, as are the rarer members of the head: a message is moved
    /// into each request's task, and a `Value` is 80 bytes.
    tree: OnceLock<Option<Box<Value>>>,
}

/// What the bridge reads of a message to route it.
#[derive(Debug, PartialEq)]
struct Head {
    kind: Kind,
    id: Value,
    method: Option<Arc<str>>,
    name: Option<Box<str>>,
    uri: Option<Box<str>>,
    progress_token: Option<Box<Value>>,
    request_id: Option<Box<Value>>,
}

impl Message {
    /// Read one JSON object from `line` (no line break, no surrounding
    /// space), reading only its head. None when the head cannot be read
    /// that way: not an object, not JSON or not UTF-8, a duplicate member,
    /// a member of another type (see the module docs). The caller then
    /// parses the whole tree.
    pub fn read(line: &[u8]) -> Option<Message> {
        if line.first() != Some(&b'{') {
            return None;
        }
        let text = std::str::from_utf8(line).ok()?;
        let env: Envelope<'_> = serde_json::from_str(text).ok()?;
        let params = env.params.unwrap_or_default();
        let has_id = env.id.is_some();
        let kind = match (env.method.is_some(), has_id) {
            (true, true) => Kind::Request,
            (true, false) => Kind::Notification,
            (false, _) if env.result || env.error => Kind::Response,
            _ => Kind::Invalid,
        };
        Some(Message {
            text: Bytes::copy_from_slice(line),
            head: Head {
                kind,
                id: env.id.unwrap_or(Value::Null),
                method: env.method.map(|m| Arc::from(&*m.0)),
                name: params.name.map(|n| Box::from(&*n.0)),
                uri: params.uri.map(|u| Box::from(&*u.0)),
                progress_token: params.meta.and_then(|m| m.progress_token).map(Box::new),
                request_id: params.request_id.map(Box::new),
            },
            tree: OnceLock::new(),
        })
    }

    /// A message the bridge has as a tree (its own, a batch member, or one
    /// it rewrote): its text is the tree written out.
    pub fn from_value(tree: Value) -> Message {
        let text = Bytes::from(jsonrpc::to_line(&tree));
        let str_at = |path: &[&str]| jsonrpc::at(&tree, path).and_then(Value::as_str).map(Box::from);
        let head = Head {
            kind: jsonrpc::kind(&tree),
            id: tree.get("id").cloned().unwrap_or(Value::Null),
            method: jsonrpc::method(&tree).map(Arc::from),
            name: str_at(&["params", "name"]),
            uri: str_at(&["params", "uri"]),
            progress_token: jsonrpc::at(&tree, &["params", "_meta", "progressToken"])
                .filter(|t| !t.is_null())
                .map(|t| Box::new(t.clone())),
            request_id: jsonrpc::at(&tree, &["params", "requestId"])
                .filter(|t| !t.is_null())
                .map(|t| Box::new(t.clone())),
        };
        Message {
            text,
            head,
            tree: OnceLock::from(Some(Box::new(tree))),
        }
    }

    pub fn kind(&self) -> Kind {
        self.head.kind
    }

    /// The `id` (`Value::Null` when there is none).
    pub fn id(&self) -> &Value {
        &self.head.id
    }

    pub fn method(&self) -> Option<&str> {
        self.head.method.as_deref()
    }

    /// The method, shared (for tables that keep it per request).
    pub fn method_shared(&self) -> Option<Arc<str>> {
        self.head.method.clone()
    }

    /// `params.name` when it is a string (a tool or prompt name).
    pub fn name(&self) -> Option<&str> {
        self.head.name.as_deref()
    }

    /// `params.uri` when it is a string (a resource).
    pub fn uri(&self) -> Option<&str> {
        self.head.uri.as_deref()
    }

    /// `params._meta.progressToken`.
    pub fn progress_token(&self) -> Option<&Value> {
        self.head.progress_token.as_deref()
    }

    /// `params.requestId` (of a `notifications/cancelled`).
    pub fn request_id(&self) -> Option<&Value> {
        self.head.request_id.as_deref()
    }

    /// The JSON text, as the client sent it (or the tree written out).
    pub fn text(&self) -> &Bytes {
        &self.text
    }

    /// The whole tree, parsed on first use. None when the text is JSON a
    /// tree cannot hold (a number beyond what an f64 holds, such as 1e400).
    pub fn tree(&self) -> Option<&Value> {
        self.tree
            .get_or_init(|| serde_json::from_slice(&self.text).ok().map(Box::new))
            .as_deref()
    }

    /// The whole tree, or `Value::Null` when it cannot be held (`tree`).
    pub fn value(&self) -> &Value {
        static NULL: Value = Value::Null;
        self.tree().unwrap_or(&NULL)
    }

    /// The answer to a message whose tree cannot be held (`tree` is None)
    /// when a part of the bridge needs it: a parse error, for its id when
    /// that is a string or a number, as for a line that is not JSON.
    pub fn unreadable(&self) -> Value {
        tracing::warn!("stdin: a message holds JSON the bridge cannot read whole (a number out of range)");
        let id = Some(self.id()).filter(|id| id.is_string() || id.is_number());
        jsonrpc::error(
            id.cloned().unwrap_or(Value::Null),
            jsonrpc::PARSE_ERROR,
            "Parse error: a number out of range",
            None,
        )
    }

    /// The tree, taken (see `value`).
    pub fn into_value(self) -> Value {
        self.tree();
        self.tree.into_inner().flatten().map_or(Value::Null, |t| *t)
    }
}

impl From<Value> for Message {
    fn from(tree: Value) -> Message {
        Message::from_value(tree)
    }
}

/// The members of a message the head is read from. Every other member is
/// skipped (and checked to be JSON) without being built.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default, borrow)]
    method: Option<Text<'a>>,
    #[serde(default, borrow)]
    params: Option<Params<'a>>,
    #[serde(default, deserialize_with = "present")]
    result: bool,
    #[serde(default, deserialize_with = "present")]
    error: bool,
}

#[derive(Deserialize, Default)]
struct Params<'a> {
    #[serde(default, borrow)]
    name: Option<Text<'a>>,
    #[serde(default, borrow)]
    uri: Option<Text<'a>>,
    #[serde(default, rename = "_meta")]
    meta: Option<Meta>,
    #[serde(default, rename = "requestId")]
    request_id: Option<Value>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default, rename = "progressToken")]
    progress_token: Option<Value>,
}

/// A JSON string, borrowed from the text when it has no escapes (serde
/// makes an `Option<Cow<str>>` an owned copy every time).
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(Visit)
    }
}

/// A member that is there, whatever its value (`null` too).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(d).map(|_| true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The head read from the text equals the head read from the tree.
    fn same_as_tree(line: &str) -> Message {
        let read = Message::read(line.as_bytes()).unwrap_or_else(|| panic!("head not read: {line}"));
        let tree: Value = serde_json::from_str(line).unwrap();
        assert_eq!(read.head, Message::from_value(tree.clone()).head, "{line}");
        assert_eq!(read.tree(), Some(&tree));
        assert_eq!(&read.text()[..], line.as_bytes(), "the text is kept as sent");
        read
    }

    #[test]
    fn the_head_is_what_the_tree_says() {
        let m = same_as_tree(
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"n":1.50,"name":"x"},"_meta":{"progressToken":"p"}}}"#,
        );
        assert_eq!(
            (m.kind(), m.id(), m.method(), m.name()),
            (Kind::Request, &json!(7), Some("tools/call"), Some("echo"))
        );
        assert_eq!(m.progress_token(), Some(&json!("p")));
        for line in [
            r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"a\u0041","reason":"x"}}"#,
            r#"{"jsonrpc":"2.0","id":"q","result":null}"#,
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":1,"message":"m"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a\"b"}}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"{"id":1,"method":null,"params":null}"#,
            r#"{"method":"m","params":{"_meta":{}}}"#,
            r#"{"method":"m","params":{"_meta":{"progressToken":null}},"id":2.5}"#,
            r#"{ "method" : "é\n" , "id" : -1 , "x" : [1, {"method": 3}] }"#,
        ] {
            same_as_tree(line);
        }
        let cancel = same_as_tree(r#"{"method":"notifications/cancelled","params":{"requestId":5}}"#);
        assert_eq!(cancel.request_id(), Some(&json!(5)));
    }

    #[test]
    fn what_the_head_cannot_say_is_left_to_the_tree() {
        for line in [
            // duplicates of a member the bridge reads
            r#"{"id":1,"id":2,"method":"m"}"#,
            r#"{"id":1,"method":"tools/call","params":{"name":"a","name":"hidden"}}"#,
            r#"{"id":1,"method":"m","params":{"_meta":{"progressToken":1,"progressToken":2}}}"#,
            // a member of another type
            r#"{"id":1,"method":5}"#,
            r#"{"id":1,"method":"tools/call","params":{"name":{"x":1}}}"#,
            r#"{"id":1,"method":"m","params":[1,2]}"#,
            r#"{"id":1,"method":"m","params":{"_meta":7}}"#,
            // not one object, not JSON, not UTF-8
            r#"[{"id":1,"method":"m"}]"#,
            r#"7"#,
            r#"{"id":1,"method":"m""#,
            "{\"id\":1,\"method\":\"\u{1}\"}",
        ] {
            assert!(Message::read(line.as_bytes()).is_none(), "{line}");
        }
        assert!(Message::read(b"{\"id\":1,\"method\":\"\xff\"}").is_none());
    }

    #[test]
    fn a_number_no_tree_holds_is_relayed_as_sent() {
        let line = r#"{"id":1,"method":"m","params":{"n":1e400,"big":123456789012345678901234567890}}"#;
        let m = Message::read(line.as_bytes()).expect("the head reads");
        assert_eq!(&m.text()[..], line.as_bytes());
        assert_eq!(m.tree(), None);
        assert_eq!(m.value(), &Value::Null);
        // Where the tree is needed (a hook, the handshake), it is a parse error for its id.
        let e = m.unreadable();
        assert_eq!(
            (&e["id"], &e["error"]["code"]),
            (&json!(1), &json!(jsonrpc::PARSE_ERROR))
        );
    }

    #[test]
    fn a_tree_is_written_out_once() {
        let tree = json!({"jsonrpc":"2.0","id":"b-1","method":"tools/call","params":{"name":"t"}});
        let m = Message::from_value(tree.clone());
        assert_eq!(serde_json::from_slice::<Value>(m.text()).unwrap(), tree);
        assert_eq!(m.name(), Some("t"));
        assert_eq!(m.into_value(), tree);
    }
}
