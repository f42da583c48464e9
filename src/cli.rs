//! The command line: parses arguments and dispatches to the subcommands.
//! `serve` is the stdio MCP server a desktop client starts; it never prints
//! to stdout except protocol messages. The other subcommands are for people.

use crate::config::{self, Config, ConfigError, Resolver};
use crate::provider::{self, Setup};
use crate::redact::{Redactor, display_url};
use crate::relay;
use crate::remote::{Remote, inbound::Inbound};
use crate::sandbox::{Sandbox, SandboxOptions};
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "mcp-bridge",
    version,
    about = "A local stdio MCP server that relays to a hosted MCP provider over Streamable HTTP",
    long_about = "mcp-bridge is started by an MCP client (Claude Desktop, Cursor, an agent framework) as a \
stdio MCP server. It relays every message to the remote server named in its config, adding the \
credentials that provider needs, so no secret sits in the client's JSON or on the command line.\n\n\
Config: --config PATH, else $MCP_BRIDGE_CONFIG, else the per-OS default (see `mcp-bridge config-path`). \
With no config file at all, `serve` runs against the built-in sandbox provider.",
    after_help = "Examples:\n  mcp-bridge serve zapier            relay stdio to [servers.zapier]\n  mcp-bridge --config ./config.example.toml check\n  mcp-bridge sandbox --port 8931     serve the sandbox provider for other clients\n  RUST_LOG=debug mcp-bridge serve    log to stderr in detail"
)]
pub struct Cli {
    /// Config file to read (overrides MCP_BRIDGE_CONFIG and the default location).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Log filter for stderr, e.g. `debug` or `mcp_bridge=trace` (overrides RUST_LOG).
    #[arg(long, global = true, value_name = "FILTER")]
    pub log: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run as a stdio MCP server relaying to a configured server (what a desktop client starts).
    Serve {
        /// The `[servers.<name>]` entry; defaults to `default = …` or the only server.
        name: Option<String>,
    },
    /// Serve the built-in sandbox provider over Streamable HTTP on 127.0.0.1 and print its URL.
    Sandbox {
        /// Port to listen on; 0 picks a free one (the sandbox only; emulators always pick one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Require this bearer token on every request.
        #[arg(long, env = "MCP_BRIDGE_SANDBOX_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Expire sessions idle this many seconds.
        #[arg(long, value_name = "SECS")]
        session_ttl: Option<f64>,
        /// Emulate a hosted provider instead (pipedream, zapier, integration-app, oauth) and print
        /// a config entry that reaches it.
        #[arg(long, value_name = "NAME")]
        provider: Option<String>,
    },
    /// Check the config (and resolve its credentials) without connecting.
    Check {
        /// Check only this server.
        name: Option<String>,
    },
    /// Drive `serve` with a scripted MCP client and narrate the exchange (try it against the sandbox).
    Demo {
        /// The server to relay to; defaults like `serve`.
        name: Option<String>,
    },
    /// List the configured servers.
    Servers,
    /// Sign in to a server that uses `auth = "oauth"` (opens the browser).
    Login {
        /// The `[servers.<name>]` entry.
        name: String,
        /// Only print the sign-in URL; do not open the browser.
        #[arg(long)]
        no_browser: bool,
    },
    /// Sign out of a server: revoke its tokens where it supports that, and forget them and the client registration.
    Logout {
        /// The `[servers.<name>]` entry.
        name: String,
    },
    /// Show the token state of each server: valid until …, refreshable, missing (never a secret).
    Status,
    /// Print where the config file is looked for.
    ConfigPath,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::logging::init(cli.log.as_deref());
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mcp-bridge: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = rt.block_on(dispatch(cli));
    rt.shutdown_timeout(Duration::from_secs(1));
    code
}

