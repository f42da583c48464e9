//! Everything needed to reach one configured server: what a provider
//! prepares (`provider::Setup`) and the remote side is built from.

use super::filter::ToolFilter;
use crate::config::{ListCacheAge, Protocol, Transport};
use crate::credential::Credential;
use crate::redact::Redactor;
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Everything needed to reach one configured server.
pub struct Endpoint {
    /// The server's name in the config, used in every error.
    pub server: String,
    /// The MCP URL, with the configured query parameters already applied.
    pub url: Url,
    /// Extra headers from the config and the provider.
    pub headers: http::HeaderMap,
    pub credential: Arc<dyn Credential>,
    pub transport: Transport,
    /// `protocol`: find the era (`auto`) or a pinned revision.
    pub protocol: Protocol,
    /// Where the era found for this server is remembered between runs.
    pub store: Option<Store>,
    /// The longest the bridge waits for one answer (or between two progress
    /// notifications of one request).
    pub timeout: Duration,
    /// `max_message_size`: the largest body or SSE event read from it.
    pub max_message_size: usize,
    /// `allow_tools` / `deny_tools`.
    pub tools: ToolFilter,
    /// How long the cached handshake and lists may answer a start.
    pub list_cache: ListCacheAge,
    pub redactor: Redactor,
}
