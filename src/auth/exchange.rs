//! The extension grants' settings and token requests: what `auth =
//! "client_credentials"` and `auth = "enterprise"` take from the config
//! (`provider::prepare` fills them in from the server's keys), and the
//! requests rmcp makes for them (`exchange_client_credentials`, and
//! `enterprise::EmaExchangeRequest`, which also checks the ID-JAG's
//! bindings), over the bridge's own HTTP client. [`super::unattended`] decides
//! when to make them and keeps what they return.

use super::discovery::{self, Discovered};
use super::oauth_http::OAuthHttp;
use super::{OAuth, token};
use crate::config::{ConfigValue, Resolver};
use oauth2::TokenResponse;
use rmcp::transport::auth::enterprise::{
    EmaAuthorizationServer, EmaClientAuthentication, EmaError, EmaExchangeRequest, EmaExchangeStage,
};
use rmcp::transport::auth::{AuthorizationManager, ClientCredentialsConfig, JwtSigningAlgorithm};
use std::sync::Arc;

/// How the client proves itself in the client-credentials grant.
pub enum ClientAuth {
    Secret(String),
    /// A PEM private key (PKCS#8 EC, or RSA) and its algorithm.
    PrivateKey(Vec<u8>, JwtSigningAlgorithm),
}

/// The organisation's identity provider and the person's ID token there.
pub struct Enterprise {
    pub idp_issuer: String,
    /// Looked up in the provider's metadata when not configured.
    pub idp_token_endpoint: Option<String>,
    pub idp_client_id: String,
    pub idp_client_secret: Option<String>,
    /// The `id_token` value as configured, read again for each exchange
    /// (an ID token lives about an hour; a command gives a fresh one).
    pub id_token: ConfigValue,
}

pub enum Grant {
    ClientCredentials { client_id: String, auth: ClientAuth },
    Enterprise(Box<Enterprise>),
}

impl Grant {
    pub fn client_id<'a>(&'a self, oauth: &'a OAuth) -> &'a str {
        match self {
            Grant::ClientCredentials { client_id, .. } => client_id,
            Grant::Enterprise(_) => oauth.settings.client_id.as_deref().unwrap_or(""),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Grant::ClientCredentials { .. } => "client_credentials",
            Grant::Enterprise(_) => "enterprise",
        }
    }
}

/// A token the authorization server issued.
pub struct Issued {
    pub access_token: String,
    pub expires_in: Option<u64>,
    pub scope: Option<String>,
}

impl Grant {
    /// Ask the authorization server `d` describes for an access token.
    /// The error says what failed; the caller adds which server.
    pub async fn exchange(&self, oauth: &OAuth, d: &Discovered, scopes: &[String]) -> Result<Issued, String> {
        match self {
            Grant::ClientCredentials { client_id, auth } => client_credentials(oauth, d, client_id, auth, scopes).await,
            Grant::Enterprise(e) => enterprise(oauth, d, e, scopes).await,
        }
    }
}

/// The JWT algorithms `private_key` may sign with (`signing_algorithm`).
pub const SIGNING_ALGORITHMS: &[&str] = &["ES256", "ES384", "RS256", "RS384", "RS512"];

impl ClientAuth {
    /// `private_key_jwt` with a PEM private key, signed with `named` (one of
    /// [`SIGNING_ALGORITHMS`]), else ES256 for an EC key and RS256 for an
    /// RSA one. The error says what is wrong with the key.
    pub fn private_key(pem: String, named: Option<&str>) -> Result<ClientAuth, String> {
        use JwtSigningAlgorithm as A;
        let rsa = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).is_ok();
        if !rsa && jsonwebtoken::EncodingKey::from_ec_pem(pem.as_bytes()).is_err() {
            return Err("`private_key` is not a PEM private key (PKCS#8 EC, or RSA)".to_string());
        }
        let alg = match named {
            Some("ES256") => A::ES256,
            Some("ES384") => A::ES384,
            Some("RS256") => A::RS256,
            Some("RS384") => A::RS384,
            Some("RS512") => A::RS512,
            _ if rsa => A::RS256,
            _ => A::ES256,
        };
        Ok(ClientAuth::PrivateKey(pem.into_bytes(), alg))
    }
}

/// The HTTP client rmcp's requests go through: the bridge's own.
fn client(oauth: &OAuth) -> Result<OAuthHttp, String> {
    Ok(OAuthHttp::new(oauth.http()?.clone()))
}

