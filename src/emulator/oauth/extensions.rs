//! The emulator's 2026-07-28 authorization rules and extension grants,
//! each switched on by an `OAuthOptions` field:
//!
//! - the authorization response's `iss` (RFC 9207), right, missing, another
//!   issuer's or with a trailing slash;
//! - client ID metadata documents: an https `client_id` is taken without
//!   registration;
//! - RFC 7592: a registration is read at its `registration_client_uri`;
//! - the client-credentials grant, the client authenticating with its secret
//!   (Basic or in the body) or a `private_key_jwt` assertion;
//! - enterprise-managed authorization: an identity provider at `/idp`
//!   whose token endpoint exchanges an ID token for an ID-JAG (RFC 8693),
//!   and the `jwt-bearer` grant that redeems it (RFC 7523);
//! - a move to another authorization server
//!   ([`super::OAuthEmulator::move_authorization_server`]).
//!
//! The ID tokens and ID-JAGs are HS256 JWTs under a key only this emulator
//! knows, so a forged or altered one is refused.

use super::{Client, Emu, Grant};
use crate::store::now;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub(super) const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
const CLIENT_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The bridge's client at the emulated identity provider.
pub const IDP_CLIENT_ID: &str = "emulator-idp-client";

/// What the authorization response says about its issuer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Iss {
    /// The real issuer.
    #[default]
    Correct,
    Omitted,
    /// The real issuer with a `/` appended.
    TrailingSlash,
    Other(String),
}

/// The `issuer` the authorization-server metadata names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MetadataIssuer {
    /// The issuer it was looked up for.
    #[default]
    Real,
    /// None at all.
    Missing,
    /// The bare origin: the same host and port as the real issuer, another identifier.
    Origin,
    Other(String),
}

/// The `resource` the protected-resource metadata publishes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PrmResource {
    /// The MCP URL, `http://127.0.0.1:PORT/mcp`.
    #[default]
    McpUrl,
    /// The bare origin, `http://127.0.0.1:PORT` (no trailing slash).
    Origin,
    /// None at all.
    Missing,
    Other(String),
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// The resource indicator the protected-resource metadata publishes (and
/// requests must carry): the MCP URL (or the `resource` option's) unless
/// `prm_resource` says otherwise.
pub(super) fn resource(emu: &Emu) -> String {
    match &emu.opts.prm_resource {
        PrmResource::Origin => emu.base.clone(),
        PrmResource::Other(r) => r.clone(),
        PrmResource::McpUrl | PrmResource::Missing => emu.resource_url(),
    }
}

/// The `iss` to put in an authorization response, if any.
pub(super) fn iss(emu: &Emu) -> Option<String> {
    match &emu.opts.iss {
        Iss::Correct => Some(emu.issuer()),
        Iss::Omitted => None,
        Iss::TrailingSlash => Some(format!("{}/", emu.issuer())),
        Iss::Other(s) => Some(s.clone()),
    }
}

/// The client `id` as the current authorization server knows it: one it
/// registered (or was given) itself, or a client ID metadata document.
pub(super) fn client(emu: &Emu, id: &str) -> Option<Client> {
    let issuer = emu.issuer();
    let known = emu.st().clients.get(id).cloned();
    if let Some(c) = known.filter(|c| c.issuer == issuer) {
        return Some(c);
    }
    let document = url::Url::parse(id).is_ok_and(|u| u.scheme() == "https" && u.path() != "/");
    (emu.opts.client_documents && document).then_some(Client {
        secret: None,
        redirect_uris: vec![],
        issuer,
        registration_token: None,
    })
}

/// Additions to the authorization-server metadata.
pub(super) fn metadata(emu: &Emu, m: &mut Value) {
    match &emu.opts.metadata_issuer {
        MetadataIssuer::Real => {}
        MetadataIssuer::Missing => {
            m.as_object_mut().map(|o| o.remove("issuer"));
        }
        MetadataIssuer::Origin => m["issuer"] = json!(emu.base),
        MetadataIssuer::Other(other) => m["issuer"] = json!(other),
    }
    if let Some(a) = emu.opts.advertise_iss {
        m["authorization_response_iss_parameter_supported"] = json!(a);
    }
    if let Some(s) = &emu.opts.server_scopes {
        m["scopes_supported"] = json!(s);
    }
    if emu.opts.client_documents {
        m["client_id_metadata_document_supported"] = json!(true);
    }
    let mut grants = vec!["authorization_code", "refresh_token"];
    if emu.opts.client_credentials {
        grants.push("client_credentials");
    }
    if emu.opts.enterprise {
        grants.push(JWT_BEARER);
    }
    m["grant_types_supported"] = json!(grants);
    if emu.opts.client_jwt_key.is_some() {
        let mut methods: Vec<String> = emu.opts.token_auth_methods.clone();
        methods.push("private_key_jwt".into());
        m["token_endpoint_auth_methods_supported"] = json!(methods);
        m["token_endpoint_auth_signing_alg_values_supported"] = json!(["ES256", "RS256"]);
    }
}

