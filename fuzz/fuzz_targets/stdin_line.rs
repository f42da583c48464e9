//! Fuzz the stdin framing and the JSON-RPC envelope handling: arbitrary
//! bytes are split into lines exactly as the relay reads them
//! (`read_until(b'\n')`), each line goes through `relay::decode_line`, and
//! every decoded message through the `jsonrpc` helpers the relay routes with.
//! Checked: nothing panics, every error answer is a one-line JSON-RPC error
//! with a null id, and a message survives `to_line` unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_bridge::jsonrpc::{self, Kind};
use mcp_bridge::relay::{Line, decode_line};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    for line in data.split_inclusive(|b| *b == b'\n') {
        match decode_line(line) {
            Line::Blank => assert!(line.iter().all(u8::is_ascii_whitespace)),
            Line::Error(answer) => {
                let text = jsonrpc::to_line(&answer);
                assert!(!text.contains('\n'));
                assert_eq!(jsonrpc::kind(&answer), Kind::Response);
                assert_eq!(answer["id"], Value::Null);
                assert!(answer.pointer("/error/code").is_some_and(Value::is_i64));
            }
            Line::Messages(messages) => {
                assert!(!messages.is_empty());
                for msg in messages {
                    let kind = jsonrpc::kind(&msg);
                    let method = jsonrpc::method(&msg);
                    if matches!(kind, Kind::Request | Kind::Notification) {
                        assert!(method.is_some());
                    }
                    if let Some(id) = msg.get("id") {
                        let key = jsonrpc::id_key(id);
                        let back: Value = serde_json::from_str(&key).expect("id key is JSON");
                        assert_eq!(&back, id);
                    }
                    let text = jsonrpc::to_line(&msg);
                    assert!(!text.contains('\n'), "a message must stay on one line");
                    let back: Value = serde_json::from_str(&text).expect("to_line is JSON");
                    assert_eq!(back, msg);
                    let err = jsonrpc::error(
                        msg.get("id").cloned().unwrap_or(Value::Null),
                        jsonrpc::INVALID_REQUEST,
                        "x",
                        None,
                    );
                    assert_eq!(jsonrpc::kind(&err), Kind::Response);
                }
            }
        }
    }
});
