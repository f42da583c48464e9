//! `serve` (the stdio MCP server a desktop client starts) and `sandbox` (the
//! built-in provider or an emulator, for other clients). `relay_prepared` is
//! the one path from a prepared server to the relay: `serve` runs it on
//! stdin/stdout, and `doctor`, `tools` and `call` run it on an in-memory pipe.

use super::CliError;
use crate::client::{self, Outbox};
use crate::config::{Config, Resolver};
use crate::hooks::Upstream;
use crate::provider::{self, Setup};
use crate::redact::{Redactor, display_url};
use crate::relay::{self, Relay};
use crate::remote::Remote;
use crate::remote::inbound::Inbound;
use crate::sandbox::{Sandbox, SandboxOptions};
use crate::shutdown;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

pub async fn serve(flag: Option<&Path>, names: &[String]) -> Result<(), CliError> {
    if crate::bundle::is_bundle(flag, names) {
        say_what_serve_waits_for(names);
        // Its errors are config errors (an unknown name, a bad entry): exit 2.
        return crate::bundle::serve(flag, names).await.map_err(CliError::Usage);
    }
    let redactor = Redactor::new();
    // Two or more names are a bundle (above): here there is at most one.
    let ready = prepare_server(flag, names.first().map(String::as_str), &redactor).await;
    let (name, prepared) = match ready {
        Ok(ready) => ready,
        Err(e) => {
            // A desktop client shows a failed initialize's message to the
            // person; a bare exit only says "server disconnected".
            if !std::io::stdin().is_terminal() {
                eprintln!("mcp-bridge: {e}");
                let why = format!("mcp-bridge cannot start: {e}");
                relay::refuse_all(client::stdin(), client::stdout(), &why).await;
                return Err(CliError::Reported);
            }
            return Err(e);
        }
    };
    say_what_serve_waits_for(std::slice::from_ref(&name));
    tracing::info!(server = name.as_str(), url = %display_url(&prepared.endpoint.url), "serving on stdio");
    relay_prepared(prepared, &redactor, client::stdin(), client::stdout()).await
}

/// Run by hand in a terminal, `serve` would otherwise sit silent: say on
/// stderr what it waits for and how to try the server instead.
fn say_what_serve_waits_for(names: &[String]) {
    if !std::io::stdin().is_terminal() {
        return;
    }
    let name = names.first().map(String::as_str).unwrap_or("<name>");
    eprintln!(
        "mcp-bridge serve is waiting for an MCP client on stdin (one JSON-RPC message per line): a desktop client \
         such as Claude Desktop starts it and speaks for you. To try `{name}` by hand:\n  \
         mcp-bridge demo {name}                  a narrated session\n  \
         mcp-bridge tools {name}                 its tools\n  \
         mcp-bridge call {name} <tool> '{{...}}'   call one\n\
         Ctrl-D or Ctrl-C stops it."
    );
}

/// Relay between `input`/`output` (newline-delimited JSON-RPC, as on stdio)
/// and the prepared server until `input` closes. This is `serve`'s relay.
pub async fn relay_prepared(
    prepared: provider::Prepared,
    redactor: &Redactor,
    input: impl AsyncRead + Unpin,
    output: impl AsyncWrite + Unpin + Send + 'static,
) -> Result<(), CliError> {
    // The lane goes with the stdout `client::stdout` made (none for another output).
    let lane = client::stdout_lane();
    let (out, rx) = Outbox::channel();
    let out = out.with_lane(lane.clone());
    let writer = client::spawn_writer_with(rx, output, lane);
    let inbound = Arc::new(Inbound::new(out.clone()).with_transforms(prepared.transforms));
    let remote = Remote::new(prepared.endpoint, inbound.clone())
        .map_err(|e| CliError::Failed(redactor.apply(&e.to_string())))?;
    let remote = Arc::new(remote);
    inbound.bind(&(remote.clone() as Arc<dyn Upstream>));
    let relay = Relay::new(remote, out.clone(), prepared.hooks);
    shutdown::serve_until_stopped(input, relay, &out, writer).await;
    drop(prepared.keep_alive);
    Ok(())
}

/// Load the config and build the endpoint for server `name` (or the default).
pub async fn prepare_server(
    flag: Option<&Path>,
    name: Option<&str>,
    redactor: &Redactor,
) -> Result<(String, provider::Prepared), CliError> {
    let config = Config::load(flag)?;
    let (name, entry) = config.select(name)?;
    let resolver = Resolver::new();
    let prepared = provider::prepare(Setup::new(name, entry, &config, &resolver, redactor)).await?;
    Ok((name.to_string(), prepared))
}

pub async fn sandbox(port: u16, token: Option<String>, session_ttl: Option<Duration>) -> Result<(), CliError> {
    let sandbox = Sandbox::start(SandboxOptions {
        port,
        token,
        session_ttl,
    })
    .await
    .map_err(|e| CliError::Failed(format!("cannot start the sandbox on 127.0.0.1:{port}: {e}")))?;
    crate::outln!("{}", sandbox.url());
    eprintln!("mcp-bridge sandbox listening at {} (Ctrl-C to stop)", sandbox.url());
    let _ = tokio::signal::ctrl_c().await;
    sandbox.shutdown().await;
    Ok(())
}

pub async fn emulate(kind: &str, port: u16) -> Result<(), CliError> {
    let launched = crate::emulator::launch::launch(kind, port)
        .await
        .map_err(CliError::Usage)?;
    crate::outln!("{}", launched.url);
    crate::outln!("\n# A config entry that reaches this emulator:\n{}", launched.config);
    eprintln!(
        "mcp-bridge: {kind} emulator listening at {} (Ctrl-C to stop)",
        launched.url
    );
    let _ = tokio::signal::ctrl_c().await;
    drop(launched.server);
    Ok(())
}
