//! Plain http only to this machine: a bearer, Pipedream's `api_base` or an
//! authorization server's token endpoint on another machine over `http://`
//! is refused (a config error naming the key and the fix in `check`,
//! `doctor` and `serve`), unless the entry says `allow_http = true`.

mod cli_support;
mod hostile_oauth;
mod oauth_support;
mod support;

use cli_support::Home;
use support::Bridge;

const LAN_BEARER: &str = "[servers.lan]\nurl = \"http://192.168.1.20/mcp\"\nbearer = \"lan-bearer-0c1d\"\n";
const PD_HTTP_API: &str = "[servers.pd]\nprovider = \"pipedream\"\nclient_id = \"i\"\nclient_secret = \"pd-secret-9e8f\"\n\
     project_id = \"proj_x\"\nenvironment = \"development\"\nexternal_user_id = \"u\"\napp = \"slack\"\napi_base = \"http://10.0.0.5\"\n";

#[test]
fn a_bearer_for_another_machine_over_plain_http_is_a_config_error_in_check_and_doctor() {
    let home = Home::new();
    for (config, key) in [(LAN_BEARER, "url"), (PD_HTTP_API, "api_base")] {
        let p = home.file("c.toml", config);
        for cmd in [&["config", "check"][..], &["doctor"][..]] {
            let mut args = vec!["--config", p.to_str().unwrap()];
            args.extend_from_slice(cmd);
            let r = home.run(&args);
            assert_ne!(r.code, 0, "{cmd:?} {key}: {}", r.all());
            let all = r.all();
            assert!(
                all.contains(&format!(".{key}")) && all.contains("allow_http = true"),
                "{cmd:?}: {all}"
            );
            assert!(
                !all.contains("lan-bearer-0c1d") && !all.contains("pd-secret-9e8f"),
                "{all}"
            );
        }
    }
}

#[tokio::test]
async fn serve_answers_every_request_with_the_plain_http_error() {
    let mut b = Bridge::serve(LAN_BEARER, "lan");
    let r = b.initialize_answer().await;
    let message = r["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("plain http://") && message.contains("allow_http = true"),
        "{r}"
    );
}

#[test]
fn allow_http_or_this_machine_lets_plain_http_through() {
    let home = Home::new();
    let trusted = format!("{LAN_BEARER}allow_http = true\n");
    let local = "[servers.local]\nurl = \"http://127.0.0.1:9/mcp\"\nbearer = \"b\"\n";
    for config in [trusted.as_str(), local] {
        let p = home.file("c.toml", config);
        let r = home.run(&["--config", p.to_str().unwrap(), "config", "check"]);
        assert_eq!(r.code, 0, "{config}: {}", r.all());
        // Let through to another machine, it is not let through silently.
        let warned = r
            .all()
            .contains("`url` is plain http:// to 192.168.1.20, another machine (`allow_http = true`)");
        assert_eq!(warned, config == trusted, "{config}: {}", r.all());
    }
}

#[tokio::test]
async fn a_token_endpoint_on_another_machine_over_plain_http_never_gets_the_client_secret() {
    let url = hostile_oauth::start(hostile_oauth::set("token_endpoint", "http://192.0.2.7/token")).await;
    let env = oauth_support::Env::new(&url, "client_id = \"pre\"\nclient_secret = \"pre-secret-5a5a\"\n");
    let (ok, _, stderr) = oauth_support::login(&env, false).await;
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("token_endpoint") && stderr.contains("plain http://"),
        "{stderr}"
    );
    assert!(env.opens().is_empty());
}

#[tokio::test]
async fn a_revocation_endpoint_on_another_machine_over_plain_http_is_refused_before_sign_in() {
    let url = hostile_oauth::start(hostile_oauth::set("revocation_endpoint", "http://192.0.2.7/revoke")).await;
    let env = oauth_support::Env::new(&url, "client_id = \"pre\"\nclient_secret = \"pre-secret-5a5a\"\n");
    let (ok, _, stderr) = oauth_support::login(&env, false).await;
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("`revocation_endpoint` is plain http://") && stderr.contains("allow_http = true"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_machine_client_never_sends_its_secret_to_a_token_endpoint_over_plain_http_elsewhere() {
    let url = hostile_oauth::start(hostile_oauth::set("token_endpoint", "http://192.0.2.7/token")).await;
    let env = oauth_support::Env::with_auth(
        &url,
        "client_credentials",
        "client_id = \"machine\"\nclient_secret = \"machine-secret-6d6d\"",
    );
    let mut b = env.serve();
    let r = b.initialize_answer().await;
    let message = r["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("`token_endpoint` is plain http://") && message.contains("allow_http = true"),
        "{r}"
    );
    assert!(!message.contains("machine-secret-6d6d"), "{r}");
}

#[tokio::test]
async fn an_identity_provider_token_endpoint_over_plain_http_elsewhere_is_a_config_error() {
    let env = oauth_support::Env::with_auth(
        "https://mcp.example.com/mcp",
        "enterprise",
        "client_id = \"c\"\nidp_issuer = \"https://sso.example.com\"\nidp_client_id = \"d\"\n\
         idp_token_endpoint = \"http://192.0.2.7/token\"\nid_token = \"t\"",
    );
    let out = env.cli(&["check"]).output().await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("idp_token_endpoint") && err.contains("plain http://") && err.contains("allow_http = true"),
        "{err}"
    );
}
