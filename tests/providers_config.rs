//! Bad provider config values: `mcp-bridge --config F check` (and `serve`)
//! exits 2 with a message that names the file, the line, the dotted key and
//! the allowed values, and never prints a secret. Also: a good config with
//! every provider passes `check`.

mod providers_common;
mod support;

use providers_common::{check, data_dir, serve, store_path};

/// 1-based line of the first line of `cfg` starting with `prefix`.
fn line_of(cfg: &str, prefix: &str) -> usize {
    cfg.lines()
        .position(|l| l.trim_start().starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?}"))
        + 1
}

const PD: &str = "[servers.pd]\nprovider = \"pipedream\"\nclient_id = \"cid\"\nclient_secret = \"pd-s3cret-value\"\n\
                  project_id = \"proj_abc\"\nenvironment = \"development\"\nexternal_user_id = \"u1\"\napp = \"slack\"\n";

/// `PD` with the line starting `key =` replaced by `line` (or `line` added).
fn pd_with(key: &str, line: &str) -> String {
    let mut out: Vec<String> = PD
        .lines()
        .filter(|l| !l.starts_with(&format!("{key} =")))
        .map(str::to_string)
        .collect();
    if !line.is_empty() {
        out.push(line.to_string());
    }
    out.join("\n") + "\n"
}

