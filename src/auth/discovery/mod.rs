//! Authorization discovery, in the order of MCP authorization 2025-11-25:
//! the 401's `resource_metadata`, else `/.well-known/oauth-protected-resource`
//! with the MCP path and then at the root (RFC 9728); then the authorization
//! server's metadata, RFC 8414 before OpenID Connect, path-insertion forms
//! first. With no protected-resource metadata at all (2025-03-26 servers,
//! Pipe2.ai) the MCP origin's own metadata is used (or, when it names an
//! issuer on another host, that issuer's own metadata), and failing that
//! the default `/authorize`, `/token` and `/register` endpoints.
//!
//! What is refused (RFC 9728 §3, §3.3 and RFC 8414 §3.3, the rules in
//! `issuer`): protected-resource metadata without `resource`, or for another
//! resource; authorization-server metadata whose `issuer` is missing or not
//! identical to the identifier its URL was built from. A refusal is an error
//! naming the document, never a quiet fall-back to other endpoints. The
//! `resource` sent is the protected-resource metadata's, as written.
//!
//! rmcp's resolver (`resolve_metadata_from_challenge`) is not used: it keeps
//! the protected resource's `resource` and `scopes_supported` to itself (the
//! token requests and the extension grants need them), it GETs the MCP
//! endpoint itself when the challenge names no metadata (which opens an event
//! stream on some servers), and it accepts an issuer that differs by a
//! trailing slash. rmcp's challenge parser and metadata type are used.

use super::Settings;
use rmcp::transport::auth::{AuthorizationMetadata, WWWAuthenticateParams};
use serde::Deserialize;
use url::Url;

/// What discovery found.
#[derive(Debug, Clone)]
pub struct Discovered {
    pub metadata: AuthorizationMetadata,
    /// The RFC 8707 resource indicator to send.
    pub resource: String,
    /// `scopes_supported` of the protected-resource metadata.
    pub resource_scopes: Vec<String>,
    /// No metadata was published: the endpoints are the 2025-03-26 defaults.
    pub legacy: bool,
}

#[derive(Debug, Deserialize)]
struct ResourceMetadata {
    resource: Option<String>,
    #[serde(default)]
    authorization_servers: Vec<String>,
    scopes_supported: Option<Vec<String>>,
}

/// POST a side-effect-free request without credentials and return the
/// `WWW-Authenticate` of a 401, if that is what comes back.
pub async fn probe(http: &reqwest::Client, s: &Settings) -> Result<Option<String>, String> {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": crate::ids::next("auth-probe"), "method": "tools/list"});
    let resp = http
        .post(s.url.clone())
        .headers(s.headers.clone())
        .header(http::header::ACCEPT, "application/json, text/event-stream")
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("cannot reach the server: {}", e.without_url()))?;
    if resp.status() != reqwest::StatusCode::UNAUTHORIZED {
        return Ok(None);
    }
    Ok(resp
        .headers()
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.to_ascii_lowercase().trim_start().starts_with("bearer"))
        .map(str::to_string))
}

/// Parse a challenge against the MCP URL.
pub fn parse_challenge(s: &Settings, challenge: &str) -> WWWAuthenticateParams {
    let base = Url::parse(&s.canonical_url()).unwrap_or_else(|_| s.url.clone());
    WWWAuthenticateParams::parse(challenge, &base)
}

async fn get_json<T: serde::de::DeserializeOwned>(http: &reqwest::Client, url: &Url) -> Result<Option<T>, String> {
    let resp = http
        .get(url.clone())
        .header(http::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| format!("cannot fetch {url}: {}", e.without_url()))?;
    if !resp.status().is_success() {
        tracing::debug!(%url, status = resp.status().as_u16(), "no metadata here");
        return Ok(None);
    }
    let body = crate::net::small_body(resp)
        .await
        .map_err(|e| format!("cannot fetch {url}: {e}"))?;
    Ok(serde_json::from_slice(&body).ok())
}

fn with_path(base: &Url, path: &str) -> Url {
    let mut u = base.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.set_path(path);
    u
}

