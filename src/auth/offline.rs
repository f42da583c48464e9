//! What the sign-in gate answers while signed out: the last good
//! `initialize` or `server/discover` result (or minimal capabilities), the
//! cached tool list (or a single `sign_in` tool), empty lists, and for a tool
//! call the sign-in link (starting or joining the one sign-in shared by every
//! bridge on the server). A bundle answers for a signed-out member from here
//! too. A 2026-07-28 request (one with the protocol version in its `_meta`)
//! gets `resultType`, and lists `ttlMs: 0` so the stand-in is not cached.

use super::flow::Want;
use super::{OAuth, login_timeout, record};
use crate::jsonrpc;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// How long a sign-in started by a tool call waits for the browser.
const SERVE_LOGIN_TIMEOUT: Duration = Duration::from_secs(600);

/// The answer to a request made while signed out.
pub enum Answer {
    Result(Value),
    Error(String),
    /// A tool call: answer with [`sign_in_result`].
    SignIn,
}

fn cached(oauth: &OAuth, key: &str) -> Option<Value> {
    record::cached(&oauth.snapshot(), key)
}

/// The last good `initialize` result, or minimal capabilities; either way
/// announcing `tools.listChanged` so the client re-lists after sign-in.
pub fn initialize_result(oauth: &OAuth, request: &Value) -> Value {
    let name = oauth.name();
    let mut r = cached(oauth, record::INITIALIZE).unwrap_or_else(|| {
        let version = request
            .pointer("/params/protocolVersion")
            .cloned()
            .unwrap_or(json!("2025-06-18"));
        json!({
            "protocolVersion": version,
            "capabilities": {},
            "serverInfo": {"name": format!("{name} (via mcp-bridge)"), "version": env!("CARGO_PKG_VERSION")},
            "instructions": format!("Not signed in to `{name}` yet: calling a tool returns a sign-in link.")
        })
    });
    if !r["capabilities"].is_object() {
        r["capabilities"] = json!({});
    }
    if !r["capabilities"]["tools"].is_object() {
        r["capabilities"]["tools"] = json!({});
    }
    r["capabilities"]["tools"]["listChanged"] = json!(true);
    r
}

/// The protocol version a 2026-07-28 request names in its `_meta`.
fn meta_version(request: &Value) -> Option<&str> {
    request
        .pointer("/params/_meta/io.modelcontextprotocol~1protocolVersion")
        .and_then(Value::as_str)
}

/// The last good `server/discover` result, or minimal capabilities at the
/// version the client asked for.
pub fn discover_result(oauth: &OAuth, request: &Value) -> Value {
    let name = oauth.name();
    let mut r = cached(oauth, record::DISCOVER).unwrap_or_else(|| {
        json!({
            "supportedVersions": [meta_version(request).unwrap_or("2026-07-28")],
            "capabilities": {},
            "instructions": format!("Not signed in to `{name}` yet: calling a tool returns a sign-in link."),
            "_meta": {"io.modelcontextprotocol/serverInfo":
                {"name": format!("{name} (via mcp-bridge)"), "version": env!("CARGO_PKG_VERSION")}}
        })
    });
    if !r["capabilities"].is_object() {
        r["capabilities"] = json!({});
    }
    if !r["capabilities"]["tools"].is_object() {
        r["capabilities"]["tools"] = json!({});
    }
    r["capabilities"]["tools"]["listChanged"] = json!(true);
    r["ttlMs"] = json!(0);
    r
}

pub fn answer(oauth: &OAuth, msg: &Value) -> Answer {
    match answer_any_era(oauth, msg) {
        Answer::Result(mut r) if meta_version(msg).is_some() => {
            if let Some(o) = r.as_object_mut() {
                o.entry("resultType").or_insert(json!("complete"));
                if jsonrpc::method(msg).is_some_and(|m| m.ends_with("/list") || m == "server/discover") {
                    o.insert("ttlMs".into(), json!(0));
                    o.entry("cacheScope").or_insert(json!("private"));
                }
            }
            Answer::Result(r)
        }
        other => other,
    }
}

fn answer_any_era(oauth: &OAuth, msg: &Value) -> Answer {
    let name = oauth.name();
    match jsonrpc::method(msg).unwrap_or("") {
        "server/discover" => Answer::Result(discover_result(oauth, msg)),
        "tools/list" => {
            let first_page = msg.pointer("/params/cursor").is_none();
            Answer::Result(cached(oauth, record::TOOLS).filter(|_| first_page).unwrap_or_else(|| {
                json!({"tools": [{
                    "name": "sign_in",
                    "description": format!("Sign in to `{name}`: returns the sign-in link and opens the browser. \
                                            Its tools appear once you are signed in."),
                    "inputSchema": {"type": "object", "properties": {}}
                }]})
            }))
        }
        "tools/call" => Answer::SignIn,
        "ping" | "logging/setLevel" => Answer::Result(json!({})),
        "resources/list" => Answer::Result(json!({"resources": []})),
        "resources/templates/list" => Answer::Result(json!({"resourceTemplates": []})),
        "prompts/list" => Answer::Result(json!({"prompts": []})),
        m => Answer::Error(format!("mcp-bridge: cannot run `{m}`: {}", oauth.sign_in_hint())),
    }
}

/// The whole JSON-RPC answer to a request made while signed out (a tool
/// call waits for the sign-in to start and answers with its link).
pub async fn respond(oauth: &Arc<OAuth>, msg: &Value) -> Value {
    let id = msg.get("id").cloned().unwrap_or(Value::Null);
    match answer(oauth, msg) {
        Answer::Result(r) => json!({"jsonrpc": "2.0", "id": id, "result": r}),
        Answer::Error(e) => jsonrpc::error(id, jsonrpc::REMOTE_ERROR, e, None),
        Answer::SignIn => json!({"jsonrpc": "2.0", "id": id, "result": sign_in_result(oauth).await}),
    }
}

/// The result of a tool call made while signed out: the sign-in link. It
/// says `resultType: "complete"`, which a 2026-07-28 client reads and a
/// 2025 one ignores.
pub async fn sign_in_result(oauth: &Arc<OAuth>) -> Value {
    let name = oauth.name();
    let want = Want {
        open_browser: true,
        scopes: None,
        fresh: false,
        timeout: login_timeout(SERVE_LOGIN_TIMEOUT),
    };
    match oauth.begin(want).await {
        Ok(b) => {
            let opened = if b.opened {
                "A browser tab has been opened for it. "
            } else {
                ""
            };
            json!({
                "content": [{"type": "text", "text": format!(
                    "Sign-in required: mcp-bridge is not signed in to `{name}`. {opened}Open this link to sign in:\n\n{}\n\n\
                     Once you have signed in, the tools of `{name}` become available; then try again.", b.url)}],
                "isError": true,
                "resultType": "complete",
                "_meta": {"mcp-bridge/sign-in": {"server": name, "url": b.url}}
            })
        }
        Err(e) => json!({
            "content": [{"type": "text", "text": format!("Sign-in required for `{name}`, but it cannot start: {e}")}],
            "isError": true,
            "resultType": "complete"
        }),
    }
}