/// (config, the key's line prefix, dotted key, fragments the message must hold)
fn cases() -> Vec<(String, &'static str, &'static str, Vec<&'static str>)> {
    vec![
        (
            pd_with("environment", "environment = \"staging\""),
            "environment",
            "servers.pd.environment",
            vec!["`staging`", "development, production"],
        ),
        (
            pd_with("tool_mode", "tool_mode = \"agent\""),
            "tool_mode",
            "servers.pd.tool_mode",
            vec!["sub-agent, tools-only, full-config"],
        ),
        (
            pd_with("project_id", "project_id = \"12345\""),
            "project_id",
            "servers.pd.project_id",
            vec!["proj_"],
        ),
        (pd_with("app", ""), "[servers.pd]", "servers.pd.app", vec!["app_discovery = true"]),
        (
            pd_with(
                "app",
                "base_url = \"https://remote.mcp.pipedream.net\"\napp_discovery = true\ntool_mode = \"tools-only\"",
            ),
            "tool_mode",
            "servers.pd.tool_mode",
            vec!["full-config"],
        ),
        (
            pd_with("tool_mode", "tool_mode = \"tools-only\""),
            "tool_mode",
            "servers.pd.tool_mode",
            vec!["/v3 server has no tool modes", "base_url = \"https://remote.mcp.pipedream.net\""],
        ),
        (
            pd_with("oauth_app_id", "oauth_app_id = \"app_123\""),
            "oauth_app_id",
            "servers.pd.oauth_app_id",
            vec!["oa_"],
        ),
        (
            pd_with("webhook_uri", "webhook_uri = \"hooks.example/pd\""),
            "webhook_uri",
            "servers.pd.webhook_uri",
            vec!["not a valid URL"],
        ),
        (
            pd_with("environment", ""),
            "[servers.pd]",
            "servers.pd.environment",
            vec!["development, production"],
        ),
        (
            pd_with("url", "url = \"https://x.example/mcp\""),
            "url",
            "servers.pd.url",
            vec!["base_url"],
        ),
        (
            pd_with("base_url", "base_url = \"ftp://x.example\""),
            "base_url",
            "servers.pd.base_url",
            vec!["http:// or https://"],
        ),
        (
            pd_with("client_secret", "client_secret = \"${MCPB_TEST_SURELY_UNSET}\""),
            "client_secret",
            "servers.pd.client_secret",
            vec!["MCPB_TEST_SURELY_UNSET", "is not set"],
        ),
        (
            pd_with(
                "client_secret",
                "client_secret = { command = [\"sh\", \"-c\", \"echo LEAKED-IF-SHOWN; exit 3\"] }",
            ),
            "client_secret",
            "servers.pd.client_secret",
            vec!["`sh` failed"],
        ),
        (
            "[servers.zap]\nprovider = \"zapier\"\n".into(),
            "[servers.zap]",
            "servers.zap.token",
            vec!["`token`", "/api/mcp/s/<secret>/mcp", "`access_token`, `refresh_token`, `client_id` and `client_secret`"],
        ),
        (
            "[servers.zap]\nprovider = \"zapier\"\naccess_token = \"zat-LEAKED-IF-SHOWN\"\nrefresh_token = \"r-LEAKED-IF-SHOWN\"\n"
                .into(),
            "[servers.zap]",
            "servers.zap.client_id",
            vec!["missing: client_id, client_secret"],
        ),
        (
            "[servers.zap]\nprovider = \"zapier\"\ntoken = \"t-LEAKED-IF-SHOWN\"\naccess_token = \"zat\"\n".into(),
            "access_token",
            "servers.zap.access_token",
            vec!["not both"],
        ),
        (
            "[servers.zap]\nprovider = \"zapier\"\ntoken = \"t\"\nproject_id = \"proj_1\"\n".into(),
            "project_id",
            "servers.zap.project_id",
            vec!["does not use `project_id`", "provider `pipedream`", "token, access_token"],
        ),
        (
            "[servers.ia]\nprovider = \"integration-app\"\nurl = \"https://ia.example/mcp\"\ntoken = \"t\"\nmode = \"hybrid\"\n"
                .into(),
            "mode",
            "servers.ia.mode",
            vec!["static, dynamic"],
        ),
        (
            "[servers.ia]\nprovider = \"integration-app\"\nurl = \"https://ia.example/mcp\"\ntoken = \"t\"\napps = []\n".into(),
            "apps",
            "servers.ia.apps",
            vec!["empty"],
        ),
        (
            "[servers.ia]\nprovider = \"integration-app\"\ntoken = \"t\"\n".into(),
            "[servers.ia]",
            "servers.ia.url",
            vec!["`url` is required"],
        ),
        (
            "[servers.ia]\nprovider = \"integration-app\"\nurl = \"https://ia.example/mcp\"\n".into(),
            "[servers.ia]",
            "servers.ia.token",
            vec!["`token` is required", "auth = \"oauth\""],
        ),
        (
            "[servers.ia]\nprovider = \"integration-app\"\nurl = \"https://ia.example/sse?token=t-LEAKED-IF-SHOWN\"\ntoken = \"t-LEAKED-IF-SHOWN\"\n"
                .into(),
            "token",
            "servers.ia.token",
            vec!["given twice", "remove ?token= from `url`"],
        ),
        (
            "[servers.zap]\nprovider = \"zapier\"\ntoken = \"t\"\ntransport = \"sse\"\n".into(),
            "transport",
            "servers.zap.transport",
            vec!["Streamable HTTP only"],
        ),
        (
            "[servers.p2]\nprovider = \"pipe2\"\n".into(),
            "[servers.p2]",
            "servers.p2.token",
            vec!["Personal Access Tokens"],
        ),
        (
            "[servers.p2]\nprovider = \"pipe2\"\ntoken = { file = \"/nonexistent/mcpb-token\" }\n".into(),
            "token",
            "servers.p2.token",
            vec!["cannot read file /nonexistent/mcpb-token"],
        ),
        (
            "[servers.p2]\nprovider = \"pipe2\"\nauth = \"oauth\"\ntoken = \"t-LEAKED-IF-SHOWN\"\n".into(),
            "token",
            "servers.p2.token",
            vec!["not both"],
        ),
        (
            "[servers.zap]\nprovider = \"zapier\"\nauth = \"oauth\"\ntoken = \"t-LEAKED-IF-SHOWN\"\n".into(),
            "token",
            "servers.zap.token",
            vec!["remove `token`"],
        ),
        (
            "[servers.p2]\nprovider = \"zapierr\"\n".into(),
            "provider",
            "servers.p2.provider",
            vec!["did you mean `zapier`", "generic, sandbox, pipedream, zapier, integration-app, pipe2"],
        ),
        (
            "[servers.p2]\nprovider = \"pipe2\"\ntokn = \"t\"\n".into(),
            "tokn",
            "servers.p2.tokn",
            vec!["unknown key `tokn`", "did you mean `token`"],
        ),
    ]
}

