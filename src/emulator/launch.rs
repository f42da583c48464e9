//! `mcp-bridge sandbox --provider <name>`: start one provider emulator on
//! loopback and hand back a config entry that points the bridge at it, so a
//! person can try a provider's config (tokens, headers, refresh, sign-in)
//! with no account.

use super::integration_app::IntegrationAppEmulator;
use super::oauth::{OAuthEmulator, OAuthOptions};
use super::pipedream::{PipedreamEmulator, PipedreamOptions};
use super::zapier::{ZapierEmulator, ZapierOptions};
use std::any::Any;

/// The providers `sandbox --provider` can emulate.
pub const KINDS: &[&str] = &["pipedream", "zapier", "integration-app", "oauth"];

/// A running emulator (dropping it stops the server), its MCP URL, and a
/// `[servers.<kind>-sandbox]` config entry that reaches it.
pub struct Launched {
    pub server: Box<dyn Any + Send>,
    pub url: String,
    pub config: String,
}

pub async fn launch(kind: &str) -> Result<Launched, String> {
    let io = |e: std::io::Error| format!("cannot start the {kind} emulator on 127.0.0.1: {e}");
    let launched = match kind {
        "pipedream" => {
            // The whole connect-link flow: user-1 has no account until the link is opened.
            let opts = PipedreamOptions {
                require_accounts: true,
                ..Default::default()
            };
            let emu = PipedreamEmulator::start(opts.clone()).await.map_err(io)?;
            let base = emu.base();
            Launched {
                url: base.clone(),
                config: format!(
                    "provider = \"pipedream\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\nproject_id = \"proj_sandbox\"\n\
                     environment = \"development\"\nexternal_user_id = \"user-1\"\napp = \"slack\"\n\
                     base_url = \"{base}\"\napi_base = \"{base}\"\n",
                    opts.client_id, opts.client_secret
                ),
                server: Box::new(emu),
            }
        }
        "zapier" => {
            let token = "zap-sandbox-connection-token";
            let emu = ZapierEmulator::start(ZapierOptions {
                connection_token: Some(token.into()),
                ..Default::default()
            })
            .await
            .map_err(io)?;
            let url = emu.connect_url();
            Launched {
                config: format!("provider = \"zapier\"\nurl = \"{url}\"\ntoken = \"{token}\"\n"),
                url,
                server: Box::new(emu),
            }
        }
        "integration-app" => {
            let token = "ia-sandbox-token";
            let emu = IntegrationAppEmulator::start(token).await.map_err(io)?;
            let url = emu.mcp_url();
            Launched {
                config: format!(
                    "provider = \"integration-app\"\nurl = \"{url}\"\ntoken = \"{token}\"\nmode = \"dynamic\"\n"
                ),
                url,
                server: Box::new(emu),
            }
        }
        "oauth" => {
            let emu = OAuthEmulator::start(OAuthOptions::default()).await.map_err(io)?;
            let url = emu.url();
            Launched {
                config: format!("provider = \"generic\"\nurl = \"{url}\"\nauth = \"oauth\"\n"),
                url,
                server: Box::new(emu),
            }
        }
        other => {
            return Err(format!(
                "no emulator for `{other}`; choose one of: sandbox, {}",
                KINDS.join(", ")
            ));
        }
    };
    Ok(Launched {
        config: format!("[servers.{kind}-sandbox]\n{}", launched.config),
        ..launched
    })
}
