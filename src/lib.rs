//! mcp-bridge: a stdio MCP server that relays every message to a remote MCP
//! provider over Streamable HTTP (or legacy HTTP+SSE), injecting the
//! credentials that provider needs from a local TOML config.
//!
//! See `ARCHITECTURE.md` for how a message travels through these modules.

pub mod auth;
pub mod browser;
pub mod bundle;
pub mod cli;
pub mod client;
pub mod config;
pub mod connect_link;
pub mod console;
pub mod credential;
pub mod demo;
pub mod emulator;
pub mod era;
pub mod hooks;
pub mod ids;
pub mod jsonrpc;
pub mod logging;
pub mod message;
pub mod net;
pub mod provider;
pub mod redact;
pub mod relay;
pub mod remote;
pub mod sandbox;
pub mod shutdown;
pub mod sse;
pub mod store;
pub mod untrusted;
