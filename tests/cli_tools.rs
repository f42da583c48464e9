//! `mcp-bridge tools` and `mcp-bridge call` end to end against the sandbox,
//! through the same relay as `serve`.

mod cli_support;

use cli_support::{Home, SANDBOX};
use serde_json::Value;

fn setup() -> (Home, String) {
    let home = Home::new();
    let config = home.file(
        "config.toml",
        &format!("{SANDBOX}[servers.down]\nurl = \"http://127.0.0.1:1/mcp\"\n"),
    );
    let c = config.to_str().unwrap().to_string();
    (home, c)
}

#[test]
fn tools_prints_a_table() {
    let (home, c) = setup();
    let r = home.run(&["--config", &c, "tools", "sb"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let mut lines = r.out.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("TOOL") && header.contains("ARGUMENTS") && header.contains("DESCRIPTION"));
    let send = r
        .out
        .lines()
        .find(|l| l.starts_with("chat_send_message "))
        .expect("chat_send_message row");
    assert!(
        send.contains("channel*") && send.contains("text*") && send.contains("Post a message"),
        "{send}"
    );
    assert!(r.err.contains("tools on `sb`"), "{}", r.all());
}

#[test]
fn tools_json_is_the_servers_list() {
    let (home, c) = setup();
    let r = home.run(&["--config", &c, "tools", "sb", "--json"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let tools: Vec<Value> = serde_json::from_str(&r.out).expect("stdout is a JSON array");
    let send = tools
        .iter()
        .find(|t| t["name"] == "chat_send_message")
        .expect("chat_send_message");
    assert_eq!(send["inputSchema"]["type"], "object");
    assert!(tools.len() >= 5);
}

#[test]
fn tools_on_an_unreachable_server_fails_with_the_relays_error() {
    let (home, c) = setup();
    let r = home.run(&["--config", &c, "tools", "down"]);
    assert_eq!(r.code, 1, "{}", r.all());
    // The message the relay writes for a client of `serve`.
    assert!(
        r.err.contains("cannot reach the server") && r.err.contains("`down`"),
        "{}",
        r.all()
    );
    // The command's own prefix, not the relay's again after it.
    let last = r.err.lines().last().unwrap_or_default();
    assert!(last.starts_with("mcp-bridge: `down`"), "{}", r.all());
    assert_eq!(last.matches("mcp-bridge:").count(), 1, "{}", r.all());
    // Said once: the relay's log line of the same error is left out.
    assert_eq!(r.err.matches("cannot reach the server").count(), 1, "{}", r.all());
    // With a log level asked for, it is there too.
    let logged = home.run(&["--config", &c, "--log", "warn", "tools", "down"]);
    assert_eq!(
        logged.err.matches("cannot reach the server").count(),
        2,
        "{}",
        logged.all()
    );
}

#[test]
fn call_prints_the_result() {
    let (home, c) = setup();
    let args = r#"{"channel":"general","text":"hello from the test"}"#;
    let r = home.run(&["--config", &c, "call", "sb", "chat_send_message", args]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.out.contains("posted to #general"), "{}", r.all());
    let r = home.run(&["--config", &c, "call", "sb", "chat_list_channels", "--json"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let result: Value = serde_json::from_str(&r.out).unwrap();
    assert!(
        result["content"][0]["text"].as_str().unwrap().contains("#general"),
        "{result}"
    );
}

#[test]
fn a_tool_error_exits_1() {
    let (home, c) = setup();
    let args = r#"{"channel":"no-such-channel","text":"x"}"#;
    let r = home.run(&["--config", &c, "call", "sb", "chat_send_message", args]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.out.contains("Cannot post"), "{}", r.all());
    assert!(r.err.contains("isError"), "{}", r.all());
}

#[test]
fn a_json_rpc_error_exits_1() {
    let (home, c) = setup();
    let r = home.run(&["--config", &c, "call", "sb", "no_such_tool"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.err.contains("JSON-RPC error"), "{}", r.all());
    assert!(r.out.is_empty(), "{}", r.all());
}

#[test]
fn bad_arguments_are_a_usage_error() {
    let (home, c) = setup();
    for bad in ["{channel}", "[1]"] {
        let r = home.run(&["--config", &c, "call", "sb", "chat_send_message", bad]);
        assert_eq!(r.code, 2, "{bad}: {}", r.all());
        assert!(
            r.err.contains("JSON object") || r.err.contains("not valid JSON"),
            "{}",
            r.all()
        );
    }
}

/// A bundle's name works wherever a desktop client would use it: `tools`
/// lists its merged, prefixed tools, `call` routes a prefixed name (and
/// explains an unprefixed one), `install` writes its `serve` entry, `servers`
/// lists it and `doctor` checks each of its servers.
#[test]
fn a_bundle_name_works_for_tools_call_install_servers_and_doctor() {
    let home = Home::new();
    let config = home.file(
        "config.toml",
        &format!("{SANDBOX}[servers.sb2]\nprovider = \"sandbox\"\n\n[bundles.pair]\nservers = [\"sb\", \"sb2\"]\n"),
    );
    let c = config.to_str().unwrap();

    let r = home.run(&["--config", c, "tools", "pair", "--json"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let tools: Vec<Value> = serde_json::from_str(&r.out).expect("stdout is a JSON array");
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(
        names.contains(&"sb__slow_echo") && names.contains(&"sb2__slow_echo"),
        "{names:?}"
    );

    let r = home.run(&["--config", c, "call", "pair", "sb2__slow_echo", r#"{"text": "routed"}"#]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(r.out.trim(), "routed");
    let r = home.run(&["--config", c, "call", "pair", "slow_echo", r#"{"text": "x"}"#]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.err.contains("`<server>__<name>`") && r.err.contains("sb, sb2"),
        "{}",
        r.all()
    );

    let r = home.run(&["--config", c, "install", "cursor", "pair"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let entry: Value = serde_json::from_str(&r.out).expect("install prints JSON");
    let args = entry["mcpServers"]["pair"]["args"].as_array().expect("args");
    assert_eq!(args[args.len() - 2..], [Value::from("serve"), Value::from("pair")]);

    let with_default = home.file(
        "default.toml",
        &format!("default = \"pair\"\n{}", std::fs::read_to_string(&config).unwrap()),
    );
    let r = home.run(&["--config", with_default.to_str().unwrap(), "install", "cursor"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let entry: Value = serde_json::from_str(&r.out).expect("install prints JSON");
    assert!(
        entry["mcpServers"]["pair"].is_object(),
        "a bundle as `default` is installed by name: {entry}"
    );

    let r = home.run(&["--config", c, "servers"]);
    assert!(
        r.out
            .lines()
            .any(|l| l.contains("pair") && l.contains("(bundle)") && l.contains("sb, sb2")),
        "{}",
        r.all()
    );

    let r = home.run(&["--config", c, "doctor", "pair"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.out.lines().any(|l| l.starts_with("sb ")) && r.out.lines().any(|l| l.starts_with("sb2 ")),
        "{}",
        r.all()
    );
    assert!(r.out.contains("All 2 servers passed."), "{}", r.all());

    let r = home.run(&["--config", c, "tools", "nope"]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.err.contains("bundles: pair"), "{}", r.all());
}
