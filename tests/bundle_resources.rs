//! Prompts and resources in a bundle: server-everything (which has both)
//! next to the sandbox (which has neither). Names are prefixed, a listed
//! resource URI and a URI matching a listed template are read from their
//! owner, a prompt is fetched from its owner with the prefix stripped, and
//! a server without prompts or resources adds nothing.

mod support;

use serde_json::{Value, json};
use support::{Bridge, toml_string};

fn items<'a>(result: &'a Value, key: &str) -> &'a Vec<Value> {
    result[key].as_array().unwrap_or_else(|| panic!("no {key} in {result}"))
}

#[tokio::test]
async fn prompts_and_resources_are_prefixed_and_routed_by_name_and_uri() {
    let (_peer, everything) = support::spawn_server_everything();
    let sbx = support::sandbox().await;
    let config = format!(
        "[servers.ev]\nurl = {}\n[servers.sbx]\nurl = {}\n",
        toml_string(&everything),
        toml_string(&sbx.url())
    );
    let (dir, path) = support::write_config(&config);
    let mut cmd = Bridge::command();
    cmd.arg("--config").arg(&path).args(["serve", "ev", "sbx"]);
    let mut b = Bridge::spawn(cmd);
    b.keep(dir);
    let init = b.initialize(json!({})).await;
    assert!(init["capabilities"]["prompts"].is_object(), "{init}");
    assert!(init["capabilities"]["resources"].is_object(), "{init}");

    let resources = b.request_ok("resources/list", json!({})).await;
    let resources = items(&resources, "resources");
    assert!(!resources.is_empty());
    assert!(
        resources
            .iter()
            .all(|r| r["name"].as_str().unwrap().starts_with("ev__")),
        "{resources:?}"
    );
    let uri = resources[0]["uri"].as_str().unwrap().to_string();
    assert!(!uri.starts_with("ev__"), "URIs stay as they are: {uri}");
    let read = b.request_ok("resources/read", json!({"uri": uri})).await;
    assert_eq!(read["contents"][0]["uri"], uri, "{read}");

    let templates = b.request_ok("resources/templates/list", json!({})).await;
    let template = items(&templates, "resourceTemplates")[0]["uriTemplate"]
        .as_str()
        .unwrap()
        .to_string();
    let parts = template.split('{').enumerate();
    let concrete: Vec<&str> = parts
        .map(|(i, p)| if i == 0 { p } else { p.split_once('}').unwrap().1 })
        .collect();
    let concrete = concrete.join("1");
    let read = b.request_ok("resources/read", json!({"uri": concrete})).await;
    assert_eq!(read["contents"][0]["uri"], concrete.as_str(), "{read}");

    let unknown = b.request("resources/read", json!({"uri": "nowhere://x"})).await;
    assert!(unknown.get("error").is_some(), "{unknown}");

    let prompts = b.request_ok("prompts/list", json!({})).await;
    let prompts = items(&prompts, "prompts");
    assert!(
        prompts.iter().all(|p| p["name"].as_str().unwrap().starts_with("ev__")),
        "{prompts:?}"
    );
    let simple = prompts
        .iter()
        .find(|p| {
            p["arguments"]
                .as_array()
                .is_none_or(|a| a.iter().all(|x| x["required"] != true))
        })
        .expect("a prompt without required arguments");
    let got = b
        .request_ok("prompts/get", json!({"name": simple["name"], "arguments": {}}))
        .await;
    assert!(!items(&got, "messages").is_empty(), "{got}");
    // Nothing of these reached the sandbox but the lists.
    let asked: Vec<String> = sbx.requests().iter().filter_map(|r| r.rpc_method.clone()).collect();
    assert!(
        !asked.iter().any(|m| m == "resources/read" || m == "prompts/get"),
        "{asked:?}"
    );
}
