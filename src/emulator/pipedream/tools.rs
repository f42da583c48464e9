//! The Pipedream emulator's tools: the app named in `x-pd-app-slug`, shaped
//! by `x-pd-tool-mode` on the root endpoint and always with the full schema
//! on `/v3` (the tool-modes page: "everything is now essentially
//! tools-only" there), plus one more once the user has connected the app
//! (where accounts are required); a call without an account gets the
//! hosted server's connect answer.

use super::accounts::Accounts;
use crate::emulator::common::{Answer, RpcError, Session, Tools};
use axum::http::HeaderMap;
use serde_json::{Value, json};
use std::sync::Arc;

/// Tools for the app named in `x-pd-app-slug`, shaped by `x-pd-tool-mode`.
pub(super) struct PdTools(pub(super) Arc<Accounts>);

fn header(h: &HeaderMap, name: &str) -> String {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
}

/// Set by the emulator on requests to `/v3`.
pub(super) const V3: &str = "x-emulator-v3";

fn tool_names(h: &HeaderMap) -> (String, Vec<String>) {
    let app = Some(header(h, "x-pd-app-slug"))
        .filter(|a| !a.is_empty())
        .unwrap_or("pipedream".into());
    let mode = if h.contains_key(V3) {
        "tools-only".to_string()
    } else {
        Some(header(h, "x-pd-tool-mode"))
            .filter(|m| !m.is_empty())
            .unwrap_or("sub-agent".into())
    };
    let names = ["send-message", "list-channels"].iter().map(|a| format!("{app}-{a}"));
    let names = if mode == "sub-agent" {
        names.map(|n| n.to_uppercase()).collect()
    } else {
        names.collect()
    };
    (mode, names)
}

impl PdTools {
    /// A connected account (where accounts are required) adds a tool.
    fn extra_tool(&self, h: &HeaderMap, names: &mut Vec<String>) {
        let app = header(h, "x-pd-app-slug");
        if self.0.required && self.0.is_connected(&header(h, "x-pd-external-user-id"), &app) {
            let name = format!("{app}-get-current-user");
            let sub_agent = names.first().is_some_and(|n| n.chars().any(|c| c.is_ascii_uppercase()));
            names.push(if sub_agent { name.to_uppercase() } else { name });
        }
    }
}

impl Tools for PdTools {
    fn server_name(&self) -> &'static str {
        "pipedream-emulator"
    }

    fn list(&self, _s: &Session, h: &HeaderMap) -> Vec<Value> {
        let (mode, mut names) = tool_names(h);
        self.extra_tool(h, &mut names);
        let schema = if mode == "sub-agent" {
            json!({"type": "object", "properties": {"instruction": {"type": "string"}}, "required": ["instruction"]})
        } else {
            json!({"type": "object", "properties": {"channel": {"type": "string"}, "text": {"type": "string"}}})
        };
        names
            .into_iter()
            .map(|n| json!({"name": n, "description": format!("Pipedream action {n}"), "inputSchema": schema}))
            .collect()
    }

    fn call(&self, _s: &Session, h: &HeaderMap, name: &str, args: &Value) -> Result<Answer, RpcError> {
        let (_, mut names) = tool_names(h);
        self.extra_tool(h, &mut names);
        if !names.iter().any(|n| n == name) {
            return Err(RpcError {
                code: -32602,
                message: format!("Tool {name} not found"),
            });
        }
        let user = header(h, "x-pd-external-user-id");
        if let Some(result) = self.0.account_required(&user, &header(h, "x-pd-app-slug")) {
            return Ok(Answer {
                result,
                notifications: vec![],
            });
        }
        Ok(Answer::text(format!("{name} ran for {user} with {args}"), false))
    }
}
