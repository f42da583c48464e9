//! The emulator's authorization server: dynamic registration, authorize,
//! token (authorization code with PKCE S256 and `resource` checked, refresh
//! with rotation) and revocation, strict enough that a client that gets a
//! step wrong is refused.

use super::{Client, Emu, Grant};
use crate::store::now;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

fn random(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn error_page(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, Html(format!("<h1>{error}</h1>"))).into_response()
}

fn redirect(to: &str, pairs: &[(&str, &str)]) -> Response {
    let mut u = match url::Url::parse(to) {
        Ok(u) => u,
        Err(_) => return error_page("invalid_request: bad redirect_uri"),
    };
    for (k, v) in pairs {
        u.query_pairs_mut().append_pair(k, v);
    }
    (StatusCode::FOUND, [(header::LOCATION, u.to_string())]).into_response()
}

fn loopback(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|u| u.scheme() == "http" && u.host_str() == Some("127.0.0.1"))
}

pub(super) fn authorize(emu: &Emu, q: &BTreeMap<String, String>) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let Some(client) = super::extensions::client(emu, get("client_id")) else {
        // RFC 6749 §4.1.2.1: never redirect for an unknown client.
        return error_page("invalid_client: unknown client_id");
    };
    let redirect_uri = get("redirect_uri");
    let allowed = if client.redirect_uris.is_empty() {
        loopback(redirect_uri)
    } else {
        client.redirect_uris.iter().any(|r| r == redirect_uri)
    };
    if !allowed {
        return error_page("invalid_request: redirect_uri not registered");
    }
    let state = get("state");
    let fail = |e: &str| redirect(redirect_uri, &[("error", e), ("state", state)]);
    if get("response_type") != "code" {
        return fail("unsupported_response_type");
    }
    if get("code_challenge").is_empty() || get("code_challenge_method") != "S256" {
        return fail("invalid_request");
    }
    if get("resource") != super::extensions::resource(emu) {
        return fail("invalid_target");
    }
    let code = random("code");
    let grant = Grant {
        client_id: get("client_id").to_string(),
        scope: get("scope").to_string(),
        resource: get("resource").to_string(),
        expires_at: now() + 600,
        issuer: emu.issuer(),
    };
    emu.st().codes.insert(
        code.clone(),
        (grant, redirect_uri.to_string(), get("code_challenge").to_string()),
    );
    match super::extensions::iss(emu) {
        Some(iss) => redirect(redirect_uri, &[("code", &code), ("state", state), ("iss", &iss)]),
        None => redirect(redirect_uri, &[("code", &code), ("state", state)]),
    }
}