/// The well-known places of a URL's metadata: path insertion first.
fn well_known(base: &Url, suffixes: &[&str], append_oidc: bool) -> Vec<Url> {
    let path = base.path().trim_matches('/');
    let mut out = Vec::new();
    for s in suffixes {
        out.push(with_path(
            base,
            &if path.is_empty() {
                format!("/.well-known/{s}")
            } else {
                format!("/.well-known/{s}/{path}")
            },
        ));
    }
    if append_oidc && !path.is_empty() {
        out.push(with_path(base, &format!("/{path}/.well-known/openid-configuration")));
    }
    out
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

/// RFC 9728 §3.3: the metadata must be for this resource. A resource whose
/// path is a prefix of the MCP URL's (at a segment boundary) covers it.
fn covers(resource: &Url, mcp: &Url) -> bool {
    if !same_origin(resource, mcp) || resource.fragment().is_some() {
        return false;
    }
    let (r, m) = (resource.path().trim_end_matches('/'), mcp.path().trim_end_matches('/'));
    m == r || m.starts_with(&format!("{r}/"))
}

/// Authorization-server metadata for the issuer `identifier` (as written in
/// the protected-resource metadata, or the MCP origin), from the first
/// well-known location that has a document for exactly that issuer.
/// `Err` when documents were found but none names it.
pub async fn server_metadata(
    http: &reqwest::Client,
    identifier: &str,
) -> Result<Option<AuthorizationMetadata>, String> {
    server_metadata_or_pointer(http, identifier)
        .await
        .map_err(|(why, _)| why)
}

/// As [`server_metadata`]; a refusal also gives the issuer the first
/// refused document named, if any.
async fn server_metadata_or_pointer(
    http: &reqwest::Client,
    identifier: &str,
) -> Result<Option<AuthorizationMetadata>, (String, Option<String>)> {
    let issuer = Url::parse(identifier).map_err(|e| (format!("`{identifier}` is not an issuer URL: {e}"), None))?;
    let mut refused = None;
    for url in well_known(&issuer, &["oauth-authorization-server", "openid-configuration"], true) {
        if let Some(m) = get_json::<AuthorizationMetadata>(http, &url)
            .await
            .map_err(|e| (e, None))?
        {
            match super::issuer::check_metadata(identifier, &m, &url) {
                Ok(()) => return Ok(Some(m)),
                Err(why) => {
                    tracing::warn!("{why}");
                    refused.get_or_insert((why, m.issuer.clone()));
                }
            }
        }
    }
    refused.map_or(Ok(None), Err)
}

/// Run discovery, seeded by the server's `WWW-Authenticate` if there is one;
/// with `authorization_server` set, what it finds must be that issuer.
pub async fn discover(http: &reqwest::Client, s: &Settings, challenge: Option<&str>) -> Result<Discovered, String> {
    let found = find(http, s, challenge).await?;
    if let Some(pinned) = &s.authorization_server {
        super::issuer::check_pinned(&s.server, pinned, found.metadata.issuer.as_deref())?;
    }
    Ok(found)
}

/// Discovery itself (see `discover`).
async fn find(http: &reqwest::Client, s: &Settings, challenge: Option<&str>) -> Result<Discovered, String> {
    let mcp = Url::parse(&s.canonical_url()).map_err(|e| format!("bad server URL: {e}"))?;
    let advertised = challenge.and_then(|c| parse_challenge(s, c).resource_metadata_url);
    let mut candidates: Vec<Url> = advertised.into_iter().collect();
    candidates.extend(well_known(&mcp, &["oauth-protected-resource"], false));
    if !mcp.path().trim_matches('/').is_empty() {
        candidates.push(with_path(&mcp, "/.well-known/oauth-protected-resource"));
    }
    let mut found = None;
    for url in candidates {
        // A document naming neither a resource nor an authorization server is
        // not protected-resource metadata (a catch-all page, say).
        if let Some(doc) = get_json::<ResourceMetadata>(http, &url).await?
            && (doc.resource.is_some() || !doc.authorization_servers.is_empty())
        {
            found = Some((url, doc));
            break;
        }
    }
    let Some((prm_url, prm)) = found else {
        return origin_metadata(http, s, &mcp).await;
    };
    tracing::debug!(url = %prm_url, "protected-resource metadata found");
    let resource = check_resource(&prm_url, prm.resource.as_deref(), &mcp)?;
    if prm.authorization_servers.is_empty() {
        return Err(format!(
            "the server's protected-resource metadata ({prm_url}) names no authorization server; \
             mcp-bridge cannot sign in to it"
        ));
    }
    let mut refused = Vec::new();
    for server in &prm.authorization_servers {
        // The identifier as written; a relative one is resolved against the document.
        let identifier = match Url::parse(server) {
            Ok(_) => server.clone(),
            Err(_) => match prm_url.join(server) {
                Ok(u) => u.to_string(),
                Err(_) => continue,
            },
        };
        match server_metadata(http, &identifier).await {
            Ok(Some(metadata)) => {
                return Ok(Discovered {
                    metadata,
                    resource: s.resource.clone().unwrap_or_else(|| resource.clone()),
                    resource_scopes: prm.scopes_supported.unwrap_or_default(),
                    legacy: false,
                });
            }
            Ok(None) => {}
            Err(why) => refused.push(why),
        }
    }
    if !refused.is_empty() {
        return Err(refused.join("; "));
    }
    Err(format!(
        "none of the authorization servers named in {prm_url} ({}) publishes its metadata",
        prm.authorization_servers.join(", ")
    ))
}

/// The authorization servers named now by the protected-resource metadata a
/// 401's challenge points at (`None` when it points at none, or it cannot be
/// read): how a server that moved to another authorization server is told
/// from one that merely refused a stale token.
pub async fn named_servers(http: &reqwest::Client, s: &Settings, challenge: &str) -> Option<Vec<String>> {
    let url = parse_challenge(s, challenge).resource_metadata_url?;
    let doc = get_json::<ResourceMetadata>(http, &url).await.ok().flatten()?;
    Some(doc.authorization_servers)
}

/// RFC 9728 §3 and §3.3: the document names a `resource`, and it is this
/// server's. Returns it as written.
fn check_resource(prm_url: &Url, resource: Option<&str>, mcp: &Url) -> Result<String, String> {
    let Some(r) = resource else {
        return Err(format!(
            "the server's protected-resource metadata ({prm_url}) names no `resource`; refusing to sign in \
             (RFC 9728 requires it, so the bridge can tell the metadata is this server's)"
        ));
    };
    if !Url::parse(r).is_ok_and(|u| covers(&u, mcp)) {
        return Err(format!(
            "the server's protected-resource metadata ({prm_url}) describes `{}`, not {mcp}; \
             refusing to sign in (it may be misconfigured or impersonated)",
            r.escape_debug()
        ));
    }
    Ok(r.to_string())
}

/// No protected-resource metadata: the MCP origin's own authorization-server
/// metadata (its issuer must be that origin), else the 2025-03-26 default
/// endpoints.
async fn origin_metadata(http: &reqwest::Client, s: &Settings, mcp: &Url) -> Result<Discovered, String> {
    let resource = s.resource.clone().unwrap_or_else(|| mcp.to_string());
    // The 2025-03-26 authorization base URL: the MCP URL without its path.
    let origin = mcp.origin().ascii_serialization();
    let found = match server_metadata_or_pointer(http, &origin).await {
        Ok(found) => found,
        // The origin's document names an issuer on another host (Pipe2.ai,
        // Membrane): it is only a pointer, and its contents are not used.
        // That issuer's own metadata is, if its `issuer` is exactly the one named.
        Err((why, Some(named))) if Url::parse(&named).is_ok_and(|n| !same_origin(&n, mcp)) => {
            tracing::info!("the server's metadata points at the issuer `{}`", named.escape_debug());
            match server_metadata(http, &named).await? {
                Some(m) => Some(m),
                None => {
                    return Err(format!(
                        "{why}; and `{}` publishes no metadata of its own",
                        named.escape_debug()
                    ));
                }
            }
        }
        Err((why, _)) => return Err(why),
    };
    if let Some(metadata) = found {
        return Ok(Discovered {
            metadata,
            resource,
            resource_scopes: vec![],
            legacy: false,
        });
    }
    tracing::info!("no authorization metadata published; trying the default endpoints");
    let at = |p: &str| with_path(mcp, p).to_string();
    // The authorization base URL stands for the issuer: a sign-in response
    // naming any other is refused (RFC 9207).
    let metadata: AuthorizationMetadata = serde_json::from_value(serde_json::json!({
        "issuer": origin,
        "authorization_endpoint": at("/authorize"),
        "token_endpoint": at("/token"),
        "registration_endpoint": at("/register"),
    }))
    .map_err(|e| e.to_string())?;
    Ok(Discovered {
        metadata,
        resource,
        resource_scopes: vec![],
        legacy: true,
    })
}

/// MCP requires PKCE with S256: refuse a server that does not advertise it
/// (only the metadata-less 2025-03-26 fallback is taken on trust).
pub fn require_s256(d: &Discovered) -> Result<(), String> {
    if d.legacy {
        return Ok(());
    }
    match &d.metadata.code_challenge_methods_supported {
        Some(m) if m.iter().any(|x| x == "S256") => Ok(()),
        Some(m) => Err(format!(
            "the authorization server supports PKCE only with {} and MCP requires S256; refusing to sign in",
            m.join(", ")
        )),
        None => Err(
            "the authorization server does not advertise PKCE (no `code_challenge_methods_supported`); \
                     MCP requires S256, so mcp-bridge will not sign in"
                .into(),
        ),
    }
}

/// Scopes to ask for: the challenge's, else the resource's `scopes_supported`,
/// else the config's; plus `offline_access` when the server offers it.
pub fn select_scopes(challenge_scope: Option<&str>, d: &Discovered, configured: &[String]) -> Vec<String> {
    let from_challenge: Vec<String> = challenge_scope
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let mut scopes = if !from_challenge.is_empty() {
        from_challenge
    } else if !d.resource_scopes.is_empty() {
        d.resource_scopes.clone()
    } else {
        configured.to_vec()
    };
    let offers_offline = d
        .metadata
        .scopes_supported
        .as_ref()
        .is_some_and(|s| s.iter().any(|x| x == "offline_access"));
    if !scopes.is_empty() && offers_offline && !scopes.iter().any(|x| x == "offline_access") {
        scopes.push("offline_access".into());
    }
    scopes
}

#[cfg(test)]
mod tests;
