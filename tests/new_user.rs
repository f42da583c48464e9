//! What a new user meets (issue 19): each test is one thing a person tried
//! from the README on a fresh install, and what they should see. Each runs
//! the bridge binary with a throw-away home, against the built-in sandbox
//! (or nothing at all, for what fails before connecting).

mod cli_support;
mod support;

use cli_support::{Home, Run, SANDBOX};
use serde_json::{Value, json};
use std::time::Duration;

/// No run may end in a panic, whatever the config or the command line.
fn no_panic(r: &Run) {
    assert!(!r.err.contains("panicked") && r.code != 101, "a panic:\n{}", r.all());
}

// ---------------------------------------------------------------- item 1

/// `[bundles.b] servers = ["z", "y"]` with only `[servers.z]`: every
/// command says the bundle names a server that does not exist (and which
/// one is close), and none panics or writes an entry for it.
#[test]
fn a_bundle_that_names_a_missing_server_is_a_config_error_everywhere() {
    let home = Home::new();
    let config = home.file(
        "config.toml",
        "[bundles.b]\nservers = [\"z\", \"y\"]\n\n[servers.z]\nprovider = \"sandbox\"\n",
    );
    let c = config.to_str().unwrap();
    let says_so = |r: &Run| {
        no_panic(r);
        let all = r.all();
        assert!(
            all.contains("key `bundles.b.servers`") && all.contains("`y` names no server; did you mean `z`?"),
            "{all}"
        );
    };
    for args in [vec!["check"], vec!["check", "b"], vec!["config", "check", "b"]] {
        let r = home.run(&[&["--config", c][..], &args].concat());
        says_so(&r);
        assert_eq!(r.code, 2, "{args:?}: {}", r.all());
    }
    for args in [vec!["doctor"], vec!["doctor", "b"]] {
        let r = home.run(&[&["--config", c][..], &args].concat());
        says_so(&r);
        assert_eq!(r.code, 1, "{args:?}: {}", r.all());
    }
    let file = home.path().join("claude.json");
    let r = home.run(&[
        "--config",
        c,
        "install",
        "claude",
        "b",
        "--write",
        "--file",
        file.to_str().unwrap(),
    ]);
    says_so(&r);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(!file.exists(), "an entry was written for a broken bundle");
    for args in [
        vec!["serve", "b"],
        vec!["tools", "b"],
        vec!["servers"],
        vec!["demo", "b"],
    ] {
        let r = home.run(&[&["--config", c][..], &args].concat());
        says_so(&r);
        assert_ne!(r.code, 0, "{args:?}: {}", r.all());
    }
}

// ---------------------------------------------------------------- item 3

/// A wrong value is reported under the key it is the value of, as written
/// in the file, with what was expected, and the line said once.
#[test]
fn a_config_error_names_the_key_as_written_says_what_was_expected_and_the_line_once() {
    let home = Home::new();
    for (text, line, key, expected) in [
        (
            "[servers.z]\nurl = \"http://127.0.0.1:1/mcp\"\ntimeout = \"5 minutes\"\n",
            3,
            "servers.z.timeout",
            "a duration up to a day: seconds (120) or a string such as \"5m\"",
        ),
        (
            "[servers.sandbox]\nprovider = \"sandbox\"\nallow_tools = \"chat_*\"\n",
            3,
            "servers.sandbox.allow_tools",
            "a list of globs, e.g. [\"chat_*\", \"search\"]; found \"chat_*\"",
        ),
        (
            "[servers.a]\nprovider = \"sandbox\"\nallow_tools = [\n  \"chat_*\",\n  3,\n]\n",
            5,
            "servers.a.allow_tools",
            "a list of globs",
        ),
        (
            "[server.z]\nurl = \"http://x\"\n",
            1,
            "server",
            "did you mean `servers`?",
        ),
        (
            "[servers.a]\nurl = \"http://x\"\nbearer = 12345678\n",
            3,
            "servers.a.bearer",
            "expected a string (with `${ENV_VAR}` for the environment)",
        ),
    ] {
        let file = home.file("emu.toml", text);
        let r = home.run(&["--config", file.to_str().unwrap(), "check"]);
        no_panic(&r);
        assert_eq!(r.code, 2, "{text}\n{}", r.all());
        let at = format!("{}:{line}, key `{key}`: ", file.display());
        assert!(r.err.contains(&at), "wanted {at:?} for:\n{text}\n{}", r.err);
        assert!(r.err.contains(expected), "wanted {expected:?} for:\n{text}\n{}", r.err);
        assert!(!r.err.contains("(line "), "the line is said twice:\n{}", r.err);
    }
    // A secret's value is never shown back, even when it has the wrong type.
    let file = home.file("emu.toml", "[servers.a]\nurl = \"http://x\"\nbearer = 12345678\n");
    let r = home.run(&["--config", file.to_str().unwrap(), "check"]);
    assert!(!r.all().contains("12345678"), "{}", r.all());
}

