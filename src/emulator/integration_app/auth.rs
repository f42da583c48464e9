//! How the Integration.app (Membrane) MCP server reads a request's token,
//! copied from its open-source code: Express's query parser, the auth
//! middleware's choice between `?token=` and the bearer header, and the
//! unverified JWT decode that rejects anything but a JWT with an `id`.
//! Also the OAuth metadata the Membrane server publishes.

use super::Ia;
use crate::emulator::common::{json_error, jwt};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// A query string as Express 4 parses it into `req.query` (its default
/// "extended" parser, the `qs` package): a key given more than once becomes
/// an array of its values.
#[derive(Debug, Default, Clone)]
pub struct Query(HashMap<String, Vec<String>>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned() {
            map.entry(k).or_default().push(v);
        }
        Query(map)
    }

    /// The value of `key` when it was given once (a string to Express).
    pub fn one(&self, key: &str) -> Option<&str> {
        match self.0.get(key).map(Vec::as_slice) {
            Some([v]) => Some(v.as_str()),
            _ => None,
        }
    }

    /// Whether `key` was given more than once (an array to Express).
    pub fn repeated(&self, key: &str) -> bool {
        self.0.get(key).is_some_and(|v| v.len() > 1)
    }

    /// The first value of each key, for code that reads plain strings.
    pub fn first_values(&self) -> HashMap<String, String> {
        self.0
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.first()?.clone())))
            .collect()
    }
}

/// The access token of `customer`, as the emulator's Membrane accepts it:
/// a JWT whose payload's `id` is the customer. The same customer always
/// gets the same token, so a printed config keeps working after a restart.
pub fn access_token(customer: &str) -> String {
    jwt(&json!({"id": customer, "iss": "integration-app-emulator"}))
}

fn b64_json(part: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .or_else(|_| URL_SAFE.decode(part))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The `id` claim, read the way `jwt.decode` (jsonwebtoken, through `jws`)
/// reads a token without verifying it: three dot-separated base64url parts
/// (the signature may be empty), a JSON header, and a JSON payload. The
/// auth middleware then wants a truthy `id`.
fn token_id(token: &str) -> Option<String> {
    let parts: Vec<&str> = token.split('.').collect();
    let url_safe = |p: &str| p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if parts.len() != 3 || parts[..2].iter().any(|p| p.is_empty()) || !parts.iter().all(|p| url_safe(p)) {
        return None;
    }
    b64_json(parts[0]).filter(Value::is_object)?;
    match b64_json(parts[1])?.get("id")? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) if n.as_f64() != Some(0.0) => Some(n.to_string()),
        _ => None,
    }
}

/// Who a request is from, once the auth middleware let it through.
pub struct Caller {
    /// The token the middleware picked (`req.token`).
    pub token: String,
    /// Its `id` claim (`req.userId`).
    pub user: String,
}

fn unauthorized(what: &str) -> Response {
    // No `WWW-Authenticate`: the middleware sends JSON only.
    json_error(
        StatusCode::UNAUTHORIZED,
        json!({"error": format!("Unauthorized: {what}")}),
    )
}

/// The auth middleware (integration-app/mcp-server
/// src/server/middlewares/auth.ts, mounted before `/sse` and `/mcp` in
/// src/server/index.ts): `?token=` wins over `Authorization: Bearer`; a
/// missing token is 401 "No token provided"; a token that does not decode
/// as a JWT with an `id` is 401 "Invalid token format". A repeated `token`
/// key reaches the decode as an array, which `jws` turns into JSON text that
/// is no JWT: the same 401, even when each copy is valid.
pub fn authenticate(headers: &HeaderMap, query: &Query) -> Result<Caller, Box<Response>> {
    let token = if query.repeated("token") {
        return Err(Box::new(unauthorized("Invalid token format")));
    } else if let Some(t) = query.one("token").filter(|t| !t.is_empty()) {
        t.to_string()
    } else {
        // `startsWith('Bearer ')`: the scheme is matched case-sensitively.
        match headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .filter(|t| !t.is_empty())
        {
            Some(t) => t.to_string(),
            None => return Err(Box::new(unauthorized("No token provided"))),
        }
    };
    match token_id(&token) {
        Some(user) => Ok(Caller { token, user }),
        None => Err(Box::new(unauthorized("Invalid token format"))),
    }
}

