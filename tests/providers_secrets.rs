//! No secret in the logs: every provider is run through the bridge with
//! `RUST_LOG=trace` (handshake, tool calls, a refused token and its
//! refresh), and the combined stderr is searched for every secret in the
//! test config and every token the emulators issued.

mod providers_common;
mod support;

use mcp_bridge::emulator::integration_app::{IntegrationAppEmulator, access_token};
use mcp_bridge::emulator::pipedream::{PipedreamEmulator, PipedreamOptions};
use mcp_bridge::emulator::zapier::{ZapierEmulator, ZapierOptions};
use mcp_bridge::sandbox::{Sandbox, SandboxOptions};
use providers_common::{data_dir, serve, store_path, wait_for};
use serde_json::{Value, json};
use std::time::Duration;

const PD_SECRET: &str = "pdsecret-7Hq2Lm";
const ZAP_TOKEN: &str = "zapconn-K8s2Pq";
const ZAP_SEGMENT: &str = "zapsecretseg-R4t9";
const WL_ACCESS: &str = "wlaccess-B7n1Xc";
const WL_REFRESH: &str = "wlrefresh-M2v8Zd";
const WL_SECRET: &str = "wlclientsecret-Q5w3";
const P2_TOKEN: &str = "p2token-D9k5Wr";

/// Serve `server`, run the handshake, `tools/list` and `extra`, then close
/// stdin and return everything written to stderr.
async fn run(
    cfg: &str,
    server: &str,
    store: &std::path::Path,
    extra: impl AsyncFnOnce(&mut support::Bridge),
) -> String {
    let mut b = serve(cfg, server, store, &[("RUST_LOG", "trace")]);
    b.initialize(json!({})).await;
    b.request_ok("tools/list", Value::Null).await;
    extra(&mut b).await;
    b.close_stdin();
    b.wait_exit(Duration::from_secs(15)).await;
    b.stderr_text()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_stderr_at_trace_level() {
    let pd = PipedreamEmulator::start(PipedreamOptions {
        client_id: "pd-cid".into(),
        client_secret: PD_SECRET.into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let zap = ZapierEmulator::start(ZapierOptions {
        connection_token: Some(ZAP_TOKEN.into()),
        secret: Some(ZAP_SEGMENT.into()),
        client_id: "wl-cid".into(),
        client_secret: WL_SECRET.into(),
        access_token: None,
        refresh_token: WL_REFRESH.into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let ia_token = access_token("iacustomer-J6y4Ne");
    let ia = IntegrationAppEmulator::start(&ia_token).await.unwrap();
    let sbx = Sandbox::start(SandboxOptions {
        port: 0,
        token: Some(P2_TOKEN.into()),
        session_ttl: None,
    })
    .await
    .unwrap();
    let cfg = format!(
        "[servers.pd]\nprovider = \"pipedream\"\nclient_id = \"pd-cid\"\nclient_secret = \"{PD_SECRET}\"\n\
         project_id = \"proj_1\"\nenvironment = \"production\"\nexternal_user_id = \"u\"\napp = \"slack\"\n\
         base_url = \"{pdb}/v3\"\napi_base = \"{pdb}\"\n\
         [servers.zap]\nprovider = \"zapier\"\nurl = \"{conn}\"\ntoken = \"{ZAP_TOKEN}\"\n\
         [servers.zs]\nprovider = \"zapier\"\nurl = \"{secret_url}\"\n\
         [servers.zwl]\nprovider = \"zapier\"\nurl = \"{conn}\"\naccess_token = \"{WL_ACCESS}\"\n\
         refresh_token = \"{WL_REFRESH}\"\nclient_id = \"wl-cid\"\nclient_secret = \"{WL_SECRET}\"\ntoken_url = \"{tok}\"\n\
         [servers.ia]\nprovider = \"integration-app\"\nurl = \"{iau}\"\ntoken = \"{ia_token}\"\nmode = \"dynamic\"\n\
         [servers.iasse]\nprovider = \"integration-app\"\nurl = \"{ias}\"\ntoken = \"{ia_token}\"\ntransport = \"sse\"\n\
         [servers.p2]\nprovider = \"pipe2\"\nurl = \"{p2}\"\ntoken = \"{P2_TOKEN}\"\n",
        pdb = pd.base(),
        conn = zap.connect_url(),
        secret_url = zap.secret_url(),
        tok = zap.token_url(),
        iau = ia.mcp_url(),
        ias = ia.sse_url(),
        p2 = sbx.url(),
    );
    let store = data_dir();
    let store = store_path(&store);
    let mut logs = String::new();
    logs += &run(&cfg, "pd", &store, async |b| {
        wait_for("GET", || pd.mcp_requests().iter().any(|r| r.method == "GET")).await;
        pd.revoke_tokens();
        b.request_ok(
            "tools/call",
            json!({"name": "slack-send-message", "arguments": {"channel": "general", "text": "hi"}}),
        )
        .await;
    })
    .await;
    assert_eq!(pd.token_requests().len(), 2, "the 401 path ran");
    for server in ["zap", "zs", "p2", "iasse"] {
        logs += &run(&cfg, server, &store, async |_| {}).await;
    }
    logs += &run(&cfg, "zwl", &store, async |b| {
        wait_for("GET", || zap.requests().iter().any(|r| r.method == "GET")).await;
        zap.expire_access_token();
        b.request_ok("tools/list", Value::Null).await;
    })
    .await;
    assert_eq!(zap.token_requests().len(), 2, "both refreshes ran");
    logs += &run(&cfg, "ia", &store, async |b| {
        b.request_ok(
            "tools/call",
            json!({"name": "enable-tools", "arguments": {"tools": ["gmail_send-email"]}}),
        )
        .await;
    })
    .await;

    assert!(logs.contains("TRACE"), "trace logging was on");
    let mut secrets: Vec<String> = [
        PD_SECRET,
        ZAP_TOKEN,
        ZAP_SEGMENT,
        WL_ACCESS,
        WL_REFRESH,
        WL_SECRET,
        P2_TOKEN,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    secrets.push(ia_token.clone());
    secrets.extend(pd.issued_tokens());
    secrets.extend(zap.access_token());
    secrets.push(zap.refresh_token());
    for s in &secrets {
        let hits: Vec<&str> = logs.lines().filter(|l| l.contains(s.as_str())).collect();
        assert!(hits.is_empty(), "secret {s:?} in stderr:\n{}", hits.join("\n"));
    }
}
