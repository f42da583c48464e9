//! The emulator's resource side: request routing and logging, the metadata
//! documents, and the bearer-protected MCP endpoint with its two tools.

use super::{Discovery, Emu, Logged, authz, extensions};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

fn json_response(status: StatusCode, v: Value) -> Response {
    (status, axum::Json(v)).into_response()
}

fn prm_path(d: Discovery) -> Option<&'static str> {
    match d {
        Discovery::Challenge => Some("/meta/prm.json"),
        Discovery::PathWellKnown => Some("/.well-known/oauth-protected-resource/mcp"),
        Discovery::RootWellKnown => Some("/.well-known/oauth-protected-resource"),
        Discovery::OriginOnly | Discovery::None => None,
    }
}

/// Where the metadata of the issuer at `issuer_path` (`/as`, …) is published.
fn as_metadata_path(d: Discovery, issuer_path: &str) -> Option<String> {
    match d {
        Discovery::Challenge => Some(format!("/.well-known/oauth-authorization-server{issuer_path}")),
        Discovery::PathWellKnown => Some(format!("{issuer_path}/.well-known/openid-configuration")),
        Discovery::RootWellKnown => Some(format!("/.well-known/openid-configuration{issuer_path}")),
        Discovery::OriginOnly => Some("/.well-known/oauth-authorization-server".into()),
        Discovery::None => None,
    }
}

pub(super) fn as_metadata(emu: &Emu) -> Value {
    let mut m = json!({
        "issuer": emu.issuer(),
        "authorization_endpoint": emu.endpoint("authorize"),
        "token_endpoint": emu.endpoint("token"),
        "revocation_endpoint": emu.endpoint("revoke"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": emu.opts.token_auth_methods,
    });
    if emu.opts.registration {
        m["registration_endpoint"] = json!(emu.endpoint("register"));
    }
    if emu.opts.advertise_s256 {
        m["code_challenge_methods_supported"] = json!(["S256"]);
    }
    extensions::metadata(emu, &mut m);
    m
}

/// Every request lands here.
pub(super) async fn handle(
    State(emu): State<Arc<Emu>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let mut params: BTreeMap<String, String> = uri
        .query()
        .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        params.extend(url::form_urlencoded::parse(&body).into_owned());
    }
    // The OAuth endpoints, under `endpoint_prefix`.
    let oauth = path
        .strip_prefix(emu.opts.endpoint_prefix.as_str())
        .filter(|p| p.starts_with('/'));
    // A registration's JSON members, as `json.<name>`, for assertions.
    if oauth == Some("/register")
        && let Ok(Value::Object(members)) = serde_json::from_slice::<Value>(&body)
    {
        for (k, v) in members {
            params.insert(
                format!("json.{k}"),
                v.as_str().map_or_else(|| v.to_string(), str::to_string),
            );
        }
    }
    if let Some(a) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        params.insert("authorization".into(), a.to_string());
    }
    let rpc: Option<Value> = (path == "/mcp").then(|| serde_json::from_slice(&body).ok()).flatten();
    if let Some(m) = rpc.as_ref().and_then(|r| r.get("method")).and_then(Value::as_str) {
        params.insert("rpc_method".into(), m.to_string());
    }
    let d = emu.opts.discovery;
    let metadata_path = as_metadata_path(d, &emu.issuer_path());
    let resp = match (method.as_str(), path.as_str()) {
        ("GET", p) if Some(p) == prm_path(d) => {
            let mut doc = json!({"resource": extensions::resource(&emu), "authorization_servers": [emu.issuer()]});
            if emu.opts.prm_resource == extensions::PrmResource::Missing {
                doc.as_object_mut().map(|o| o.remove("resource"));
            }
            if let Some(s) = &emu.opts.resource_scopes {
                doc["scopes_supported"] = json!(s);
            }
            json_response(StatusCode::OK, doc)
        }
        ("GET", p) if Some(p) == metadata_path.as_deref() => json_response(StatusCode::OK, as_metadata(&emu)),
        ("GET", _) if oauth.is_some_and(|p| p.starts_with("/register/")) => {
            let id = oauth.and_then(|p| p.strip_prefix("/register/")).unwrap_or_default();
            extensions::read_registration(&emu, id, &params)
        }
        ("GET", "/.well-known/openid-configuration/idp") if emu.opts.enterprise => {
            json_response(StatusCode::OK, extensions::idp_metadata(&emu))
        }
        ("POST", "/idp/token") => extensions::idp_token(&emu, &params),
        ("GET", _) if oauth == Some("/authorize") => authz::authorize(&emu, &params),
        ("POST", _) if oauth == Some("/token") => authz::token(&emu, &params),
        ("POST", _) if oauth == Some("/register") && emu.opts.registration => authz::register(&emu, &body),
        ("POST", _) if oauth == Some("/revoke") => authz::revoke(&emu, &params),
        ("POST", "/mcp") => mcp(&emu, &params, rpc),
        (_, "/mcp") => StatusCode::METHOD_NOT_ALLOWED.into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    };
    emu.st().log.push(Logged {
        method: method.to_string(),
        path,
        params,
        status: resp.status().as_u16(),
    });
    resp
}

