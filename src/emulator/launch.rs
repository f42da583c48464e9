//! `mcp-bridge sandbox --provider <name> [--port N]`: start one provider
//! emulator on loopback and hand back a config entry that points the bridge
//! at it, so a person can try a provider's config (tokens, headers, refresh,
//! sign-in) with no account. With a fixed port the entry stays valid when
//! the emulator is started again (its tokens are fixed too).

use super::integration_app::{IaOptions, IntegrationAppEmulator, access_token};
use super::oauth::{OAuthEmulator, OAuthOptions};
use super::pipe2::{Pipe2Emulator, Pipe2Options, personal_access_token};
use super::pipedream::{PipedreamEmulator, PipedreamOptions};
use super::zapier::{ZapierEmulator, ZapierOptions};
use std::any::Any;

/// The providers `sandbox --provider` can emulate.
pub const KINDS: &[&str] = &["pipedream", "zapier", "integration-app", "pipe2", "oauth"];

/// A running emulator (dropping it stops the server), its MCP URL, and a
/// `[servers.<kind>-sandbox]` config entry that reaches it.
pub struct Launched {
    pub server: Box<dyn Any + Send>,
    pub url: String,
    pub config: String,
}

/// Start the emulator of `kind` on 127.0.0.1:`port` (0 picks a free one).
pub async fn launch(kind: &str, port: u16) -> Result<Launched, String> {
    let io = |e: std::io::Error| format!("cannot start the {kind} emulator on 127.0.0.1:{port}: {e}");
    let launched = match kind {
        "pipedream" => {
            // The whole connect-link flow: user-1 has no account until the link is opened.
            let opts = PipedreamOptions {
                require_accounts: true,
                port,
                ..Default::default()
            };
            let emu = PipedreamEmulator::start(opts.clone()).await.map_err(io)?;
            let base = emu.base();
            Launched {
                url: format!("{base}/v3"),
                config: format!(
                    "provider = \"pipedream\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\nproject_id = \"proj_sandbox\"\n\
                     environment = \"development\"\nexternal_user_id = \"user-1\"\napp = \"slack\"\n\
                     base_url = \"{base}/v3\"\napi_base = \"{base}\"\n",
                    opts.client_id, opts.client_secret
                ),
                server: Box::new(emu),
            }
        }
        "zapier" => {
            let token = "zap-sandbox-connection-token";
            let emu = ZapierEmulator::start(ZapierOptions {
                connection_token: Some(token.into()),
                port,
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
            let token = access_token("sandbox-customer");
            let emu = IntegrationAppEmulator::start_with(IaOptions {
                port,
                tokens: vec![token.clone()],
                oauth: false,
            })
            .await
            .map_err(io)?;
            let url = emu.mcp_url();
            Launched {
                config: format!(
                    "provider = \"integration-app\"\nurl = \"{url}\"\ntoken = \"{token}\"\nmode = \"dynamic\"\n"
                ),
                url,
                server: Box::new(emu),
            }
        }
        "pipe2" => {
            // A personal access token, and the OAuth sign-in as a second entry.
            let pat = personal_access_token("sandbox");
            let emu = Pipe2Emulator::start(Pipe2Options {
                port,
                pats: vec![pat.clone()],
            })
            .await
            .map_err(io)?;
            let url = emu.url();
            Launched {
                config: format!(
                    "provider = \"pipe2\"\nurl = \"{url}\"\ntoken = \"{pat}\"\n\
                     [servers.pipe2-oauth-sandbox]\nprovider = \"pipe2\"\nurl = \"{url}\"\nauth = \"oauth\"\n"
                ),
                url,
                server: Box::new(emu),
            }
        }
        "oauth" => {
            let emu = OAuthEmulator::start(OAuthOptions {
                port,
                ..Default::default()
            })
            .await
            .map_err(io)?;
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