/// Membrane's OAuth metadata (membranehq/mcp-server
/// src/server/routes/oauth.ts): RFC 8414 metadata whose issuer is the
/// Membrane API (`MEMBRANE_API_URL`, here the upstream authorization
/// server's base) while the authorize endpoint is this server's proxy, and
/// token, registration and revocation are the API's; one scope, `tenant`.
pub async fn authorization_server_metadata(State(ia): State<Arc<Ia>>) -> Response {
    let Some(up) = ia.upstream.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let api = up.base();
    axum::Json(json!({
        "issuer": api,
        "authorization_endpoint": format!("{}/oauth/authorize", ia.base),
        "token_endpoint": format!("{api}/oauth/token"),
        "registration_endpoint": format!("{api}/oauth/register"),
        "revocation_endpoint": format!("{api}/oauth/revoke"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": ["tenant"],
        "code_challenge_methods_supported": ["S256"],
        "client_id_metadata_document_supported": true,
    }))
    .into_response()
}

/// Membrane's protected-resource metadata (same file): the resource is
/// `MCP_RESOURCE_URL` (a deployment sets it to its own MCP URL, as here;
/// unset, it is `<MEMBRANE_API_URL>/mcp/self-integration`), served by the
/// Membrane API.
pub async fn protected_resource_metadata(State(ia): State<Arc<Ia>>) -> Response {
    let Some(up) = ia.upstream.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    axum::Json(json!({
        "resource": format!("{}/mcp", ia.base),
        "authorization_servers": [up.base()],
        "scopes_supported": ["tenant"],
        "bearer_methods_supported": ["header"],
    }))
    .into_response()
}

/// The authorize proxy (same file, and src/server/utils/oauth/scope.ts):
/// every string parameter is passed on, `scope` reduced to the single
/// highest one (`platform-user` before `tenant`, else the first), then a
/// 302 to the Membrane API's authorize endpoint.
pub async fn authorize_proxy(State(ia): State<Arc<Ia>>, RawQuery(q): RawQuery) -> Response {
    let Some(up) = ia.upstream.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let query = Query::parse(q.as_deref());
    let Ok(mut target) = url::Url::parse(&format!("{}/oauth/authorize", up.base())) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    {
        let mut pairs = target.query_pairs_mut();
        for (k, v) in query.first_values() {
            if k == "scope" {
                let scopes: Vec<&str> = v.split(' ').filter(|s| !s.is_empty()).collect();
                let pick = ["platform-user", "tenant"]
                    .into_iter()
                    .find(|p| scopes.len() > 1 && scopes.contains(p))
                    .or(scopes.first().copied());
                if let Some(s) = pick {
                    pairs.append_pair("scope", s);
                }
            } else if !query.repeated(&k) {
                pairs.append_pair(&k, &v);
            }
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jwt_with_an_id_is_read_and_anything_else_is_not() {
        assert_eq!(token_id(&access_token("cust-7")).as_deref(), Some("cust-7"));
        assert_eq!(token_id(&jwt(&json!({"sub": "x"}))), None, "no id");
        assert_eq!(token_id(&jwt(&json!({"id": ""}))), None, "empty id");
        assert_eq!(token_id("not-a-jwt"), None);
        let t = access_token("c");
        assert_eq!(token_id(&format!("{t},{t}")), None, "two tokens joined");
        let unsigned = t.rsplit_once('.').unwrap().0.to_string() + ".";
        assert_eq!(token_id(&unsigned).as_deref(), Some("c"), "the signature may be empty");
    }

    #[test]
    fn a_repeated_key_is_an_array() {
        let q = Query::parse(Some("token=a&token=a&mode=dynamic"));
        assert!(q.repeated("token"));
        assert_eq!(q.one("token"), None);
        assert_eq!(q.one("mode"), Some("dynamic"));
    }
}