async fn dispatch(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Serve { ref name } => serve(&cli, name.as_deref()).await,
        Command::Sandbox {
            port,
            ref token,
            session_ttl,
            ref provider,
        } => match provider.as_deref() {
            None | Some("sandbox") => sandbox(port, token.clone(), session_ttl).await,
            Some(kind) => emulate(kind).await,
        },
        Command::Check { ref name } => check(&cli, name.as_deref()).await,
        Command::Demo { ref name } => crate::demo::run(cli.config.as_deref(), name.as_deref(), cli.log.as_deref())
            .await
            .map_err(CliError::Other),
        Command::Servers => servers(&cli),
        Command::Login { ref name, no_browser } => {
            crate::auth::commands::login(cli.config.as_deref(), name, no_browser)
                .await
                .map_err(CliError::Other)
        }
        Command::Logout { ref name } => crate::auth::commands::logout(cli.config.as_deref(), name)
            .await
            .map_err(CliError::Other),
        Command::Status => crate::auth::commands::status(cli.config.as_deref())
            .await
            .map_err(CliError::Other),
        Command::ConfigPath => {
            match config::locate(cli.config.as_deref()) {
                Some(p) => println!("{}", p.display()),
                None => println!("(no config directory on this system; pass --config)"),
            }
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Reported) => ExitCode::from(2),
        Err(e) => {
            eprintln!("mcp-bridge: {e}");
            ExitCode::from(2)
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Other(String),
    /// Already told to the person (and the client); just exit with 2.
    #[error("")]
    Reported,
}

async fn serve(cli: &Cli, name: Option<&str>) -> Result<(), CliError> {
    let redactor = Redactor::new();
    let (name, prepared) = match prepare_server(cli, name, &redactor).await {
        Ok(ready) => ready,
        Err(e) => {
            // A desktop client shows a failed initialize's message to the
            // person; a bare exit only says "server disconnected".
            if !std::io::stdin().is_terminal() {
                eprintln!("mcp-bridge: {e}");
                let why = format!("mcp-bridge cannot start: {e}");
                relay::refuse_all(tokio::io::stdin(), tokio::io::stdout(), &why).await;
                return Err(CliError::Reported);
            }
            return Err(e);
        }
    };
    let name = name.as_str();
    tracing::info!(server = name, url = %display_url(&prepared.endpoint.url), "serving on stdio");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let writer = relay::spawn_writer(rx, tokio::io::stdout());
    let inbound = Arc::new(Inbound::new(tx.clone()));
    let remote =
        Arc::new(Remote::new(prepared.endpoint, inbound).map_err(|e| CliError::Other(redactor.apply(&e.to_string())))?);
    remote.keep_responses(prepared.hooks.is_some());
    relay::run(tokio::io::stdin(), remote, tx.clone(), prepared.hooks).await;
    drop(tx);
    // Everything queued is flushed by now or within moments; don't wait on
    // background tasks that may still hold a sender.
    let _ = tokio::time::timeout(Duration::from_millis(500), writer).await;
    drop(prepared.keep_alive);
    Ok(())
}

/// Load the config and build the endpoint for the server `serve` runs.
async fn prepare_server(
    cli: &Cli,
    name: Option<&str>,
    redactor: &Redactor,
) -> Result<(String, provider::Prepared), CliError> {
    let config = Config::load(cli.config.as_deref())?;
    let (name, entry) = config.select(name)?;
    let resolver = Resolver::new();
    let prepared = provider::prepare(Setup {
        name,
        entry,
        config: &config,
        resolver: &resolver,
        redactor,
    })
    .await?;
    Ok((name.to_string(), prepared))
}

async fn sandbox(port: u16, token: Option<String>, session_ttl: Option<f64>) -> Result<(), CliError> {
    let sandbox = Sandbox::start(SandboxOptions {
        port,
        token,
        session_ttl: session_ttl.map(Duration::from_secs_f64),
    })
    .await
    .map_err(|e| CliError::Other(format!("cannot start the sandbox on 127.0.0.1:{port}: {e}")))?;
    println!("{}", sandbox.url());
    eprintln!("mcp-bridge sandbox listening at {} (Ctrl-C to stop)", sandbox.url());
    let _ = tokio::signal::ctrl_c().await;
    sandbox.shutdown().await;
    Ok(())
}

async fn emulate(kind: &str) -> Result<(), CliError> {
    let launched = crate::emulator::launch::launch(kind).await.map_err(CliError::Other)?;
    println!("{}", launched.url);
    println!("\n# A config entry that reaches this emulator:\n{}", launched.config);
    eprintln!(
        "mcp-bridge: {kind} emulator listening at {} (Ctrl-C to stop)",
        launched.url
    );
    let _ = tokio::signal::ctrl_c().await;
    drop(launched.server);
    Ok(())
}

async fn check(cli: &Cli, only: Option<&str>) -> Result<(), CliError> {
    let config = Config::load(cli.config.as_deref())?;
    let names: Vec<String> = match only {
        Some(n) => vec![config.select(Some(n))?.0.to_string()],
        None => config.servers.keys().cloned().collect(),
    };
    let resolver = Resolver::new();
    for name in names {
        let entry = &config.servers[&name];
        let redactor = Redactor::new();
        let prepared = provider::prepare(Setup {
            name: &name,
            entry,
            config: &config,
            resolver: &resolver,
            redactor: &redactor,
        })
        .await?;
        println!(
            "ok  {name:<16} {:<16} {}",
            entry.provider_name(),
            display_url(&prepared.endpoint.url)
        );
    }
    println!("{}: valid", config.display_path());
    Ok(())
}

fn servers(cli: &Cli) -> Result<(), CliError> {
    let config = Config::load(cli.config.as_deref())?;
    println!("{}", config.display_path());
    for (name, entry) in &config.servers {
        let url = entry
            .url
            .as_ref()
            .and_then(|u| u.as_literal())
            .and_then(|u| url::Url::parse(u).ok());
        let shown = url
            .map(|u| display_url(&u))
            .unwrap_or_else(|| "(provider default)".into());
        let mark = if config.default.as_deref() == Some(name) {
            "*"
        } else {
            " "
        };
        println!("{mark} {name:<16} {:<16} {shown}", entry.provider_name());
    }
    Ok(())
}
