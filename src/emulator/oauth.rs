//! Emulator: an OAuth 2.1 authorization server and the MCP server it
//! protects, on one loopback port, for the tests and the sandbox.
//!
//! It publishes protected-resource metadata and authorization-server
//! metadata in the arrangement [`Discovery`] picks (advertised in the 401,
//! well-known with the MCP path or at the root, RFC 8414 or OIDC paths, or
//! Pipe2.ai's origin-only metadata, or nothing at all), and serves dynamic
//! registration, authorize (redirecting with `code` and `state`, checking
//! PKCE S256 and `resource`), token (authorization code with the verifier
//! checked, refresh with rotation) and revocation. The MCP endpoint `/mcp`
//! wants the bearer (401 with `resource_metadata`, 403 `insufficient_scope`
//! when so configured) and serves two tools: `echo` and `whoami`. Every
//! request is recorded for assertions. The handlers are in `oauth/`; the
//! 2026-07-28 rules and the extension grants in `oauth/extensions.rs`.
//!
//! It can also stand alone as the authorization server of another
//! emulator's MCP endpoint (`resource`): the Pipe2.ai emulator's issuer on
//! another host, and the "Membrane API" behind the Integration.app one.

mod authz;
mod extensions;
mod resource;

pub use extensions::{IDP_CLIENT_ID, Iss, MetadataIssuer, PrmResource};

use axum::serve::ListenerExt;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Where the emulator publishes its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discovery {
    /// The 401 names `/meta/prm.json`; the issuer `/as` has RFC 8414 path-insertion metadata.
    Challenge,
    /// `/.well-known/oauth-protected-resource/mcp`; OIDC metadata appended to the issuer path.
    PathWellKnown,
    /// `/.well-known/oauth-protected-resource` only; OIDC path-insertion metadata.
    RootWellKnown,
    /// No resource metadata; `/.well-known/oauth-authorization-server` on the MCP origin (Pipe2.ai).
    OriginOnly,
    /// Nothing: the 2025-03-26 default endpoints.
    None,
}

#[derive(Debug, Clone)]
pub struct OAuthOptions {
    pub discovery: Discovery,
    /// List S256 in `code_challenge_methods_supported` (else the field is absent).
    pub advertise_s256: bool,
    /// Offer dynamic client registration.
    pub registration: bool,
    /// Access-token lifetime in seconds.
    pub access_ttl: u64,
    /// Issue a new refresh token on each refresh (and retire the old one).
    pub rotate_refresh: bool,
    /// `scopes_supported` of the protected-resource metadata.
    pub resource_scopes: Option<Vec<String>>,
    /// `scope` in the 401 challenge.
    pub challenge_scope: Option<String>,
    /// A scope `tools/call` needs (403 `insufficient_scope` without it).
    pub call_scope: Option<String>,
    /// A pre-registered client: id and optional secret.
    pub preregistered: Option<(String, Option<String>)>,
    pub token_auth_methods: Vec<String>,
    /// Listen on 127.0.0.1 at this port (0 picks a free one).
    pub port: u16,
    /// The protected resource is another emulator's MCP endpoint at this
    /// URL: authorize and token requests must name it.
    pub resource: Option<String>,
    /// A path before `/authorize`, `/token`, `/register` and `/revoke`
    /// (Membrane's API serves them under `/oauth`).
    pub endpoint_prefix: String,
    /// Issue access tokens shaped as JWTs whose payload has an `id` (the
    /// Integration.app server decodes its bearer token as one).
    pub jwt_access_tokens: bool,

    // ---- the 2026-07-28 rules and extension grants (`oauth/extensions.rs`) ----
    /// The `iss` of the authorization response (RFC 9207).
    pub iss: Iss,
    /// `authorization_response_iss_parameter_supported` (absent when `None`).
    pub advertise_iss: Option<bool>,
    /// The `issuer` the authorization-server metadata names.
    pub metadata_issuer: MetadataIssuer,
    /// The protected-resource metadata's `resource`.
    pub prm_resource: PrmResource,
    /// `scopes_supported` of the authorization-server metadata.
    pub server_scopes: Option<Vec<String>>,
    /// Take an https `client_id` as a client ID metadata document.
    pub client_documents: bool,
    /// Grant `client_credentials` to the pre-registered client.
    pub client_credentials: bool,
    /// The public key (PEM) under which the pre-registered client may sign
    /// `private_key_jwt` assertions.
    pub client_jwt_key: Option<String>,
    /// An identity provider at `/idp` and the `jwt-bearer` grant for its ID-JAGs.
    pub enterprise: bool,
}

