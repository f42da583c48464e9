//! The token and revocation endpoints: the authorization-code exchange,
//! refresh (keeping a rotated refresh token) and revocation. Only tokens the
//! server issued are ever sent to it.
//!
//! Written here rather than taken from rmcp's `AuthorizationManager`: rmcp
//! logs the authorization code at debug level, picks the client
//! authentication only from the server metadata, always sends the resource
//! it discovered itself, and can only refresh after discovery has run again.
//! We keep the token endpoint in the store, so a restarted bridge refreshes
//! without any discovery round trip.

use super::record::Client;
use crate::redact::Redactor;
use rmcp::transport::auth::AuthorizationMetadata;
use serde::Deserialize;

/// A successful token response.
#[derive(Debug, Clone, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

/// Why a token request failed. Never holds a secret.
#[derive(Debug, Clone)]
pub enum TokenError {
    /// The server answered with an OAuth error (`invalid_grant`, `invalid_client`, …).
    Rejected { error: String, description: String },
    /// The request failed otherwise (network, bad response).
    Failed(String),
}

impl TokenError {
    pub fn is(&self, code: &str) -> bool {
        matches!(self, TokenError::Rejected { error, .. } if error == code)
    }
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::Rejected { error, description } if description.is_empty() => {
                write!(f, "the authorization server refused: {error}")
            }
            TokenError::Rejected { error, description } => {
                write!(f, "the authorization server refused: {error} ({description})")
            }
            TokenError::Failed(m) => f.write_str(m),
        }
    }
}

fn lenient_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::Number(n)) => n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

/// The client authentication to use at the token endpoint: what the server
/// lists (`client_secret_basic` is RFC 8414's default), given whether the
/// client has a secret at all.
pub fn auth_method(metadata: &AuthorizationMetadata, has_secret: bool) -> String {
    if !has_secret {
        return "none".into();
    }
    let listed: Vec<String> = metadata
        .additional_fields
        .get("token_endpoint_auth_methods_supported")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let has = |m: &str| listed.iter().any(|l| l == m);
    if listed.is_empty() || has("client_secret_basic") {
        "client_secret_basic".into()
    } else if has("client_secret_post") {
        "client_secret_post".into()
    } else if has("none") {
        "none".into()
    } else {
        "client_secret_basic".into()
    }
}

/// Add the client's authentication to a form request.
fn authenticate(
    req: reqwest::RequestBuilder,
    client: &Client,
    form: &mut Vec<(&'static str, String)>,
) -> reqwest::RequestBuilder {
    match (client.auth_method.as_str(), &client.client_secret) {
        ("client_secret_basic", Some(secret)) => {
            // RFC 6749 §2.3.1: form-encode both parts before Basic.
            let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            req.basic_auth(enc(&client.client_id), Some(enc(secret)))
        }
        ("client_secret_post", Some(secret)) => {
            form.push(("client_id", client.client_id.clone()));
            form.push(("client_secret", secret.clone()));
            req
        }
        _ => {
            form.push(("client_id", client.client_id.clone()));
            req
        }
    }
}

/// POST a grant to the token endpoint.
pub async fn request(
    http: &reqwest::Client,
    endpoint: &str,
    client: &Client,
    mut form: Vec<(&'static str, String)>,
    redactor: &Redactor,
) -> Result<Tokens, TokenError> {
    let req = http.post(endpoint).header(http::header::ACCEPT, "application/json");
    let req = authenticate(req, client, &mut form);
    let resp = req
        .form(&form)
        .send()
        .await
        .map_err(|e| TokenError::Failed(format!("cannot reach the token endpoint: {}", e.without_url())))?;
    let status = resp.status();
    let body = crate::net::small_body(resp)
        .await
        .map_err(|e| TokenError::Failed(format!("the token endpoint's answer: {e}")))?;
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if let Some(error) = json.get("error").and_then(|e| e.as_str()) {
        let description = json.get("error_description").and_then(|d| d.as_str()).unwrap_or("");
        return Err(TokenError::Rejected {
            error: redactor.apply(error),
            description: redactor.apply(description),
        });
    }
    if !status.is_success() {
        return Err(TokenError::Failed(format!("the token endpoint answered HTTP {status}")));
    }
    let tokens: Tokens = serde_json::from_value(json)
        .map_err(|_| TokenError::Failed("the token endpoint sent no usable access token".into()))?;
    if let Some(t) = &tokens.token_type
        && !t.eq_ignore_ascii_case("bearer")
    {
        return Err(TokenError::Failed(format!(
            "unsupported token type `{t}` (expected Bearer)"
        )));
    }
    redactor.add(tokens.access_token.clone());
    if let Some(r) = &tokens.refresh_token {
        redactor.add(r.clone());
    }
    Ok(tokens)
}

/// RFC 7009: revoke `token`. Best effort; the error is already worded.
pub async fn revoke(
    http: &reqwest::Client,
    endpoint: &str,
    client: &Client,
    token: &str,
    hint: &str,
) -> Result<(), String> {
    let mut form = vec![("token", token.to_string()), ("token_type_hint", hint.to_string())];
    let req = authenticate(http.post(endpoint), client, &mut form);
    match req.form(&form).send().await {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("the revocation endpoint answered HTTP {}", r.status())),
        Err(e) => Err(format!("cannot reach the revocation endpoint: {}", e.without_url())),
    }
}
