//! Fuzz the stdin framing and the JSON-RPC envelope handling: arbitrary
//! bytes are split into lines exactly as the relay reads them
//! (`read_until(b'\n')`), each line goes through `relay::decode_line`, and
//! every decoded message through the `jsonrpc` helpers the relay routes with.
//! Checked: nothing panics, every error answer is a one-line JSON-RPC error
//! with a null id or the line's own, the head read of a message's text (`Message::read`) is
//! what its whole tree says, and a tree survives `to_line` unchanged.
//!
//! The check itself, shared by the fuzz target and by `tests/fuzz_corpus.rs`,
//! which replays the committed seeds (`fuzz/seeds/stdin_line/`) under
//! `cargo test`.

use mcp_bridge::client::{Line, decode_line};
use mcp_bridge::jsonrpc::{self, Kind};
use mcp_bridge::message::Message;
use serde_json::Value;

/// Runs one input; panics when a check fails.
pub fn check(data: &[u8]) {
    for line in data.split_inclusive(|b| *b == b'\n') {
        match decode_line(line) {
            Line::Blank => assert!(line.iter().all(u8::is_ascii_whitespace)),
            Line::Error(answer) => {
                let text = jsonrpc::to_line(&answer);
                assert!(!text.contains('\n'));
                assert_eq!(jsonrpc::kind(&answer), Kind::Response);
                let id = &answer["id"];
                assert!(id.is_null() || id.is_string() || id.is_number(), "{answer}");
                assert!(answer.pointer("/error/code").is_some_and(Value::is_i64));
            }
            Line::Messages(messages) => {
                assert!(!messages.is_empty());
                for msg in messages {
                    let kind = msg.kind();
                    if matches!(kind, Kind::Request | Kind::Notification) {
                        assert!(msg.method().is_some());
                    }
                    // What was read of the head is what the whole tree says.
                    if let Some(tree) = msg.tree().cloned() {
                        let whole = Message::from_value(tree.clone());
                        assert_eq!(kind, whole.kind());
                        assert_eq!(msg.id(), whole.id());
                        assert_eq!(msg.method(), whole.method());
                        assert_eq!(msg.name(), whole.name());
                        assert_eq!(msg.uri(), whole.uri());
                        assert_eq!(msg.progress_token(), whole.progress_token());
                        assert_eq!(msg.request_id(), whole.request_id());
                        assert_eq!(jsonrpc::kind(&tree), kind);
                        let text = jsonrpc::to_line(&tree);
                        assert!(!text.contains('\n'), "a message must stay on one line");
                        let back: Value = serde_json::from_str(&text).expect("to_line is JSON");
                        assert_eq!(back, tree);
                    }
                    let _ = jsonrpc::id_key(msg.id());
                    let err = jsonrpc::error(msg.id().clone(), jsonrpc::INVALID_REQUEST, "x", None);
                    assert_eq!(jsonrpc::kind(&err), Kind::Response);
                }
            }
        }
    }
}