/// A timeout too large for the clock is a config error, not a panic.
#[test]
fn a_huge_timeout_is_refused_not_a_crash() {
    let home = Home::new();
    for value in ["1e300", "\"99999999999999999999999s\"", "90000", "\"25h\""] {
        let file = home.file(
            "c.toml",
            &format!("[servers.a]\nurl = \"http://127.0.0.1:1/mcp\"\ntimeout = {value}\n"),
        );
        let r = home.run(&["--config", file.to_str().unwrap(), "check"]);
        no_panic(&r);
        assert_eq!(r.code, 2, "{value}: {}", r.all());
        assert!(r.err.contains("key `servers.a.timeout`"), "{value}: {}", r.err);
    }
}

// ---------------------------------------------------------------- item 4

/// With one secret unset and more mistakes further on, `check` looks at
/// every server and every key and prints every problem, each with its line.
#[test]
fn check_looks_at_every_server_and_key_and_prints_every_problem() {
    let home = Home::new();
    let config = home.file(
        "config.toml",
        "[servers.a-first]\nurl = \"http://127.0.0.1:1/mcp\"\nbearer = \"${MCPB_NEW_USER_UNSET}\"\n\n\
         [servers.b-fine]\nurl = \"http://127.0.0.1:2/mcp\"\n\n\
         [servers.pd]\nprovider = \"pipedream\"\nclient_id = \"c\"\nclient_secret = \"s\"\n\
         project_id = \"abc\"\nenvironment = \"dev\"\nexternal_user_id = \"u\"\napp = \"slack\"\n\n\
         [servers.sandbox]\nprovider = \"sandbox\"\n\n\
         [servers.t]\nurl = \"http://127.0.0.1:3/mcp\"\ntimeout = \"soon\"\nbearer = [1]\n",
    );
    let r = home.run(&["--config", config.to_str().unwrap(), "check"]);
    no_panic(&r);
    assert_eq!(r.code, 2, "{}", r.all());
    let row = |name: &str| {
        r.out
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("no row for {name}:\n{}", r.all()))
            .to_string()
    };
    assert!(row("a-first").starts_with("FAIL"), "{}", r.out);
    assert!(row("b-fine").starts_with("ok"), "{}", r.out);
    assert!(row("pd").starts_with("FAIL"), "{}", r.out);
    assert!(row("sandbox").starts_with("ok"), "{}", r.out);
    assert!(row("t").starts_with("FAIL"), "{}", r.out);
    for problem in [
        "key `servers.a-first.bearer`: environment variable `MCPB_NEW_USER_UNSET` is not set",
        "key `servers.pd.project_id`: `abc` is not a Pipedream project ID",
        "key `servers.pd.environment`: `dev` is not a valid `environment`",
        "key `servers.t.timeout`",
        "key `servers.t.bearer`",
    ] {
        assert!(r.err.contains(problem), "missing {problem:?}:\n{}", r.err);
    }
    assert!(r.err.contains("5 problems in the config"), "{}", r.err);
    assert!(!r.out.contains(": valid"), "{}", r.out);
}