#[test]
fn each_bad_value_is_named_with_its_line_and_the_allowed_values() {
    for (cfg, at, key, fragments) in cases() {
        let out = check(&cfg, &[]);
        let err = &out.stderr;
        assert_eq!(out.code, Some(2), "exit code for:\n{cfg}\n{err}");
        let path = out.config_path.display().to_string();
        let line = line_of(&cfg, at);
        assert!(
            err.contains(&format!("{path}:{line}, key")),
            "file and line {line}:\n{cfg}\n{err}"
        );
        assert!(err.contains(&format!("key `{key}`")), "key {key}:\n{cfg}\n{err}");
        for f in fragments {
            assert!(err.contains(f), "{f:?} missing for:\n{cfg}\n{err}");
        }
        assert!(
            !err.contains("LEAKED-IF-SHOWN") && !out.stdout.contains("LEAKED-IF-SHOWN"),
            "{err}"
        );
        assert!(!err.contains("pd-s3cret-value"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_a_bad_value_with_exit_code_2() {
    let store = data_dir();
    let mut b = serve(
        &pd_with("environment", "environment = \"producton\""),
        "pd",
        &store_path(&store),
        &[],
    );
    // The client's initialize gets the reason, so the person sees it.
    let resp = b
        .request("initialize", serde_json::json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}))
        .await;
    let shown = resp["error"]["message"].as_str().unwrap_or_default().to_string();
    assert!(
        shown.contains("servers.pd.environment") && shown.contains("production"),
        "{resp}"
    );
    assert!(!shown.contains("pd-s3cret-value"), "{shown}");
    b.close_stdin();
    let status = b.wait_exit(std::time::Duration::from_secs(10)).await;
    assert_eq!(status.code(), Some(2));
    let err = b.stderr_text();
    assert!(
        err.contains("servers.pd.environment") && err.contains("did you mean `production`"),
        "{err}"
    );
    assert!(!err.contains("pd-s3cret-value"), "{err}");
}

#[test]
fn a_good_config_with_every_provider_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("p2.token");
    std::fs::write(&token_file, "p2-pat-from-file\n").unwrap();
    let cfg = format!(
        "{PD}tool_mode = \"full-config\"\naccount_id = \"apn_1\"\nbase_url = \"https://remote.mcp.pipedream.net\"\n\
         oauth_app_id = \"oa_1\"\nwebhook_uri = \"https://app.example/hook\"\n\
         [servers.pd3]\nprovider = \"pipedream\"\nclient_id = \"c\"\nclient_secret = \"pd-s3cret-value\"\n\
         project_id = \"proj_abc\"\nenvironment = \"production\"\nexternal_user_id = \"u1\"\napp_discovery = true\n\
         [servers.zap]\nprovider = \"zapier\"\ntoken = \"${{MCPB_TEST_ZAP}}\"\n\
         [servers.zapwl]\nprovider = \"zapier\"\naccess_token = \"a\"\nrefresh_token = \"r\"\nclient_id = \"c\"\n\
         client_secret = {{ command = [\"echo\", \"wl-secret\"] }}\n\
         [servers.ia]\nprovider = \"integration-app\"\nurl = \"https://ia.example/mcp\"\ntoken = \"t\"\n\
         mode = \"dynamic\"\napps = [\"gmail\"]\nchat_id = \"c1\"\n\
         [servers.iaoauth]\nprovider = \"integration-app\"\nurl = \"https://ia.example/mcp\"\nauth = \"oauth\"\n\
         [servers.p2]\nprovider = \"pipe2\"\ntoken = {{ file = \"{}\" }}\n\
         [servers.zs]\nprovider = \"zapier\"\nurl = \"https://mcp.zapier.com/api/mcp/s/zSeCrEtSeG1/mcp\"\n",
        token_file.display()
    );
    let out = check(&cfg, &[("MCPB_TEST_ZAP", "zct")]);
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    for line in [
        "pd               pipedream        https://remote.mcp.pipedream.net/",
        "pd3              pipedream        https://remote.mcp.pipedream.net/v3",
        "iaoauth          integration-app  https://ia.example/mcp",
        "zap              zapier           https://mcp.zapier.com/api/v1/connect",
        "zapwl            zapier           https://mcp.zapier.com/api/v1/connect",
        "ia               integration-app  https://ia.example/mcp",
        "p2               pipe2            https://mcp.pipe2.ai/mcp",
        "zs               zapier           https://mcp.zapier.com/api/mcp/s/[redacted]/mcp",
    ] {
        // One row per server: `ok`, then these columns (aligned to the longest).
        let want: Vec<&str> = std::iter::once("ok").chain(line.split_whitespace()).collect();
        let found = out
            .stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == want);
        assert!(found, "{line:?} in\n{}", out.stdout);
    }
    assert!(!out.stdout.contains("zSeCrEtSeG1") && !out.stderr.contains("zSeCrEtSeG1"));
    for secret in ["pd-s3cret-value", "wl-secret", "p2-pat-from-file"] {
        assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret), "{secret}");
    }
}
