//! The README's examples, run. Every command in a fenced block marked
//! ```` ```sh test ```` is run as it is written, each block in a fresh home
//! (config dir, token store, desktop clients' files), and must succeed.
//!
//! A block that runs `mcp-bridge config init` starts from nothing, as on a
//! fresh install. Every other block gets a config holding the built-in
//! sandbox and the servers its commands name, served by the provider
//! emulators started here: the entries `mcp-bridge sandbox --provider X`
//! prints (`pipedream-sandbox`, `zapier-sandbox`, …), and `pipe2-oauth` (the
//! README's OAuth example) on the Pipe2.ai emulator. The browser is a script
//! that follows the sign-in link, as a person who signs in would.

mod cli_support;

use cli_support::Home;
use std::collections::BTreeMap;

/// One marked block: the README line it starts on, and its commands (with
/// their own line numbers), split into words as a shell would.
struct Block {
    line: usize,
    commands: Vec<(usize, Vec<String>)>,
}

fn marked_blocks(readme: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (i, raw) in readme.lines().enumerate() {
        let line = raw.trim();
        match &mut open {
            None if line.starts_with("```") => {
                let info: Vec<&str> = line.trim_start_matches('`').split_whitespace().collect();
                if info.first() == Some(&"sh") && info.contains(&"test") {
                    open = Some(Block {
                        line: i + 1,
                        commands: Vec::new(),
                    });
                }
            }
            None => {}
            Some(_) if line.starts_with("```") => blocks.extend(open.take()),
            Some(block) => {
                let words = shell_words(line);
                if !words.is_empty() {
                    block.commands.push((i + 1, words));
                }
            }
        }
    }
    assert!(open.is_none(), "a marked block is never closed");
    blocks
}

/// `line` split into words: '…' and "…" quote (a backslash escapes in
/// "…" and outside), and an unquoted `#` after a space starts a comment.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' if word.is_none() => break,
            c if c.is_whitespace() => words.extend(word.take()),
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    w.push(q);
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => w.extend(chars.next()),
                        q => w.push(q),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).extend(chars.next()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

#[test]
fn shell_words_reads_quotes_and_comments() {
    assert_eq!(
        shell_words(r#"mcp-bridge call s t '{"a":"b c"}'   # a comment"#),
        ["mcp-bridge", "call", "s", "t", r#"{"a":"b c"}"#]
    );
    assert_eq!(shell_words(r#"x "a \"b\"" c#d"#), ["x", r#"a "b""#, "c#d"]);
    assert!(shell_words("# only a comment").is_empty());
}

/// `[servers.<name>]` tables of a config text, by name.
fn entries(config: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in config.lines() {
        if let Some(name) = line.strip_prefix("[servers.").and_then(|l| l.strip_suffix(']')) {
            out.extend(current.take());
            current = Some((name.to_string(), String::new()));
        }
        if let Some((_, text)) = &mut current {
            text.push_str(line);
            text.push('\n');
        }
    }
    out.extend(current);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_marked_readme_command_succeeds_against_the_sandbox_and_the_emulators() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let blocks = marked_blocks(&readme);
    assert!(blocks.len() >= 4, "the README has {} marked blocks", blocks.len());

    // The servers the blocks may name, served by the sandbox and the emulators.
    let mut servers = BTreeMap::from([(
        "sandbox".to_string(),
        "[servers.sandbox]\nprovider = \"sandbox\"\n".to_string(),
    )]);
    let mut running = Vec::new();
    for kind in mcp_bridge::emulator::launch::KINDS {
        let launched = mcp_bridge::emulator::launch::launch(kind, 0).await.unwrap();
        servers.extend(entries(&launched.config));
        if *kind == "pipe2" {
            let entry = format!(
                "[servers.pipe2-oauth]\nprovider = \"pipe2\"\nurl = \"{}\"\nauth = \"oauth\"\n",
                launched.url
            );
            servers.insert("pipe2-oauth".into(), entry);
        }
        running.push(launched.server);
    }

    let mut ran = 0;
    for block in &blocks {
        let home = Home::new();
        let browser = home.file("browser.sh", "#!/bin/sh\n(curl -sfL \"$1\" >/dev/null 2>&1 &)\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let fresh = block
            .commands
            .iter()
            .any(|(_, w)| w.get(1..3) == Some(&["config".to_string(), "init".to_string()][..]));
        let config = (!fresh).then(|| {
            let named: Vec<&String> = servers
                .keys()
                .filter(|name| *name == "sandbox" || block.commands.iter().any(|(_, w)| w.contains(name)))
                .collect();
            let text: String = named.iter().map(|n| servers[*n].clone() + "\n").collect();
            home.file("config.toml", &format!("default = \"sandbox\"\n\n{text}"))
        });
        for (line, words) in &block.commands {
            assert_eq!(
                words[0], "mcp-bridge",
                "README.md:{line}: a marked block holds mcp-bridge commands only"
            );
            let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
            let mut cmd = home.command(&args);
            cmd.env("MCP_BRIDGE_BROWSER", &browser)
                .env("MCP_BRIDGE_LOGIN_TIMEOUT", "20");
            if let Some(c) = &config {
                cmd.env("MCP_BRIDGE_CONFIG", c);
            }
            let out = tokio::process::Command::from(cmd).output().await.unwrap();
            let (stdout, stderr) = (
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
            );
            assert!(
                out.status.success() && !stderr.contains("panicked"),
                "README.md:{line} (block at line {}): `{}` exited with {}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
                block.line,
                words.join(" "),
                out.status
            );
            ran += 1;
        }
    }
    assert!(ran >= 15, "only {ran} commands ran");
    drop(running);
}
