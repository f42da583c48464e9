//! Provider emulators: local HTTP servers that copy what each hosted
//! provider does on the wire (token endpoints, required headers, refresh and
//! rotation, session quirks, an OAuth authorization server) and answer MCP
//! themselves with small app tool sets. They serve the tests, and
//! `mcp-bridge sandbox --provider <name>` (`launch`) for trying a provider's config locally.

pub mod common;
pub mod integration_app;
pub mod launch;
pub mod oauth;
pub mod pipe2;
pub mod pipedream;
pub mod zapier;