/// `doctor` shows the same: a row for each server, and a line per problem.
#[test]
fn doctor_shows_every_problem_of_a_config_with_several() {
    let home = Home::new();
    let config = home.file(
        "config.toml",
        &format!(
            "{SANDBOX}\n[servers.pd]\nprovider = \"pipedream\"\nclient_id = \"c\"\nclient_secret = \"s\"\n\
             project_id = \"abc\"\nenvironment = \"dev\"\nexternal_user_id = \"u\"\napp = \"slack\"\n\n\
             [servers.t]\nurl = \"http://127.0.0.1:3/mcp\"\ntimeout = \"soon\"\n"
        ),
    );
    let r = home.run(&["--config", config.to_str().unwrap(), "doctor"]);
    no_panic(&r);
    assert_eq!(r.code, 1, "{}", r.all());
    let sb = r.out.lines().find(|l| l.starts_with("sb ")).expect("a row for sb");
    assert!(!sb.contains("FAIL"), "{}", r.out);
    for problem in ["servers.pd.project_id", "servers.pd.environment", "servers.t.timeout"] {
        assert!(
            r.out.lines().any(|l| l.starts_with("✗ ") && l.contains(problem)),
            "missing {problem}:\n{}",
            r.out
        );
    }
}

// ---------------------------------------------------------------- item 5