/// `what: e`, the error of a step.
fn fail(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

async fn client_credentials(
    oauth: &OAuth,
    d: &Discovered,
    client_id: &str,
    auth: &ClientAuth,
    scopes: &[String],
) -> Result<Issued, String> {
    let cfg = match auth {
        ClientAuth::Secret(secret) => ClientCredentialsConfig::ClientSecret {
            client_id: client_id.to_string(),
            client_secret: secret.clone(),
            scopes: scopes.to_vec(),
            resource: Some(d.resource.clone()),
        },
        ClientAuth::PrivateKey(pem, alg) => ClientCredentialsConfig::PrivateKeyJwt {
            client_id: client_id.to_string(),
            signing_key: pem.clone(),
            signing_algorithm: *alg,
            token_endpoint_audience: None,
            scopes: scopes.to_vec(),
            resource: Some(d.resource.clone()),
        },
    };
    let mut mgr = AuthorizationManager::new_with_oauth_http_client(d.resource.as_str(), Arc::new(client(oauth)?))
        .await
        .map_err(|e| fail("setup", e))?;
    mgr.set_metadata(d.metadata.clone());
    mgr.validate_client_credentials_metadata(&cfg)
        .map_err(|e| fail("the authorization server's metadata", e))?;
    mgr.configure_client_credentials(&cfg).map_err(|e| fail("setup", e))?;
    // rmcp's exchange future is not `Send` (its private_key_jwt path
    // holds a form serializer across an await), so it is driven on a
    // blocking thread of this runtime.
    let handle = tokio::runtime::Handle::current();
    let t = tokio::task::spawn_blocking(move || handle.block_on(mgr.exchange_client_credentials(&cfg)))
        .await
        .map_err(|e| fail("the exchange stopped", e))?
        .map_err(|e| {
            fail(
                "the token endpoint refused (check `client_id` and `client_secret` or `private_key`)",
                e,
            )
        })?;
    Ok(Issued {
        access_token: t.access_token().secret().clone(),
        expires_in: t.expires_in().map(|d| d.as_secs()),
        scope: t
            .scopes()
            .map(|s| s.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" ")),
    })
}

async fn enterprise(oauth: &OAuth, d: &Discovered, e: &Enterprise, scopes: &[String]) -> Result<Issued, String> {
    let s = &oauth.settings;
    let idp_token_endpoint = match &e.idp_token_endpoint {
        Some(t) => t.clone(),
        None => {
            discovery::server_metadata(oauth.http()?, &e.idp_issuer)
                .await
                .map_err(|why| fail("the identity provider's metadata", why))?
                .ok_or_else(|| {
                    fail(
                        "the identity provider",
                        format!(
                            "`{}` publishes no metadata; set `idp_token_endpoint` in [servers.{}]",
                            e.idp_issuer, s.server
                        ),
                    )
                })?
                .token_endpoint
        }
    };
    oauth.require_https("the identity provider's token endpoint", &idp_token_endpoint)?;
    let idp_auth = match &e.idp_client_secret {
        Some(secret) => EmaClientAuthentication::ClientSecretBasic(oauth2::ClientSecret::new(secret.clone())),
        None => EmaClientAuthentication::None,
    };
    let idp = EmaAuthorizationServer::new(e.idp_issuer.clone(), idp_token_endpoint, e.idp_client_id.clone())
        .with_client_authentication(idp_auth);
    let issuer = d.metadata.issuer.clone().ok_or_else(|| {
        fail(
            "the authorization server",
            "it publishes no metadata with an issuer, which the ID-JAG must name",
        )
    })?;
    let client_id = s.client_id.clone().unwrap_or_default();
    let as_auth = match (
        token::auth_method(&d.metadata, s.client_secret.is_some()).as_str(),
        &s.client_secret,
    ) {
        ("client_secret_post", Some(secret)) => {
            EmaClientAuthentication::ClientSecretPost(oauth2::ClientSecret::new(secret.clone()))
        }
        (_, Some(secret)) => EmaClientAuthentication::ClientSecretBasic(oauth2::ClientSecret::new(secret.clone())),
        (_, None) => EmaClientAuthentication::None,
    };
    let resource_as = EmaAuthorizationServer::new(issuer, d.metadata.token_endpoint.clone(), client_id)
        .with_client_authentication(as_auth);
    let id_token = id_token(oauth, e).await?;
    let http = client(oauth)?;
    let t = EmaExchangeRequest::new_with_id_token(idp, resource_as, &d.resource, &id_token)
        .with_scopes(scopes.iter().cloned())
        .exchange(&http, &http)
        .await
        .map_err(enterprise_error)?;
    let mut granted: Vec<String> = t.scopes.into_iter().collect();
    granted.sort();
    Ok(Issued {
        access_token: t.access_token.secret().clone(),
        expires_in: t.expires_in.map(|d| d.as_secs()),
        scope: (!granted.is_empty()).then(|| granted.join(" ")),
    })
}

/// The person's ID token, read from its configured value now.
async fn id_token(oauth: &OAuth, e: &Enterprise) -> Result<String, String> {
    let (server, value) = (oauth.settings.server.clone(), e.id_token.clone());
    let token = tokio::task::spawn_blocking(move || Resolver::new().resolve(&server, "id_token", &value))
        .await
        .map_err(|err| fail("`id_token`", err))?
        .map_err(|err| fail("`id_token`", err.problem))?;
    oauth.settings.redactor.add(token.clone());
    Ok(token)
}

fn enterprise_error(e: EmaError) -> String {
    let hint = match &e {
        EmaError::InvalidGrant(EmaExchangeStage::IdentityProvider) => {
            "the identity provider refused the ID token (expired?); check `id_token`"
        }
        EmaError::InvalidGrant(_) => "the authorization server refused the ID-JAG",
        EmaError::OAuthRejected {
            code: "invalid_client", ..
        } => "a client was refused; check `client_id`/`client_secret` and `idp_client_id`/`idp_client_secret`",
        _ => "the exchange failed",
    };
    fail(hint, e)
}
