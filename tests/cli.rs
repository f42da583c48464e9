//! The command line as a person meets it: config location and overrides,
//! errors for bad config files, and the built-in sandbox when nothing is
//! configured.

mod support;

use serde_json::json;
use std::process::Command;
use support::{Bridge, bridge_bin, write_config};

fn run(args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(bridge_bin());
    cmd.args(args).env_remove("MCP_BRIDGE_CONFIG");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn misspelt_key_names_file_line_key_and_suggestion() {
    let (_d, path) = write_config("[servers.a]\nurl = \"http://127.0.0.1:1/mcp\"\ntranport = \"sse\"\n");
    let (code, _, err) = run(&["--config", path.to_str().unwrap(), "check"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("{}:3,", path.display())), "{err}");
    assert!(
        err.contains("servers.a.tranport") && err.contains("did you mean `transport`"),
        "{err}"
    );
}

#[test]
fn bad_values_are_explained() {
    for (toml, wants) in [
        (
            "[servers.a]\ntransport = \"websocket\"\n",
            vec![":2,", "auto", "streamable-http", "sse"],
        ),
        ("[servers.a]\nurl = \"ftp://x\"\n", vec!["servers.a.url", "http://"]),
        (
            "[servers.a]\nurl = \"http://x/${MCPB_TEST_UNSET_VAR}\"\n",
            vec!["servers.a.url", "MCPB_TEST_UNSET_VAR", "not set"],
        ),
        (
            "[servers.a]\nurl = \"http://x\"\ntimeout = \"soon\"\n",
            vec![":3,", "timeout", "30s"],
        ),
        (
            "[servers.a]\nprovider = \"zappier\"\n",
            vec!["provider", "did you mean `zapier`"],
        ),
        (
            "[servers.a]\nurl = \"https://x\"\nbearer = { command = [\"false\"] }\n",
            vec!["servers.a.bearer", "`false` failed"],
        ),
        (
            "default = \"b\"\n[servers.a]\nurl = \"http://x\"\n",
            vec![":1,", "names no server", "known servers: a"],
        ),
        ("[servers.a\nurl = 1\n", vec![":1"]),
        (
            "[servers.a]\nprovider = \"pipedream\"\nauth = \"oauth\"\n",
            vec![":3,", "servers.a.auth", "does not apply"],
        ),
        (
            "[servers.a]\nurl = \"https://x\"\nauth = \"basic\"\n",
            vec![
                "servers.a.auth",
                "allowed values: oauth, client_credentials, enterprise",
            ],
        ),
    ] {
        let (_d, path) = write_config(toml);
        let (code, _, err) = run(&["--config", path.to_str().unwrap(), "check"], &[]);
        assert_eq!(code, 2, "{toml}: {err}");
        for w in wants {
            assert!(err.contains(w), "{toml}: missing {w:?} in {err}");
        }
    }
}

#[test]
fn env_var_overrides_location_and_flag_overrides_env() {
    let (_d1, a) = write_config("[servers.from-env]\nurl = \"http://127.0.0.1:1/mcp\"\n");
    let (_d2, b) = write_config("[servers.from-flag]\nurl = \"http://127.0.0.1:1/mcp\"\n");
    let (code, out, _) = run(&["servers"], &[("MCP_BRIDGE_CONFIG", a.to_str().unwrap())]);
    assert_eq!(code, 0);
    assert!(out.contains("from-env"), "{out}");
    let (_, out, _) = run(
        &["--config", b.to_str().unwrap(), "servers"],
        &[("MCP_BRIDGE_CONFIG", a.to_str().unwrap())],
    );
    assert!(out.contains("from-flag") && !out.contains("from-env"), "{out}");
    let (code, _, err) = run(&["servers"], &[("MCP_BRIDGE_CONFIG", "/nonexistent/mcp-bridge.toml")]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/mcp-bridge.toml"), "{err}");
}

#[test]
fn config_path_follows_the_os_config_dir() {
    let home = tempfile::tempdir().unwrap();
    let xdg = home.path().join("xdg");
    let (_, out, _) = run(
        &["config-path"],
        &[
            ("HOME", home.path().to_str().unwrap()),
            ("XDG_CONFIG_HOME", xdg.to_str().unwrap()),
        ],
    );
    assert_eq!(out.trim(), xdg.join("mcp-bridge").join("config.toml").to_str().unwrap());
}

#[tokio::test]
async fn with_no_config_file_serve_runs_the_sandbox() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Bridge::command();
    cmd.env_remove("MCP_BRIDGE_CONFIG")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("none"))
        .arg("serve");
    let mut b = Bridge::spawn(cmd);
    let init = b.initialize(json!({})).await;
    assert_eq!(init["serverInfo"]["name"], "mcp-bridge-sandbox");
}

#[test]
fn example_config_is_valid_and_demo_runs() {
    let example = support::repo_root().join("config.example.toml");
    let (code, out, err) = run(&["--config", example.to_str().unwrap(), "check"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(&["--config", example.to_str().unwrap(), "demo"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("The user answered: teal") && out.contains("exited with exit status: 0"),
        "{out}"
    );
}

/// A reader that stops early (`mcp-bridge demo | head -1`) closes the pipe:
/// the command ends quietly and successfully, as a Unix filter does, not
/// with a panic. The read end is closed before the first line, so every
/// write meets it closed.
#[test]
fn a_closed_stdout_ends_a_command_quietly() {
    let example = support::repo_root().join("config.example.toml");
    let mut child = Command::new(bridge_bin())
        .env_remove("MCP_BRIDGE_CONFIG")
        .args(["--config", example.to_str().unwrap(), "demo"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {err}", out.status);
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
}

/// The demo through a bundle of two sandboxes: the same script, on the first
/// server's `<server>__<tool>` names, elicitation included.
#[test]
fn demo_runs_through_a_bundle() {
    let (_d, path) = write_config(
        "[servers.a]\nprovider = \"sandbox\"\n[servers.b]\nprovider = \"sandbox\"\n\
         [bundles.both]\nservers = [\"a\", \"b\"]\n",
    );
    let (code, out, err) = run(&["--config", path.to_str().unwrap(), "demo", "both"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("→ tools/call a__chat_send_message"), "{out}");
    assert!(
        out.contains("The user answered: teal") && out.contains("exited with exit status: 0"),
        "{out}"
    );
}

#[test]
fn serving_unknown_servers_is_a_config_error() {
    let (_d, path) = write_config("[servers.a]\nurl = \"http://127.0.0.1:1/mcp\"\n");
    for args in [vec!["serve", "nope"], vec!["serve", "a", "nope"]] {
        let mut full = vec!["--config", path.to_str().unwrap()];
        full.extend(args.iter().copied());
        let (code, out, err) = run(&full, &[]);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: stdout must stay clean: {out}");
        assert!(err.contains("nope"), "{args:?}: {err}");
    }
}