/// A signed-out `auth = "oauth"` server: `call` and `tools` say exactly how
/// to sign in, never show the `sign_in` stand-in tool, and fail.
#[test]
fn a_signed_out_server_in_call_or_tools_says_run_login_and_fails() {
    let home = Home::new();
    let config = home.file(
        "config.toml",
        &format!(
            "{SANDBOX}\n[servers.p2]\nurl = \"http://127.0.0.1:1/mcp\"\nauth = \"oauth\"\n\n\
             [bundles.both]\nservers = [\"sb\", \"p2\"]\n"
        ),
    );
    let c = config.to_str().unwrap();
    for args in [
        vec!["tools", "p2"],
        vec!["call", "p2", "echo", "{}"],
        vec!["call", "both", "p2__echo"],
    ] {
        let r = home.run(&[&["--config", c][..], &args].concat());
        no_panic(&r);
        assert_eq!(r.code, 1, "{args:?}: {}", r.all());
        assert!(r.err.contains("run: mcp-bridge login p2"), "{args:?}: {}", r.all());
        assert!(!r.all().contains("sign_in"), "{args:?}: {}", r.all());
        assert!(!r.all().contains("browser tab"), "{args:?}: {}", r.all());
    }
    // A bundle lists its other servers' tools, and still says what is missing.
    let r = home.run(&["--config", c, "tools", "both"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.out.contains("sb__chat_send_message"), "{}", r.all());
    assert!(!r.out.contains("p2__sign_in"), "{}", r.all());
    assert!(r.err.contains("run: mcp-bridge login p2"), "{}", r.all());
}

// ---------------------------------------------------------------- item 6

/// `allow_tools = ["chat-*"]` (a dash for an underscore) hides every tool:
/// `doctor` fails on it, names the glob and lists the tools that exist; a
/// glob that matches nothing beside ones that do is a warning.
#[test]
fn doctor_says_when_a_tool_filter_matches_nothing() {
    let home = Home::new();
    let config = home.file(
        "config.toml",
        "[servers.typo]\nprovider = \"sandbox\"\nallow_tools = [\"chat-*\"]\n\n\
         [servers.half]\nprovider = \"sandbox\"\nallow_tools = [\"chat_*\", \"nope*\"]\n",
    );
    let c = config.to_str().unwrap();
    let r = home.run(&["--config", c, "doctor", "typo"]);
    assert_eq!(r.code, 1, "{}", r.all());
    let line = r
        .out
        .lines()
        .find(|l| l.starts_with("✗ typo: no tool is shown"))
        .unwrap_or_else(|| {
            panic!("no failure line:\n{}", r.all());
        });
    assert!(
        line.contains("`allow_tools` hides all") && line.contains("chat_send_message"),
        "{line}"
    );
    assert!(
        r.out.contains("⚠ typo: `allow_tools` glob \"chat-*\" matches no tool"),
        "{}",
        r.out
    );

    let r = home.run(&["--config", c, "doctor", "half"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let row = r.out.lines().find(|l| l.starts_with("half ")).unwrap_or_default();
    assert!(row.contains(" of ") && row.contains("tools shown"), "{}", r.out);
    assert!(
        r.out.contains("⚠ half: `allow_tools` glob \"nope*\" matches no tool"),
        "{}",
        r.out
    );
    assert!(r.out.contains("passed, with 1 warning"), "{}", r.out);

    let r = home.run(&["--config", c, "tools", "typo"]);
    assert!(
        r.err.contains("0 tools on `typo`") && r.err.contains("mcp-bridge doctor typo"),
        "{}",
        r.all()
    );
}

// ---------------------------------------------------------------- item 7

/// The entry starts a server whose token is `${ZAPIER_TOKEN}`: `install`
/// says the desktop app will not see it and how to fix that; `--write`
/// over an entry keeps the fields it does not set (its `env`).
#[test]
fn install_warns_about_a_secret_from_the_environment_and_keeps_an_entrys_own_fields() {
    let home = Home::new();
    let config = home.file(
        "config.toml",
        "[servers.z]\nprovider = \"zapier\"\ntoken = \"${ZAPIER_TOKEN}\"\n",
    );
    let c = config.to_str().unwrap();
    let r = home.run(&["--config", c, "install", "claude", "z"]);
    assert_eq!(r.code, 0, "{}", r.all());
    for words in [
        "Claude Desktop does not read your shell profile, so `z` will not see ZAPIER_TOKEN",
        "token = { file = ",
        "token = { command = ",
        "\"env\": { \"ZAPIER_TOKEN\"",
    ] {
        assert!(r.err.contains(words), "missing {words:?}:\n{}", r.err);
    }

    let file = home.file(
        "cursor/mcp.json",
        r#"{"mcpServers": {"z": {"command": "/old/mcp-bridge", "args": [], "env": {"X": "1"}}}}"#,
    );
    let f = file.to_str().unwrap();
    let r = home.run(&["--config", c, "install", "cursor", "z", "--write", "--file", f]);
    assert_eq!(r.code, 0, "{}", r.all());
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let entry = &written["mcpServers"]["z"];
    assert_eq!(entry["env"], json!({"X": "1"}), "{written}");
    assert_eq!(entry["command"], env!("CARGO_BIN_EXE_mcp-bridge"), "{written}");
    assert_eq!(entry["args"].as_array().unwrap().last().unwrap(), "z", "{written}");

    // An `env` block that sets the variable is the fix: no more warning.
    let mut fixed = written.clone();
    fixed["mcpServers"]["z"]["env"]["ZAPIER_TOKEN"] = json!("zt");
    std::fs::write(&file, fixed.to_string()).unwrap();
    let r = home.run(&["--config", c, "install", "cursor", "z", "--file", f]);
    assert!(!r.err.contains("ZAPIER_TOKEN"), "{}", r.all());
}

// ---------------------------------------------------------------- item 8

/// A call to a tool that does not exist: one message, no raw log line, and
/// the way to see the tools.
#[test]
fn a_failed_call_says_so_once_and_how_to_see_the_tools() {
    let home = Home::new();
    let config = home.file("config.toml", SANDBOX);
    let r = home.run(&["--config", config.to_str().unwrap(), "call", "sb", "chat_send", "{}"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(!r.err.contains("WARN") && !r.err.contains("ErrorData"), "{}", r.err);
    assert_eq!(r.err.matches("tool not found").count(), 1, "{}", r.err);
    assert!(r.err.contains("run: mcp-bridge tools sb"), "{}", r.err);
}

/// `demo` with a name that is not configured, or a server that cannot be
/// reached: the reason once.
#[test]
fn demo_says_its_error_once() {
    let home = Home::new();
    let config = home.file(
        "config.toml",
        &format!("{SANDBOX}[servers.down]\nurl = \"http://127.0.0.1:1/mcp\"\n"),
    );
    let c = config.to_str().unwrap();
    let r = home.run(&["--config", c, "demo", "my-server"]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert_eq!(r.err.matches("no server `my-server`").count(), 1, "{}", r.err);
    let r = home.run(&["--config", c, "demo", "down"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert_eq!(r.err.matches("cannot reach the server").count(), 1, "{}", r.err);
    let bad = home.file(
        "bad.toml",
        "[servers.a]\nurl = \"https://x\"\nbearer = \"${MCPB_NEW_USER_UNSET}\"\n",
    );
    let r = home.run(&["--config", bad.to_str().unwrap(), "demo"]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert_eq!(r.err.matches("MCPB_NEW_USER_UNSET").count(), 1, "{}", r.err);
}

/// Through `serve`, a method the server does not offer is answered with an
/// error that says which method, not only its name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_method_the_server_does_not_offer_is_named_in_the_error() {
    let mut b = support::Bridge::serve(SANDBOX, "sb");
    b.initialize(json!({})).await;
    for method in ["resources/list", "no/such/method"] {
        let r = b.request(method, json!({})).await;
        assert_eq!(r["error"]["code"], -32601, "{r}");
        let message = r["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("does not offer `{method}`")),
            "{method}: {message}"
        );
    }
}

// --------------------------------------------------------------- item 10

/// `mcp-bridge serve` run by hand in a terminal says what it waits for and
/// how to try the server instead (a pseudo-terminal, from util-linux
/// `script`, stands in for the terminal).
#[test]
fn serve_in_a_terminal_says_what_it_is_waiting_for() {
    let home = Home::new();
    let config = home.file("config.toml", SANDBOX);
    let command = format!(
        "{} --config {} serve sb",
        env!("CARGO_BIN_EXE_mcp-bridge"),
        config.display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("MCP_BRIDGE_DATA_DIR", home.path().join("tokens"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("util-linux `script` runs the bridge on a pseudo-terminal");
    let mut stdout = child.stdout.take().unwrap();
    let seen = std::thread::spawn(move || {
        let mut text = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut stdout, &mut buf) {
            if n == 0 {
                break;
            }
            text.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&text).contains("Ctrl-C stops it") {
                break;
            }
        }
        String::from_utf8_lossy(&text).into_owned()
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !seen.is_finished() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = seen.join().unwrap();
    for words in [
        "waiting for an MCP client on stdin",
        "mcp-bridge demo sb",
        "mcp-bridge tools sb",
        "mcp-bridge call sb <tool>",
    ] {
        assert!(text.contains(words), "missing {words:?} in:\n{text}");
    }
}

/// `login` on the sandbox says it needs no sign-in, instead of suggesting
/// `auth = "oauth"`; on a server with a token, that the token is used.
#[test]
fn login_on_a_server_without_sign_in_says_why_not() {
    let home = Home::new();
    let config = home.file(
        "config.toml",
        &format!("{SANDBOX}[servers.tok]\nurl = \"http://127.0.0.1:1/mcp\"\nbearer = \"b\"\n"),
    );
    let c = config.to_str().unwrap();
    let r = home.run(&["--config", c, "login", "sb"]);
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(r.err.contains("built-in sandbox: it needs no sign-in"), "{}", r.err);
    assert!(!r.err.contains("auth = \"oauth\""), "{}", r.err);
    let r = home.run(&["--config", c, "login", "tok"]);
    assert!(r.err.contains("uses the credential in `bearer`"), "{}", r.err);
}

/// The shipped example config is what `config init` writes, and `doctor`
/// passes on it as it is.
#[test]
fn the_shipped_example_config_passes_doctor() {
    let home = Home::new();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml");
    let r = home.run(&["--config", example, "doctor"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.out.contains("All 1 server passed."), "{}", r.all());
}

/// Re-running `install --write` with nothing to change writes nothing and
/// makes no second backup.
#[test]
fn reinstalling_with_nothing_to_change_writes_nothing() {
    let home = Home::new();
    let config = home.file("config.toml", SANDBOX);
    let c = config.to_str().unwrap();
    let file = home.path().join("cursor").join("mcp.json");
    let f = file.to_str().unwrap();
    let backups = || {
        std::fs::read_dir(file.parent().unwrap())
            .map(|d| {
                d.filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains(".bak-"))
                    .count()
            })
            .unwrap_or(0)
    };
    let r = home.run(&["--config", c, "install", "cursor", "sb", "--write", "--file", f]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.out.contains("added `sb`"), "{}", r.all());
    for _ in 0..2 {
        let before = std::fs::metadata(&file).unwrap().modified().unwrap();
        let r = home.run(&["--config", c, "install", "cursor", "sb", "--write", "--file", f]);
        assert_eq!(r.code, 0, "{}", r.all());
        assert!(
            r.out.contains("already up to date") && !r.out.contains("updated"),
            "{}",
            r.all()
        );
        assert!(!r.err.contains("Restart"), "{}", r.all());
        assert_eq!(backups(), 0, "{}", r.all());
        assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), before);
    }
}

/// `servers` shows a Pipedream server's `base_url`, never a secret URL,
/// and keeps its columns aligned for long names.
#[test]
fn servers_shows_where_each_connects_in_aligned_columns() {
    let home = Home::new();
    let config = home.file(
        "config.toml",
        "[servers.pd]\nprovider = \"pipedream\"\nbase_url = \"https://remote.mcp.pipedream.net\"\n\n\
         [servers.a-server-with-a-rather-long-name]\nurl = \"http://127.0.0.1:9/mcp\"\n\n\
         [servers.zs]\nprovider = \"zapier\"\nurl = \"https://mcp.zapier.com/api/mcp/s/SECRETSEG77/mcp\"\n\n\
         [servers.sb]\nprovider = \"sandbox\"\n",
    );
    let r = home.run(&["--config", config.to_str().unwrap(), "servers"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let rows: Vec<&str> = r.out.lines().skip(1).collect();
    let pd = rows.iter().find(|l| l.contains(" pd ")).expect("a row for pd");
    assert!(pd.contains("https://remote.mcp.pipedream.net"), "{}", r.out);
    assert!(!r.out.contains("SECRETSEG77"), "{}", r.out);
    // The provider column starts at the same place on every row.
    let starts: Vec<usize> = rows
        .iter()
        .map(|l| {
            let name = l.split_whitespace().next().unwrap();
            let after = l.find(name).unwrap() + name.len();
            after + l[after..].len() - l[after..].trim_start().len()
        })
        .collect();
    assert!(starts.windows(2).all(|w| w[0] == w[1]), "misaligned:\n{}", r.out);
}

/// "1 tool", "1 message": a count of one is singular.
#[test]
fn a_count_of_one_is_singular() {
    let home = Home::new();
    let config = home.file(
        "config.toml",
        "[servers.one]\nprovider = \"sandbox\"\nallow_tools = [\"chat_list_channels\"]\n",
    );
    let c = config.to_str().unwrap();
    let r = home.run(&["--config", c, "tools", "one"]);
    assert!(r.err.contains("1 tool on `one`"), "{}", r.all());
    let r = home.run(&["--config", c, "call", "one", "chat_list_channels"]);
    assert!(r.out.contains("#general (1 message)"), "{}", r.all());
    let r = home.run(&["--config", c, "doctor"]);
    assert!(r.out.contains("All 1 server passed"), "{}", r.all());
    for text in [&r.out, &r.err] {
        assert!(!text.contains("1 tools") && !text.contains("1 messages"), "{}", r.all());
    }
}
