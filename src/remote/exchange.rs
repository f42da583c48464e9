//! What both transports share to exchange messages with one server: its
//! `Endpoint`, the way its requests go out with credentials (`Authorized`),
//! the reading of its answers (`Bodies`) into `Inbound`, where every
//! message it sends goes, and the client's own handshake, replayed when a
//! session is lost. Also the headers both Streamable HTTP transports (the
//! session's, `streamable`, and the 2026-07-28 revision's, `modern`) put
//! on their POSTs.

use super::authorized::Authorized;
use super::body::Bodies;
use super::endpoint::Endpoint;
use super::inbound::Inbound;
use http::HeaderName;
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// What a POST accepts back: one JSON answer or an event stream.
pub const ACCEPT_BOTH: &str = "application/json, text/event-stream";
pub const PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
/// The request's method and tool (or resource) name, the standard headers
/// of the 2026-07-28 revision; set on every POST.
pub const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
pub const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");

pub(crate) struct Exchange {
    pub endpoint: Endpoint,
    /// Building and sending its requests, with the credential step.
    pub http: Authorized,
    /// Reading its answers into `inbound`.
    pub bodies: Arc<Bodies>,
    pub inbound: Arc<Inbound>,
    /// The client's own `initialize` request, replayed when a session is lost.
    init: Mutex<Option<Value>>,
    /// Whether the client has sent `notifications/initialized`.
    initialized: Mutex<bool>,
}

impl Exchange {
    pub fn new(endpoint: Endpoint, http: Authorized, inbound: Arc<Inbound>) -> Exchange {
        let bodies = Bodies::new(
            inbound.clone(),
            endpoint.server.clone(),
            endpoint.redactor.clone(),
            endpoint.max_message_size,
        );
        Exchange {
            endpoint,
            http,
            bodies,
            inbound,
            init: Mutex::new(None),
            initialized: Mutex::new(false),
        }
    }

    pub fn init_request(&self) -> Option<Value> {
        self.init.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Keep the client's `initialize` (replayed when the session is
    /// re-created) and the capabilities it declares.
    pub fn remember_initialize(&self, init: &Value) {
        *self.init.lock().unwrap_or_else(|e| e.into_inner()) = Some(init.clone());
        self.inbound
            .set_client_caps(init.pointer("/params/capabilities").cloned());
    }

    pub fn client_initialized(&self) -> bool {
        *self.initialized.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The client sent `notifications/initialized`.
    pub fn set_client_initialized(&self) {
        *self.initialized.lock().unwrap_or_else(|e| e.into_inner()) = true;
    }

    pub fn redact(&self, s: &str) -> String {
        self.endpoint.redactor.apply(s)
    }
}
