//! Choosing how the bridge identifies itself to the authorization server,
//! in the MCP order: pre-registered credentials from the config, then a
//! client ID metadata document (a `client_id` that is an https URL, used
//! where the server advertises support), then the registration stored from
//! an earlier sign-in (after checking the server still knows it), then a new
//! dynamic registration (RFC 7591, made by rmcp).

use super::discovery::Discovered;
use super::record::{self, Client};
use super::{OAuth, token};
use crate::store::Record;
use rmcp::transport::auth::{AuthorizationManager, OAuthClientConfig};

/// A client ID that is itself the URL of a client ID metadata document.
fn is_document_url(id: &str) -> bool {
    url::Url::parse(id).is_ok_and(|u| u.scheme() == "https" && u.path() != "/" && u.host_str().is_some())
}

impl OAuth {
    /// Pick the client identity: pre-registered, then a client ID metadata
    /// document, then the stored registration (if the server still knows
    /// it), then a new dynamic registration.
    pub(super) async fn client(
        &self,
        mgr: &mut AuthorizationManager,
        rec: &Record,
        d: &Discovered,
        redirect_uri: &str,
        scopes: &[String],
    ) -> Result<Client, String> {
        let s = &self.settings;
        let endpoint = d.metadata.token_endpoint.clone();
        let documents_ok = d
            .metadata
            .additional_fields
            .get("client_id_metadata_document_supported")
            .and_then(|v| v.as_bool())
            == Some(true);
        if let Some(id) = &s.client_id {
            let document = s.client_secret.is_none() && is_document_url(id);
            if !document || documents_ok {
                let mut cfg = OAuthClientConfig::new(id.clone(), redirect_uri);
                if let Some(secret) = &s.client_secret {
                    cfg = cfg.with_client_secret(secret.clone());
                }
                mgr.configure_client(cfg).map_err(|e| self.auth_error(e))?;
                return Ok(Client {
                    client_id: id.clone(),
                    client_secret: None,
                    auth_method: token::auth_method(&d.metadata, s.client_secret.is_some()),
                    redirect_uri: None,
                    dynamic: false,
                    token_endpoint: endpoint,
                });
            }
            tracing::info!("the server does not take client ID metadata documents; registering instead");
        }
        if let Some(c) = record::oauth(rec)
            .client
            .filter(|c| c.dynamic && c.token_endpoint == endpoint && c.redirect_uri.as_deref() == Some(redirect_uri))
        {
            if token::client_known(self.http(), &endpoint, &c).await != Some(false) {
                let mut cfg = OAuthClientConfig::new(c.client_id.clone(), redirect_uri);
                if let Some(secret) = &c.client_secret {
                    self.settings.redactor.add(secret.clone());
                    cfg = cfg.with_client_secret(secret.clone());
                }
                mgr.configure_client(cfg).map_err(|e| self.auth_error(e))?;
                return Ok(c);
            }
            tracing::info!("the authorization server no longer knows mcp-bridge's registration; registering again");
        }
        if d.metadata.registration_endpoint.is_none() {
            return Err(format!(
                "the authorization server does not offer dynamic client registration; register a client with it \
                 and set `client_id` (and `client_secret`) in [servers.{}]",
                self.name()
            ));
        }
        let refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let cfg = mgr
            .register_client("mcp-bridge", redirect_uri, &refs)
            .await
            .map_err(|e| format!("client registration failed: {}", self.auth_error(e)))?;
        tracing::info!("registered mcp-bridge with the authorization server");
        if let Some(secret) = &cfg.client_secret {
            self.settings.redactor.add(secret.clone());
        }
        Ok(Client {
            auth_method: token::auth_method(&d.metadata, cfg.client_secret.is_some()),
            client_id: cfg.client_id,
            client_secret: cfg.client_secret,
            redirect_uri: Some(redirect_uri.to_string()),
            dynamic: true,
            token_endpoint: endpoint,
        })
    }
}