fn challenge(emu: &Emu, error: &str, scope: Option<&str>) -> String {
    let mut c = format!("Bearer error=\"{error}\"");
    if let Some(s) = scope {
        c.push_str(&format!(", scope=\"{s}\""));
    }
    if emu.opts.discovery == Discovery::Challenge {
        c.push_str(&format!(", resource_metadata=\"{}/meta/prm.json\"", emu.base));
    }
    c
}

fn mcp(emu: &Emu, params: &BTreeMap<String, String>, rpc: Option<Value>) -> Response {
    let token = params.get("authorization").and_then(|a| a.strip_prefix("Bearer "));
    let grant = token.and_then(|t| emu.st().access.get(t).cloned());
    let issuer = emu.issuer();
    let Some(grant) = grant.filter(|g| g.expires_at > crate::store::now() && g.issuer == issuer) else {
        let c = challenge(emu, "invalid_token", emu.opts.challenge_scope.as_deref());
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, c)],
            axum::Json(json!({"error": "invalid_token"})),
        )
            .into_response();
    };
    let Some(rpc) = rpc else {
        return json_response(StatusCode::BAD_REQUEST, json!({"error": "not JSON"}));
    };
    let method = rpc.get("method").and_then(Value::as_str).unwrap_or("");
    let has = |s: &str| grant.scope.split_whitespace().any(|g| g == s);
    if method == "tools/call"
        && let Some(need) = &emu.opts.call_scope
        && !has(need)
    {
        let want = format!("{} {need}", grant.scope).trim().to_string();
        let c = challenge(emu, "insufficient_scope", Some(&want));
        return (
            StatusCode::FORBIDDEN,
            [(header::WWW_AUTHENTICATE, c)],
            axum::Json(json!({"error": "insufficient_scope"})),
        )
            .into_response();
    }
    let Some(id) = rpc.get("id").cloned() else {
        return StatusCode::ACCEPTED.into_response();
    };
    let result = match method {
        "initialize" => json!({
            "protocolVersion": rpc.pointer("/params/protocolVersion").cloned().unwrap_or(json!("2025-06-18")),
            "capabilities": {"tools": {"listChanged": true}},
            "serverInfo": {"name": "oauth-emulator", "version": "1.0.0"}
        }),
        "tools/list" => json!({"tools": [
            {"name": "echo", "description": "Echo `text` back.",
             "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}},
            {"name": "whoami", "description": "The client and scopes of the token.",
             "inputSchema": {"type": "object", "properties": {}}}
        ]}),
        "tools/call" => {
            let text = match rpc.pointer("/params/name").and_then(Value::as_str) {
                Some("echo") => rpc
                    .pointer("/params/arguments/text")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                Some("whoami") => format!("client={} scope={}", grant.client_id, grant.scope),
                _ => {
                    return json_response(
                        StatusCode::OK,
                        json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32602, "message": "unknown tool"}}),
                    );
                }
            };
            json!({"content": [{"type": "text", "text": text}]})
        }
        "ping" => json!({}),
        _ => {
            return json_response(
                StatusCode::OK,
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "method not found"}}),
            );
        }
    };
    json_response(StatusCode::OK, json!({"jsonrpc": "2.0", "id": id, "result": result}))
}
