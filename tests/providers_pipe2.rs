//! `provider = "pipe2"` and the four credential sources, end to end: the
//! personal access token given as a literal, `${ENV}`, `{ command = [..] }`
//! or `{ file = ".." }` reaches a token-protected sandbox as
//! `Authorization: Bearer`, and a refused token gets Pipe2.ai's advice.

mod providers_common;
mod support;

use providers_common::{data_dir, serve, store_path};
use serde_json::json;

const PAT: &str = "p2pat.eyJzdWIiOiJ0ZXN0In0.c2ln";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_credential_source_reaches_the_server_as_bearer() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pat");
    std::fs::write(&file, format!("  {PAT}\n")).unwrap();
    let sources = [
        format!("\"{PAT}\""),
        "\"${MCPB_TEST_P2_PAT}\"".to_string(),
        format!("{{ command = [\"printf\", \"%s\\n\", \"{PAT}\"] }}"),
        format!("{{ file = \"{}\" }}", file.display()),
    ];
    for source in sources {
        let sbx = support::sandbox_with(Some(PAT), None).await;
        let store = data_dir();
        let cfg = format!(
            "[servers.p2]\nprovider = \"pipe2\"\nurl = \"{}\"\ntoken = {source}\n",
            sbx.url()
        );
        let mut b = serve(&cfg, "p2", &store_path(&store), &[("MCPB_TEST_P2_PAT", PAT)]);
        let init = b.initialize(json!({})).await;
        assert_eq!(init["serverInfo"]["name"], "mcp-bridge-sandbox", "source {source}");
        let reqs = sbx.requests();
        assert!(!reqs.is_empty());
        for r in reqs {
            assert_eq!(
                r.authorization.as_deref(),
                Some(format!("Bearer {PAT}").as_str()),
                "source {source}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_says_where_to_get_a_new_one() {
    let sbx = support::sandbox_with(Some("the-right-one"), None).await;
    let store = data_dir();
    let cfg = format!(
        "[servers.p2]\nprovider = \"pipe2\"\nurl = \"{}\"\ntoken = \"{PAT}\"\n",
        sbx.url()
    );
    let mut b = serve(&cfg, "p2", &store_path(&store), &[]);
    let r = b
        .request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}),
        )
        .await;
    let msg = r["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("Personal Access Tokens"), "{r}");
    assert!(!msg.contains(PAT), "{msg}");
}
