//! The command line: the clap definitions and the dispatch to each command.
//! `serve` is the stdio MCP server a desktop client starts; it never prints
//! to stdout except protocol messages. The other subcommands are for people
//! and live one group per file: `serve` (serve, sandbox), `config_cmd`
//! (config path|init|check, servers), `doctor` (with its checks in `probe`),
//! `install`, `call` (tools, call), `pack` (a Claude Desktop extension),
//! `secret` (the OS keychain), `cache` (the list cache). `local_client`
//! runs `serve`'s relay in-process for doctor, tools and call.

mod cache;
mod call;
mod config_cmd;
mod doctor;
mod help;
mod install;
mod json_edit;
mod local_client;
mod pack;
mod probe;
mod secret;
mod serve;
mod sign_in;

use crate::config::ConfigError;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

pub use install::Client;

#[derive(Parser, Debug)]
#[command(
    name = "mcp-bridge",
    version,
    about = "A local stdio MCP server that relays to a hosted MCP provider over Streamable HTTP",
    long_about = help::LONG_ABOUT,
    after_help = help::MAIN,
    after_long_help = help::MAIN
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
    #[command(after_help = help::SERVE)]
    Serve {
        /// `[servers.<name>]` or `[bundles.<name>]` entries (several are served as one); defaults to
        /// `default = …` or the only server.
        names: Vec<String>,
    },
    /// Check every server end to end (config, credential, token, network, MCP) and say what to fix.
    #[command(after_help = help::DOCTOR)]
    Doctor {
        /// Check only this server (or the servers of this bundle).
        name: Option<String>,
    },
    /// Print (or with --write, add) the entry that starts this bridge from Claude Desktop or Cursor.
    #[command(after_help = help::INSTALL)]
    Install {
        /// The desktop client.
        #[arg(value_enum)]
        client: Client,
        /// The servers (or bundles) to add; defaults to `default = …` or the only server.
        servers: Vec<String>,
        /// Merge the entry into the client's config file (backed up first).
        #[arg(long)]
        write: bool,
        /// The client's config file, instead of its usual location.
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
    },
    /// List a server's tools, through the same relay as `serve`.
    #[command(after_help = help::TOOLS)]
    Tools {
        /// The `[servers.<name>]` or `[bundles.<name>]` entry.
        name: String,
        /// Print the tools as JSON, as the server sent them.
        #[arg(long)]
        json: bool,
    },
    /// Call one tool and print its result, through the same relay as `serve`.
    #[command(after_help = help::CALL)]
    Call {
        /// The `[servers.<name>]` or `[bundles.<name>]` entry.
        name: String,
        /// The tool's name (see `mcp-bridge tools <server>`; in a bundle, `<server>__<tool>`).
        tool: String,
        /// The arguments as a JSON object; `{}` when left out.
        #[arg(value_name = "JSON")]
        arguments: Option<String>,
        /// Print the whole result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show where the config lives, write a starter one, or check it.
    #[command(subcommand, after_help = help::CONFIG)]
    Config(ConfigAction),
    /// Serve the built-in sandbox provider over Streamable HTTP on 127.0.0.1 and print its URL.
    #[command(after_help = help::SANDBOX)]
    Sandbox {
        /// Port to listen on; 0 picks a free one (a fixed one keeps a printed config valid across restarts).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Require this bearer token on every request.
        #[arg(long, env = "MCP_BRIDGE_SANDBOX_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Expire sessions idle this many seconds.
        #[arg(long, value_name = "SECS", value_parser = secs)]
        session_ttl: Option<std::time::Duration>,
        /// Emulate a hosted provider instead (pipedream, zapier, integration-app, pipe2, oauth) and
        /// print a config entry that reaches it.
        #[arg(long, value_name = "NAME")]
        provider: Option<String>,
    },
    /// Check the config (and resolve its credentials) without connecting (same as `config check`).
    #[command(after_help = help::CHECK)]
    Check {
        /// Check only this server (or the servers of this bundle).
        name: Option<String>,
    },
    /// Drive `serve` with a scripted MCP client and narrate the exchange (try it against the sandbox),
    /// then once more with the bridge speaking MCP 2026-07-28 to a sandbox of its own.
    Demo {
        /// The server (or bundle) to relay to; defaults like `serve`.
        name: Option<String>,
    },
    /// List the configured servers and bundles.
    Servers,
    /// Sign in to a server that uses `auth = "oauth"` (opens the browser).
    #[command(after_help = help::LOGIN)]
    Login {
        /// The `[servers.<name>]` entry (or a bundle: each of its OAuth servers in turn).
        name: String,
        /// Only print the sign-in URL; do not open the browser.
        #[arg(long)]
        no_browser: bool,
    },
    /// Sign out of a server: revoke its tokens where it supports that, and forget them and the client registration.
    Logout {
        /// The `[servers.<name>]` entry (or a bundle: each of its OAuth servers).
        name: String,
    },
    /// Show the token state of each server: valid until …, refreshable, missing (never a secret).
    Status,
    /// Print where the config file is looked for (same as `config path`).
    ConfigPath,
    /// Write a Claude Desktop extension (.mcpb) that runs this bridge for a server or bundle.
    #[command(after_help = help::PACK)]
    Pack {
        /// The servers (or bundles) to serve; defaults to `default = …` or the only server.
        names: Vec<String>,
        /// A binary to include, as PLATFORM=PATH (darwin, linux, win32); repeat for each
        /// platform. Defaults to this program, for this platform.
        #[arg(long = "binary", value_name = "PLATFORM=PATH")]
        binaries: Vec<String>,
        /// Where to write the bundle; defaults to `mcp-bridge-<names>.mcpb` here.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Store, show or remove a secret in the OS keychain, for `{ keyring = "service/account" }` values.
    #[command(subcommand, after_help = help::SECRET)]
    Secret(SecretAction),
    /// Empty the list cache a warm start answers from (`list_cache` in the config).
    #[command(subcommand)]
    Cache(CacheAction),
}

#[derive(Subcommand, Debug)]
pub enum CacheAction {
    /// Forget the kept handshake and lists of a server, or of every server.
    Clear {
        /// The `[servers.<name>]` entry; every server when left out.
        name: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum SecretAction {
    /// Store a secret: typed at a prompt that does not show it, or read from stdin when piped.
    Set {
        /// The entry, as `service/account`.
        #[arg(value_name = "SERVICE/ACCOUNT")]
        name: String,
    },
    /// Print a stored secret.
    Get {
        /// The entry, as `service/account`.
        #[arg(value_name = "SERVICE/ACCOUNT")]
        name: String,
    },
    /// Remove a stored secret.
    Delete {
        /// The entry, as `service/account`.
        #[arg(value_name = "SERVICE/ACCOUNT")]
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConfigAction {
    /// Print where the config file is looked for.
    Path,
    /// Write a starter config (the sandbox and commented examples); never overwrites.
    Init,
    /// Check the config (and resolve its credentials) without connecting.
    Check {
        /// Check only this server (or the servers of this bundle).
        name: Option<String>,
    },
}

/// `--session-ttl`: seconds, 1ms to 24h.
fn secs(text: &str) -> Result<Duration, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .and_then(crate::config::duration_from_secs)
        .ok_or_else(|| "a number of seconds from 0.001 to 86400".to_string())
}

pub fn main() -> ExitCode {
    crate::net::exempt_loopback_from_env_proxies();
    let cli = Cli::parse();
    let default = match cli.command {
        Command::Tools { .. } | Command::Call { .. } | Command::Doctor { .. } => {
            crate::logging::DefaultFilter::WarningsButAnsweredErrors
        }
        _ => crate::logging::DefaultFilter::Warnings,
    };
    crate::logging::init(cli.log.as_deref(), default);
    // The relay waits on I/O nearly all the time: one thread serves it with
    // no cross-thread wake-ups (a futex pair per hand-off) on any message.
    // The sandbox is an HTTP server for other clients and gets all cores.
    let mut builder = if matches!(cli.command, Command::Sandbox { .. }) {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let rt = match builder.enable_all().build() {
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
    let flag = cli.config.as_deref();
    let result = match &cli.command {
        Command::Serve { names } => serve::serve(flag, names).await,
        Command::Doctor { name } => doctor::run(flag, name.as_deref()).await,
        Command::Install {
            client,
            servers,
            write,
            file,
        } => install::run(flag, *client, servers, *write, file.as_deref()),
        Command::Tools { name, json } => call::tools(flag, name, *json).await,
        Command::Call {
            name,
            tool,
            arguments,
            json,
        } => call::call(flag, name, tool, arguments.as_deref(), *json).await,
        Command::Config(ConfigAction::Path) | Command::ConfigPath => config_cmd::path(flag),
        Command::Config(ConfigAction::Init) => config_cmd::init(flag),
        Command::Config(ConfigAction::Check { name }) | Command::Check { name } => {
            config_cmd::check(flag, name.as_deref()).await
        }
        Command::Sandbox {
            port,
            token,
            session_ttl,
            provider,
        } => match provider.as_deref() {
            None | Some("sandbox") => serve::sandbox(*port, token.clone(), *session_ttl).await,
            Some(kind) => serve::emulate(kind, *port).await,
        },
        Command::Demo { name } => match crate::demo::check_target(flag, name.as_deref()) {
            Err(e) => Err(CliError::Config(e)),
            Ok(()) => match crate::demo::run(flag, name.as_deref(), cli.log.as_deref()).await {
                Err(e) if e == crate::demo::SAID_BY_SERVE => Err(CliError::Reported),
                other => other.map_err(CliError::Failed),
            },
        },
        Command::Servers => config_cmd::servers(flag),
        Command::Login { name, no_browser } => sign_in::login(flag, name, *no_browser).await.map_err(CliError::Failed),
        Command::Logout { name } => sign_in::logout(flag, name).await.map_err(CliError::Failed),
        Command::Status => sign_in::status(flag).await.map_err(CliError::Usage),
        Command::Pack {
            names,
            binaries,
            output,
        } => pack::run(flag, names, binaries, output.as_deref()),
        Command::Secret(SecretAction::Set { name }) => secret::set(name),
        Command::Secret(SecretAction::Get { name }) => secret::get(name),
        Command::Secret(SecretAction::Delete { name }) => secret::delete(name),
        Command::Cache(CacheAction::Clear { name }) => cache::clear(name.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let text = e.to_string();
            if !text.is_empty() {
                // Errors quote remotes: no escape sequence reaches the terminal.
                eprintln!("mcp-bridge: {}", crate::untrusted::for_terminal(&text));
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// What `check`, and `doctor` as far as its config phase, print for a
/// parsed config file (`Config::parse_all`'s config and problems), without
/// connecting anywhere: the fuzz target `config` (`fuzz/checks/config.rs`)
/// drives both with whole files, and no file may make either panic.
pub async fn check_and_doctor_config(
    config: &crate::config::Config,
    problems: Vec<ConfigError>,
    only: Option<&str>,
    resolver: &crate::config::Resolver,
) -> String {
    let mut out = match config_cmd::report(config, problems.clone(), only, resolver).await {
        Ok((rows, found)) => {
            let errors: Vec<String> = found.iter().map(ToString::to_string).collect();
            format!("{rows}{}\n", errors.join("\n"))
        }
        Err(e) => e.to_string(),
    };
    match doctor::config_phases(config, problems, only, resolver).await {
        Ok((phases, general)) => out.push_str(&doctor::config_phase_text(phases, &general)),
        Err(e) => out.push_str(&e.to_string()),
    }
    out
}

/// Exit status 1: a check, a call, a sign-in or a write failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit status 2: the command line or the config is wrong; nothing was tried.
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, thiserror::Error)]
enum CliError {
    /// The config is wrong (exit 2).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The command line asks for something impossible (exit 2).
    #[error("{0}")]
    Usage(String),
    /// What was tried failed (exit 1).
    #[error("{0}")]
    Failed(String),
    /// A failure already shown to the person (exit 1).
    #[error("")]
    Found,
    /// `serve` told the person (and the client) why it cannot start (exit 2).
    #[error("")]
    Reported,
}

impl CliError {
    fn exit_code(&self) -> u8 {
        match self {
            CliError::Failed(_) | CliError::Found => EXIT_FAILED,
            CliError::Config(_) | CliError::Usage(_) | CliError::Reported => EXIT_USAGE,
        }
    }
}