/// RFC 7592 §2.1: read a registration with its registration access token.
pub(super) fn read_registration(emu: &Emu, id: &str, q: &BTreeMap<String, String>) -> Response {
    let token = q.get("authorization").and_then(|a| a.strip_prefix("Bearer "));
    let known = client(emu, id).filter(|c| c.registration_token.is_some() && c.registration_token.as_deref() == token);
    match known {
        Some(c) => (
            StatusCode::OK,
            axum::Json(json!({"client_id": id, "redirect_uris": c.redirect_uris})),
        )
            .into_response(),
        None => oauth_error(StatusCode::UNAUTHORIZED, "invalid_token", "unknown client or token"),
    }
}

/// A `private_key_jwt` client assertion (RFC 7523 §2.2), if the request
/// carries one: the client it proves, or why it proves nothing.
pub(super) fn asserted_client(emu: &Emu, q: &BTreeMap<String, String>) -> Option<Result<String, String>> {
    let assertion = q.get("client_assertion")?;
    if q.get("client_assertion_type").map(String::as_str) != Some(CLIENT_ASSERTION) {
        return Some(Err("client_assertion_type is not jwt-bearer".into()));
    }
    let Some(pem) = &emu.opts.client_jwt_key else {
        return Some(Err("this server takes no client assertions".into()));
    };
    let header = match jsonwebtoken::decode_header(assertion) {
        Ok(h) => h,
        Err(e) => return Some(Err(format!("bad assertion: {e}"))),
    };
    let key = match header.alg {
        Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(pem.as_bytes()),
        _ => DecodingKey::from_rsa_pem(pem.as_bytes()),
    };
    let key = match key {
        Ok(k) => k,
        Err(e) => return Some(Err(format!("bad key: {e}"))),
    };
    let mut v = Validation::new(header.alg);
    v.set_audience(&[emu.issuer()]);
    v.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    let claims = match jsonwebtoken::decode::<Value>(assertion, &key, &v) {
        Ok(d) => d.claims,
        Err(e) => return Some(Err(format!("assertion refused: {e}"))),
    };
    let (iss, sub) = (claims["iss"].as_str(), claims["sub"].as_str());
    if iss.is_none() || iss != sub {
        return Some(Err("iss and sub must both be the client_id".into()));
    }
    let id = sub.unwrap_or_default().to_string();
    Some(match client(emu, &id) {
        Some(_) => Ok(id),
        None => Err("unknown client".into()),
    })
}

/// An access token without a refresh token (the grants here issue none).
fn issue_access(emu: &Emu, client_id: &str, scope: &str) -> Response {
    let access = format!("at-{}", uuid::Uuid::new_v4().simple());
    let grant = Grant {
        client_id: client_id.to_string(),
        scope: scope.to_string(),
        resource: resource(emu),
        expires_at: now() + emu.opts.access_ttl,
        issuer: emu.issuer(),
    };
    emu.st().access.insert(access.clone(), grant);
    let mut body = json!({"access_token": access, "token_type": "Bearer", "expires_in": emu.opts.access_ttl});
    if !scope.is_empty() {
        body["scope"] = json!(scope);
    }
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// The client-credentials grant, for an authenticated client.
pub(super) fn client_credentials(emu: &Emu, client_id: &str, q: &BTreeMap<String, String>) -> Response {
    if !emu.opts.client_credentials {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "no client_credentials here",
        );
    }
    if q.get("resource") != Some(&resource(emu)) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "resource must be the MCP server",
        );
    }
    issue_access(emu, client_id, q.get("scope").map(String::as_str).unwrap_or(""))
}

fn key(emu: &Emu) -> (EncodingKey, DecodingKey) {
    (
        EncodingKey::from_secret(emu.jwt_key.as_bytes()),
        DecodingKey::from_secret(emu.jwt_key.as_bytes()),
    )
}

