//! Choosing how the bridge identifies itself to the authorization server,
//! in the order of MCP authorization 2026-07-28:
//!
//! 1. a client pre-registered with it (`client_id`, `client_secret`);
//! 2. a client ID metadata document (`client_metadata_url`), where the
//!    server advertises `client_id_metadata_document_supported`;
//! 3. the client the bridge registered with this same authorization server
//!    before (registrations are kept per server, so a client one server
//!    issued is never shown to another);
//! 4. a new dynamic registration (RFC 7591, made by rmcp, as a `native`
//!    application that asks for refresh tokens);
//! 5. failing all of these, the person is told which keys to set.
//!
//! Before a stored registration is used again it is checked honestly: a
//! client secret past its `client_secret_expires_at` means registering
//! again, and where the server gave an RFC 7592 configuration endpoint the
//! registration is read there (a 401, 403 or 404 means the server forgot
//! it). Otherwise the server's own answer (`invalid_client` at the
//! authorization or token endpoint) drops it, and the next sign-in
//! registers again. Nothing made up is ever sent.

use super::discovery::Discovered;
use super::oauth_http::OAuthHttp;
use super::record::{self, Client};
use super::{OAuth, token};
use crate::store::{Record, now};
use rmcp::transport::auth::{AuthorizationManager, OAuthClientConfig};

/// The parts of an RFC 7591 registration response rmcp does not keep.
#[derive(serde::Deserialize, Default)]
struct RegistrationExtras {
    registration_client_uri: Option<String>,
    registration_access_token: Option<String>,
    client_secret_expires_at: Option<u64>,
}

/// Whether the server takes client ID metadata documents.
fn takes_documents(d: &Discovered) -> bool {
    d.metadata
        .additional_fields
        .get("client_id_metadata_document_supported")
        .and_then(|v| v.as_bool())
        == Some(true)
}

impl OAuth {
    /// Whether the authorization server still knows the registration `c`
    /// (see the module docs).
    async fn still_registered(&self, c: &Client) -> bool {
        if c.secret_expires_at.is_some_and(|t| t != 0 && t <= now()) {
            tracing::info!(
                server = self.name(),
                "the registered client's secret has expired; registering again"
            );
            return false;
        }
        let (Some(uri), Some(token)) = (&c.configuration_uri, &c.configuration_token) else {
            return true;
        };
        // Its token goes only where the server's endpoints may send secrets.
        if let Err(why) = self.require_https("the registration's `registration_client_uri`", uri) {
            tracing::warn!(
                server = self.name(),
                "{}; the registration is not read there",
                self.settings.redactor.apply(&why)
            );
            return true;
        }
        let Ok(http) = self.http() else {
            return true;
        };
        let read = http
            .get(uri)
            .bearer_auth(token)
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await;
        match read.map(|r| r.status().as_u16()) {
            Ok(401 | 403 | 404) => {
                tracing::info!(
                    server = self.name(),
                    "the authorization server no longer knows mcp-bridge's registration; registering again"
                );
                false
            }
            _ => true,
        }
    }

    /// Pick the client identity (see the module docs) and configure `mgr`
    /// with it; `http` is `mgr`'s client, tapping the registration endpoint.
    pub(super) async fn client(
        &self,
        mgr: &mut AuthorizationManager,
        http: &OAuthHttp,
        rec: &Record,
        d: &Discovered,
        redirect_uri: &str,
        scopes: &[String],
    ) -> Result<Client, String> {
        let s = &self.settings;
        let endpoint = d.metadata.token_endpoint.clone();
        let issuer = d.metadata.issuer.clone();
        let client = |client_id: String, client_secret: Option<String>, auth_method: String, dynamic: bool| Client {
            client_id,
            client_secret,
            auth_method,
            redirect_uri: dynamic.then(|| redirect_uri.to_string()),
            dynamic,
            token_endpoint: endpoint.clone(),
            issuer: issuer.clone(),
            configuration_uri: None,
            configuration_token: None,
            secret_expires_at: None,
        };
        if let Some(id) = &s.client_id {
            let mut cfg = OAuthClientConfig::new(id.clone(), redirect_uri);
            if let Some(secret) = &s.client_secret {
                cfg = cfg.with_client_secret(secret.clone());
            }
            mgr.configure_client(cfg).map_err(|e| self.auth_error(e))?;
            let method = token::auth_method(&d.metadata, s.client_secret.is_some());
            // The configured secret is added when it is used (`effective`), never stored.
            return Ok(client(id.clone(), None, method, false));
        }
        if let Some(document) = &s.client_metadata_url {
            if takes_documents(d) {
                mgr.configure_client(OAuthClientConfig::new(document.clone(), redirect_uri))
                    .map_err(|e| self.auth_error(e))?;
                return Ok(client(document.clone(), None, "none".into(), false));
            }
            tracing::info!(
                server = self.name(),
                "the authorization server does not take client ID metadata documents; registering instead"
            );
        }
        let key = record::server_key(issuer.as_deref(), &endpoint);
        let stored = record::registration(&record::oauth(rec), &key)
            .filter(|c| c.token_endpoint == endpoint && c.redirect_uri.as_deref() == Some(redirect_uri));
        let stored = match stored {
            Some(c) if self.still_registered(&c).await => Some(c),
            _ => None,
        };
        if let Some(c) = stored {
            let mut cfg = OAuthClientConfig::new(c.client_id.clone(), redirect_uri);
            if let Some(secret) = &c.client_secret {
                self.settings.redactor.add(secret.clone());
                cfg = cfg.with_client_secret(secret.clone());
            }
            mgr.configure_client(cfg).map_err(|e| self.auth_error(e))?;
            return Ok(c);
        }
        if d.metadata.registration_endpoint.is_none() {
            return Err(format!(
                "the authorization server offers neither dynamic client registration nor client ID metadata \
                 documents; register a client with it and set `client_id` (and `client_secret`) in [servers.{}]",
                self.name()
            ));
        }
        let refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let cfg = mgr
            .register_client("mcp-bridge", redirect_uri, &refs)
            .await
            .map_err(|e| format!("client registration failed: {}", self.auth_error(e)))?;
        tracing::info!(
            server = self.name(),
            "registered mcp-bridge with the authorization server"
        );
        if let Some(secret) = &cfg.client_secret {
            self.settings.redactor.add(secret.clone());
        }
        let method = token::auth_method(&d.metadata, cfg.client_secret.is_some());
        let extras: RegistrationExtras = http
            .tapped()
            .and_then(|body| serde_json::from_slice(&body).ok())
            .unwrap_or_default();
        if let Some(t) = &extras.registration_access_token {
            self.settings.redactor.add(t.clone());
        }
        Ok(Client {
            configuration_uri: extras.registration_client_uri,
            configuration_token: extras.registration_access_token,
            secret_expires_at: extras.client_secret_expires_at,
            ..client(cfg.client_id, cfg.client_secret, method, true)
        })
    }
}
