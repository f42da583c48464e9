//! What the bundle remembers to route messages: which server owns a
//! prefixed name or a resource URI, which server a client request went to
//! (for its cancellation), and the remapped ids of server→client requests
//! (`"<server>:<id>"`, so two servers' ids never collide at the client).

use super::merge::{SEP, template_prefix};
use crate::jsonrpc;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct Routes {
    /// Resource URI → member index, learned from `resources/list`.
    uris: Mutex<HashMap<String, usize>>,
    /// Literal start of each resource template → member index.
    templates: Mutex<Vec<(String, usize)>>,
    /// The client's in-flight requests (id key) → member index.
    in_flight: Mutex<HashMap<jsonrpc::IdKey, usize>>,
    /// Remapped server→client request id → (member index, original id).
    remapped: Mutex<HashMap<jsonrpc::IdKey, (usize, Value)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Split `<server>__<name>` into the member index and the name, choosing
/// the longest server name that matches.
pub fn split_name<'a>(names: &[&str], full: &'a str) -> Option<(usize, &'a str)> {
    names
        .iter()
        .enumerate()
        .filter_map(|(i, server)| {
            full.strip_prefix(server)
                .and_then(|rest| rest.strip_prefix(SEP))
                .map(|rest| (i, server.len(), rest))
        })
        .max_by_key(|(_, len, _)| *len)
        .map(|(i, _, rest)| (i, rest))
}

impl Routes {
    pub fn learn_uri(&self, uri: &str, member: usize) {
        lock(&self.uris).insert(uri.to_string(), member);
    }

    pub fn learn_template(&self, template: &str, member: usize) {
        let prefix = template_prefix(template).to_string();
        let mut t = lock(&self.templates);
        t.retain(|(p, _)| *p != prefix);
        t.push((prefix, member));
    }

    /// The member owning `uri`: a listed resource, else the longest
    /// matching template prefix.
    pub fn uri_owner(&self, uri: &str) -> Option<usize> {
        if let Some(m) = lock(&self.uris).get(uri) {
            return Some(*m);
        }
        lock(&self.templates)
            .iter()
            .filter(|(p, _)| !p.is_empty() && uri.starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, m)| *m)
    }

    pub fn start(&self, id: &Value, member: usize) {
        lock(&self.in_flight).insert(jsonrpc::id_key(id), member);
    }

    pub fn finish(&self, id: &Value) {
        lock(&self.in_flight).remove(&jsonrpc::id_key(id));
    }

    pub fn owner_of_request(&self, id: &Value) -> Option<usize> {
        lock(&self.in_flight).get(&jsonrpc::id_key(id)).copied()
    }

    /// The id the client sees for request `id` of server `name`.
    pub fn client_id(name: &str, id: &Value) -> Value {
        let raw = match id {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Value::String(format!("{name}:{raw}"))
    }

    /// Remember a server→client request and return its client-side id.
    pub fn remap(&self, name: &str, member: usize, id: &Value) -> Value {
        let new = Self::client_id(name, id);
        lock(&self.remapped).insert(jsonrpc::id_key(&new), (member, id.clone()));
        new
    }

    /// The client answered `id`: the member and original id it belongs to.
    pub fn unmap(&self, id: &Value) -> Option<(usize, Value)> {
        lock(&self.remapped).remove(&jsonrpc::id_key(id))
    }

    /// The client-side id of a still-unanswered server→client request.
    pub fn mapped(&self, name: &str, id: &Value) -> Option<Value> {
        let new = Self::client_id(name, id);
        lock(&self.remapped).contains_key(&jsonrpc::id_key(&new)).then_some(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_split_on_the_longest_server() {
        let names = ["a", "a__b"];
        assert_eq!(split_name(&names, "a__x"), Some((0, "x")));
        assert_eq!(split_name(&names, "a__b__x"), Some((1, "x")));
        assert_eq!(split_name(&names, "c__x"), None);
    }

    #[test]
    fn ids_round_trip() {
        let r = Routes::default();
        let a = r.remap("a", 0, &json!(0));
        let b = r.remap("b", 1, &json!(0));
        assert_ne!(a, b);
        assert_eq!(r.mapped("b", &json!(0)), Some(b.clone()));
        assert_eq!(r.unmap(&b), Some((1, json!(0))));
        assert_eq!(r.unmap(&b), None);
        assert_eq!(r.unmap(&a), Some((0, json!(0))));
    }

    #[test]
    fn uris_by_list_then_template() {
        let r = Routes::default();
        r.learn_uri("mem://a/1", 0);
        r.learn_template("mem://b/{id}", 1);
        assert_eq!(r.uri_owner("mem://a/1"), Some(0));
        assert_eq!(r.uri_owner("mem://b/7"), Some(1));
        assert_eq!(r.uri_owner("other://x"), None);
    }
}