fn sign(emu: &Emu, typ: Option<&str>, claims: &Value) -> String {
    let mut h = Header::new(Algorithm::HS256);
    h.typ = typ.map(str::to_string);
    jsonwebtoken::encode(&h, claims, &key(emu).0).unwrap_or_default()
}

/// The claims of a JWT this emulator signed, for `audience`, or why not.
fn verify(emu: &Emu, jwt: &str, audience: &str, typ: Option<&str>) -> Result<Value, String> {
    let header = jsonwebtoken::decode_header(jwt).map_err(|e| e.to_string())?;
    if header.typ.as_deref() != typ {
        return Err(format!("typ must be {typ:?}"));
    }
    let mut v = Validation::new(Algorithm::HS256);
    v.set_audience(&[audience]);
    v.set_issuer(&[emu.idp_issuer()]);
    jsonwebtoken::decode::<Value>(jwt, &key(emu).1, &v)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}

/// An ID token the identity provider issued to the bridge for `subject`.
pub(super) fn id_token(emu: &Emu, subject: &str) -> String {
    let t = now();
    sign(
        emu,
        None,
        &json!({"iss": emu.idp_issuer(), "sub": subject, "aud": IDP_CLIENT_ID, "iat": t, "exp": t + 3600}),
    )
}

/// The identity provider's OpenID metadata.
pub(super) fn idp_metadata(emu: &Emu) -> Value {
    json!({
        "issuer": emu.idp_issuer(),
        "authorization_endpoint": format!("{}/authorize", emu.idp_issuer()),
        "token_endpoint": format!("{}/token", emu.idp_issuer()),
        "grant_types_supported": [TOKEN_EXCHANGE],
    })
}

/// The identity provider's token endpoint: an ID token for an ID-JAG.
pub(super) fn idp_token(emu: &Emu, q: &BTreeMap<String, String>) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let bad = |d: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_request", d);
    if !emu.opts.enterprise {
        return StatusCode::NOT_FOUND.into_response();
    }
    if get("grant_type") != TOKEN_EXCHANGE
        || get("requested_token_type") != ID_JAG
        || get("subject_token_type") != ID_TOKEN
    {
        return bad("expected a token exchange of an ID token for an ID-JAG");
    }
    if get("client_id") != IDP_CLIENT_ID {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client");
    }
    let claims = match verify(emu, get("subject_token"), IDP_CLIENT_ID, None) {
        Ok(c) => c,
        Err(e) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                &format!("ID token refused: {e}"),
            );
        }
    };
    if get("audience") != emu.issuer() || get("resource") != resource(emu) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "audience or resource is not ours",
        );
    }
    let Some((client_id, _)) = &emu.opts.preregistered else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "no client at the authorization server",
        );
    };
    let t = now();
    let mut jag = json!({
        "iss": emu.idp_issuer(), "sub": claims["sub"], "aud": emu.issuer(), "client_id": client_id,
        "jti": uuid::Uuid::new_v4().to_string(), "iat": t, "exp": t + 300, "resource": resource(emu),
    });
    if !get("scope").is_empty() {
        jag["scope"] = json!(get("scope"));
    }
    let mut body = json!({
        "access_token": sign(emu, Some("oauth-id-jag+jwt"), &jag),
        "issued_token_type": ID_JAG, "token_type": "N_A",
    });
    if !get("scope").is_empty() {
        body["scope"] = json!(get("scope"));
    }
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// The `jwt-bearer` grant: an ID-JAG for an access token.
pub(super) fn jwt_bearer(emu: &Emu, client_id: &str, q: &BTreeMap<String, String>) -> Response {
    let refuse = |d: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", d);
    if !emu.opts.enterprise {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "no jwt-bearer here");
    }
    let claims = match verify(
        emu,
        q.get("assertion").map(String::as_str).unwrap_or(""),
        &emu.issuer(),
        Some("oauth-id-jag+jwt"),
    ) {
        Ok(c) => c,
        Err(e) => return refuse(&format!("ID-JAG refused: {e}")),
    };
    if claims["client_id"].as_str() != Some(client_id) {
        return refuse("the ID-JAG was issued for another client");
    }
    if claims["resource"].as_str() != Some(&resource(emu)) {
        return refuse("the ID-JAG is for another resource");
    }
    issue_access(emu, client_id, claims["scope"].as_str().unwrap_or(""))
}