/// The authenticated client's id, or the error response.
fn client_of(emu: &Emu, q: &BTreeMap<String, String>) -> Result<String, Box<Response>> {
    if let Some(asserted) = super::extensions::asserted_client(emu, q) {
        return asserted.map_err(|why| Box::new(oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", &why)));
    }
    let basic = q
        .get("authorization")
        .and_then(|a| a.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            let (i, p) = s.split_once(':')?;
            let dec = |x: &str| {
                url::form_urlencoded::parse(format!("x={x}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            Some((dec(i)?, Some(dec(p)?)))
        });
    let (id, secret) = basic.unwrap_or_else(|| {
        (
            q.get("client_id").cloned().unwrap_or_default(),
            q.get("client_secret").cloned(),
        )
    });
    let unknown = || {
        Box::new(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client",
        ))
    };
    let client = super::extensions::client(emu, &id).ok_or_else(unknown)?;
    match (&client.secret, &secret) {
        (Some(want), Some(got)) if want == got => Ok(id),
        (None, _) => Ok(id),
        _ => Err(Box::new(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "bad client credentials",
        ))),
    }
}

fn issue(emu: &Emu, grant: Grant, refresh: Option<String>) -> Response {
    let access = if emu.opts.jwt_access_tokens {
        crate::emulator::common::jwt(&json!({"id": grant.client_id, "jti": random("at")}))
    } else {
        random("at")
    };
    let mut g = grant.clone();
    g.expires_at = now().saturating_add(emu.opts.access_ttl);
    let mut st = emu.st();
    st.access.insert(access.clone(), g);
    let refresh = refresh.unwrap_or_else(|| random("rt"));
    st.refresh.insert(refresh.clone(), grant.clone());
    let mut body = json!({
        "access_token": access, "token_type": "Bearer", "expires_in": emu.opts.access_ttl,
        "refresh_token": refresh
    });
    if !grant.scope.is_empty() {
        body["scope"] = json!(grant.scope);
    }
    (StatusCode::OK, axum::Json(body)).into_response()
}

pub(super) fn token(emu: &Emu, q: &BTreeMap<String, String>) -> Response {
    let client_id = match client_of(emu, q) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let bad = |e: &str, d: &str| oauth_error(StatusCode::BAD_REQUEST, e, d);
    match get("grant_type") {
        "authorization_code" => {
            let Some((grant, redirect_uri, challenge)) = emu.st().codes.remove(get("code")) else {
                return bad("invalid_grant", "unknown or used code");
            };
            if grant.client_id != client_id || grant.expires_at < now() || redirect_uri != get("redirect_uri") {
                return bad("invalid_grant", "code issued to another client or redirect_uri");
            }
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(get("code_verifier").as_bytes()));
            if computed != challenge {
                return bad("invalid_grant", "PKCE verification failed");
            }
            if get("resource") != grant.resource {
                return bad("invalid_target", "resource differs from the authorization request");
            }
            issue(emu, grant, None)
        }
        "refresh_token" => {
            let rt = get("refresh_token").to_string();
            let Some(grant) = emu.st().refresh.get(&rt).cloned() else {
                return bad("invalid_grant", "unknown refresh token");
            };
            if grant.client_id != client_id {
                return bad("invalid_grant", "refresh token of another client");
            }
            if q.contains_key("resource") && get("resource") != grant.resource {
                return bad("invalid_target", "resource differs");
            }
            if emu.opts.rotate_refresh {
                emu.st().refresh.remove(&rt);
                issue(emu, grant, None)
            } else {
                issue(emu, grant, Some(rt))
            }
        }
        "client_credentials" => super::extensions::client_credentials(emu, &client_id, q),
        super::extensions::JWT_BEARER => super::extensions::jwt_bearer(emu, &client_id, q),
        _ => bad("unsupported_grant_type", "authorization_code or refresh_token"),
    }
}

pub(super) fn register(emu: &Emu, body: &[u8]) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_client_metadata", "not JSON");
    };
    let redirect_uris: Vec<String> = serde_json::from_value(req["redirect_uris"].clone()).unwrap_or_default();
    if redirect_uris.is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_redirect_uri",
            "redirect_uris required",
        );
    }
    let method = req["token_endpoint_auth_method"]
        .as_str()
        .unwrap_or("client_secret_basic")
        .to_string();
    let id = random("client");
    let secret = (method != "none").then(|| random("secret"));
    let reading = random("rat");
    let issuer = emu.issuer();
    let mut st = emu.st();
    st.registrations += 1;
    st.clients.insert(
        id.clone(),
        Client {
            secret: secret.clone(),
            redirect_uris: redirect_uris.clone(),
            issuer,
            registration_token: Some(reading.clone()),
        },
    );
    let mut resp = json!({
        "client_id": id, "redirect_uris": redirect_uris, "token_endpoint_auth_method": method,
        "client_name": req["client_name"], "grant_types": ["authorization_code", "refresh_token"],
        "registration_client_uri": format!("{}/{id}", emu.endpoint("register")), "registration_access_token": reading,
        "client_secret_expires_at": 0
    });
    if let Some(s) = secret {
        resp["client_secret"] = json!(s);
    }
    (StatusCode::CREATED, axum::Json(resp)).into_response()
}

pub(super) fn revoke(emu: &Emu, q: &BTreeMap<String, String>) -> Response {
    if let Err(r) = client_of(emu, q) {
        return *r;
    }
    let t = q.get("token").cloned().unwrap_or_default();
    let mut st = emu.st();
    st.access.remove(&t);
    st.refresh.remove(&t);
    StatusCode::OK.into_response()
}