impl Default for OAuthOptions {
    fn default() -> Self {
        Self {
            discovery: Discovery::Challenge,
            advertise_s256: true,
            registration: true,
            access_ttl: 3600,
            rotate_refresh: true,
            resource_scopes: None,
            challenge_scope: None,
            call_scope: None,
            preregistered: None,
            token_auth_methods: vec!["client_secret_basic".into(), "client_secret_post".into(), "none".into()],
            port: 0,
            resource: None,
            endpoint_prefix: String::new(),
            jwt_access_tokens: false,
            iss: Iss::Correct,
            advertise_iss: None,
            metadata_issuer: MetadataIssuer::Real,
            prm_resource: PrmResource::McpUrl,
            server_scopes: None,
            client_documents: false,
            client_credentials: false,
            client_jwt_key: None,
            enterprise: false,
        }
    }
}

/// One request the emulator answered.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    /// Query and form parameters, plus `rpc_method` for MCP posts and
    /// `authorization` when the header was sent.
    pub params: BTreeMap<String, String>,
    pub status: u16,
}

#[derive(Debug, Clone)]
struct Client {
    secret: Option<String>,
    redirect_uris: Vec<String>,
    /// The authorization server that knows it.
    issuer: String,
    /// RFC 7592: the token its registration is read with.
    registration_token: Option<String>,
}

#[derive(Debug, Clone)]
struct Grant {
    client_id: String,
    scope: String,
    resource: String,
    expires_at: u64,
    /// The authorization server that issued it.
    issuer: String,
}

#[derive(Default)]
struct State {
    clients: HashMap<String, Client>,
    /// code → (grant, redirect_uri, code_challenge)
    codes: HashMap<String, (Grant, String, String)>,
    access: HashMap<String, Grant>,
    refresh: HashMap<String, Grant>,
    log: Vec<Logged>,
    registrations: usize,
    /// How many times the server moved to another authorization server.
    moves: u32,
}

/// Shared by the handlers.
pub(crate) struct Emu {
    opts: OAuthOptions,
    base: String,
    state: Mutex<State>,
    /// Signs the emulated identity provider's ID tokens and ID-JAGs.
    jwt_key: String,
}

