//! What the config hands the bridge from outside itself (a `${VAR}`, a
//! command's output, a file) is hidden from every log line and error, even
//! under a key that is not a secret by name, and so is every query value of
//! a URL, as written and as decoded.

use mcp_bridge::config::{Config, ConfigValue, Resolver};
use mcp_bridge::provider::Setup;
use mcp_bridge::redact::Redactor;

#[test]
fn values_from_the_environment_a_command_or_a_file_are_hidden_under_any_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("user");
    std::fs::write(&file, "file-user-2b2b\n").unwrap();
    // SAFETY: a test binary of its own; the name is unique to this test.
    unsafe { std::env::set_var("REDACTION_TEST_USER", "env-user-1a1a") };
    let config = Config::parse("[servers.s]\nurl = \"https://mcp.example/mcp\"\n", None).unwrap();
    let (name, entry) = config.select(Some("s")).unwrap();
    let (resolver, redactor) = (Resolver::new(), Redactor::new());
    let setup = Setup::new(name, entry, &config, &resolver, &redactor);
    let values = [
        ConfigValue::Text("user-${REDACTION_TEST_USER}".into()),
        ConfigValue::Command {
            command: vec!["echo".into(), "cmd-user-3c3c".into()],
        },
        ConfigValue::File { file },
    ];
    for v in &values {
        setup.plain("external_user_id", v).unwrap();
    }
    let shown = redactor.apply("env-user-1a1a cmd-user-3c3c file-user-2b2b user-");
    assert_eq!(shown, "[redacted] [redacted] [redacted] user-");
    // A literal in the config is not a secret by itself.
    setup.plain("app", &ConfigValue::Text("slack-app".into())).unwrap();
    assert_eq!(redactor.apply("slack-app"), "slack-app");
}

#[test]
fn every_query_value_of_a_url_is_hidden_as_written_and_decoded() {
    let config = Config::parse(
        "[servers.s]\nurl = \"https://mcp.example/mcp?mode=static-9&workspace=a%2Fb%20c-77\"\n",
        None,
    )
    .unwrap();
    let (name, entry) = config.select(Some("s")).unwrap();
    let (resolver, redactor) = (Resolver::new(), Redactor::new());
    Setup::new(name, entry, &config, &resolver, &redactor)
        .url(None)
        .unwrap();
    assert_eq!(
        redactor.apply("static-9 a%2Fb%20c-77 a/b c-77"),
        "[redacted] [redacted] [redacted]"
    );
}
