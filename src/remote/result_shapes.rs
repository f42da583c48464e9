//! A legacy remote's answers, as a modern client must find them.
//!
//! A 2026-07-28 client talking to a 2025 remote through the bridge reads
//! answers with the modern revision's schema, which requires `ttlMs` and
//! `cacheScope` on the results of the list methods and `resources/read`.
//! `ResultShapes` adds what is missing (`ttlMs: 0`, `cacheScope:
//! "private"`: a legacy server's lists belong to its session, and nothing
//! says how long they hold) and `resultType: "complete"`. Other results
//! pass as the remote sent them: the revision tells clients to read a
//! result without `resultType` as complete.

use super::era_shared::EraShared;
use crate::client::Outbox;
use crate::hooks::{Asked, Transform};
use serde_json::{Value, json};
use std::sync::Arc;

/// The results the modern revision makes cacheable.
const CACHEABLE: &[&str] = &[
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
];

pub struct ResultShapes(pub Arc<EraShared>);

impl Transform for ResultShapes {
    fn wants(&self, method: &str, _text: &[u8]) -> bool {
        self.0.upgrading() && CACHEABLE.contains(&method)
    }

    fn response(&self, asked: &Asked<'_>, response: &mut Value, _out: &Outbox) {
        if !self.wants(asked.method, b"") {
            return;
        }
        let Some(result) = response.get_mut("result").and_then(Value::as_object_mut) else {
            return;
        };
        result.entry("resultType").or_insert_with(|| json!("complete"));
        result.entry("ttlMs").or_insert_with(|| json!(0));
        result.entry("cacheScope").or_insert_with(|| json!("private"));
    }
}