impl Emu {
    fn st(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn mcp_url(&self) -> String {
        format!("{}/mcp", self.base)
    }
    /// The resource the tokens are for: this emulator's MCP endpoint, or
    /// the one named in `resource`.
    fn resource_url(&self) -> String {
        self.opts.resource.clone().unwrap_or_else(|| self.mcp_url())
    }
    /// The URL of endpoint `name` (`authorize`, `token`, …).
    fn endpoint(&self, name: &str) -> String {
        format!("{}{}/{name}", self.base, self.opts.endpoint_prefix)
    }
    fn issuer(&self) -> String {
        format!("{}{}", self.base, self.issuer_path())
    }
    /// The issuer's path: `/as`, `/as2` after a move, … (none on the origin).
    fn issuer_path(&self) -> String {
        match (self.opts.discovery, self.st().moves) {
            (Discovery::OriginOnly | Discovery::None, _) => String::new(),
            (_, 0) => "/as".into(),
            (_, n) => format!("/as{}", n + 1),
        }
    }
    fn idp_issuer(&self) -> String {
        format!("{}/idp", self.base)
    }
}

pub struct OAuthEmulator {
    pub addr: SocketAddr,
    emu: Arc<Emu>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl OAuthEmulator {
    /// Serve on 127.0.0.1 at a free port.
    pub async fn start(opts: OAuthOptions) -> std::io::Result<OAuthEmulator> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port)).await?;
        let addr = listener.local_addr()?;
        let mut state = State::default();
        if let Some((id, secret)) = &opts.preregistered {
            state.clients.insert(
                id.clone(),
                Client {
                    secret: secret.clone(),
                    redirect_uris: vec![],
                    issuer: String::new(),
                    registration_token: None,
                },
            );
        }
        let emu = Arc::new(Emu {
            opts,
            base: format!("http://{addr}"),
            state: Mutex::new(state),
            jwt_key: uuid::Uuid::new_v4().simple().to_string(),
        });
        // The pre-registered client belongs to the first authorization server.
        let first = emu.issuer();
        for c in emu.st().clients.values_mut() {
            c.issuer = first.clone();
        }
        let app = axum::Router::new().fallback(resource::handle).with_state(emu.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(
                listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                }),
                app,
            )
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
        });
        Ok(OAuthEmulator {
            addr,
            emu,
            stop: Some(stop),
            task,
        })
    }

    /// The MCP endpoint, `http://127.0.0.1:PORT/mcp`.
    pub fn url(&self) -> String {
        self.emu.mcp_url()
    }

    /// The authorization server's issuer.
    pub fn issuer(&self) -> String {
        self.emu.issuer()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        self.emu.base.clone()
    }

    /// The authorization-server metadata it publishes.
    pub fn metadata(&self) -> serde_json::Value {
        resource::as_metadata(&self.emu)
    }

    /// The scopes of `token` when it is an unexpired access token this
    /// server issued (for an emulator whose authorization server this is).
    pub fn accepts(&self, token: &str) -> Option<String> {
        let st = self.emu.st();
        let g = st.access.get(token)?;
        (g.expires_at > crate::store::now()).then(|| g.scope.clone())
    }

    /// Every request so far, oldest first.
    pub fn log(&self) -> Vec<Logged> {
        self.emu.st().log.clone()
    }

    /// Requests to `path` (and, when given, with `param` = `value`).
    pub fn count(&self, path: &str, param: Option<(&str, &str)>) -> usize {
        self.log()
            .iter()
            .filter(|l| l.path == path)
            .filter(|l| param.is_none_or(|(k, v)| l.params.get(k).map(String::as_str) == Some(v)))
            .count()
    }

    /// Successful dynamic registrations.
    pub fn registrations(&self) -> usize {
        self.emu.st().registrations
    }

    /// Forget every client and the tokens issued to them (a redeployed server).
    pub fn forget_clients(&self) {
        let mut st = self.emu.st();
        st.clients
            .retain(|id, _| self.emu.opts.preregistered.as_ref().is_some_and(|(p, _)| p == id));
        st.access.clear();
        st.refresh.clear();
        st.codes.clear();
    }

    /// Expire every access token now (refresh tokens stay valid).
    pub fn expire_access_tokens(&self) {
        for g in self.emu.st().access.values_mut() {
            g.expires_at = 0;
        }
    }

    /// The server moves to another authorization server: a new issuer (with
    /// its metadata at the new path), which knows none of the old one's
    /// clients; the old one's tokens are refused. The pre-registered client
    /// is registered with the new one too.
    pub fn move_authorization_server(&self) {
        self.emu.st().moves += 1;
        let issuer = self.emu.issuer();
        if let Some((id, secret)) = &self.emu.opts.preregistered {
            self.emu.st().clients.insert(
                id.clone(),
                Client {
                    secret: secret.clone(),
                    redirect_uris: vec![],
                    issuer,
                    registration_token: None,
                },
            );
        }
    }

    /// An ID token the emulated identity provider issued to the bridge's
    /// client there ([`IDP_CLIENT_ID`]) for `subject`.
    pub fn id_token(&self, subject: &str) -> String {
        extensions::id_token(&self.emu, subject)
    }

    /// The emulated identity provider's issuer.
    pub fn idp_issuer(&self) -> String {
        self.emu.idp_issuer()
    }

    /// Refresh tokens currently valid.
    pub fn live_refresh_tokens(&self) -> Vec<String> {
        self.emu.st().refresh.keys().cloned().collect()
    }

    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(3), &mut self.task).await;
    }
}

impl Drop for OAuthEmulator {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}
