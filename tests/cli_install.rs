//! `mcp-bridge install claude|cursor`: the printed entry, and `--write` on
//! temporary client files: a merge that keeps every other entry, a backup,
//! and a refusal to touch a file that is not valid JSON.

mod cli_support;

use cli_support::{Home, SANDBOX};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn bridge() -> String {
    env!("CARGO_BIN_EXE_mcp-bridge").to_string()
}

fn backups(file: &Path) -> Vec<PathBuf> {
    let name = file.file_name().unwrap().to_str().unwrap().to_string();
    std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(&format!("{name}.bak-"))
        })
        .collect()
}

#[test]
fn prints_the_entry_with_this_binary_and_the_config_it_was_given() {
    let home = Home::new();
    let config = home.file("team/config.toml", SANDBOX);
    let r = home.run(&["--config", config.to_str().unwrap(), "install", "claude", "sb"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let printed: Value = serde_json::from_str(&r.out).expect("stdout is the JSON entry");
    let entry = &printed["mcpServers"]["sb"];
    assert_eq!(entry["command"], bridge(), "{}", r.all());
    assert!(Path::new(entry["command"].as_str().unwrap()).is_absolute());
    assert_eq!(
        entry["args"],
        json!(["--config", config.to_str().unwrap(), "serve", "sb"])
    );
    // Linux: $XDG_CONFIG_HOME/Claude/claude_desktop_config.json.
    let file = home.xdg().join("Claude").join("claude_desktop_config.json");
    assert!(r.err.contains(file.to_str().unwrap()), "{}", r.all());
    assert!(!file.exists(), "printing must not write");
}

#[test]
fn the_default_config_needs_no_config_argument() {
    let home = Home::new();
    home.file("xdg/mcp-bridge/config.toml", SANDBOX);
    let r = home.run(&["install", "cursor"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let printed: Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(
        printed["mcpServers"]["sb"]["args"],
        json!(["serve", "sb"]),
        "{}",
        r.all()
    );
    let file = home.path().join(".cursor").join("mcp.json");
    assert!(r.err.contains(file.to_str().unwrap()), "{}", r.all());
    // --write with no --file goes to that same file, created with its directory.
    let r = home.run(&["install", "cursor", "--write"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written["mcpServers"]["sb"]["command"], bridge());
    assert!(backups(&file).is_empty(), "nothing to back up for a new file");
}

#[test]
fn write_merges_keeps_other_entries_and_backs_up_first() {
    let home = Home::new();
    let config = home.file(
        "config.toml",
        &format!("{SANDBOX}[servers.two]\nprovider = \"sandbox\"\n"),
    );
    let original = r#"{
  "theme": "dark",
  "mcpServers": {
    "other": {"command": "/usr/bin/other", "args": ["x"], "env": {"K": "V"}},
    "sb": {"command": "/old/path", "args": ["serve", "sb"]}
  },
  "zzz": [1, 2, 3]
}"#;
    let file = home.file("claude/claude_desktop_config.json", original);
    let c = config.to_str().unwrap();
    let f = file.to_str().unwrap();
    let r = home.run(&["--config", c, "install", "claude", "sb", "two", "--write", "--file", f]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.out.contains("updated `sb`") && r.out.contains("added `two`"),
        "{}",
        r.all()
    );
    let merged: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(merged["theme"], "dark");
    assert_eq!(merged["zzz"], json!([1, 2, 3]));
    assert_eq!(
        merged["mcpServers"]["other"],
        json!({"command": "/usr/bin/other", "args": ["x"], "env": {"K": "V"}})
    );
    assert_eq!(merged["mcpServers"]["sb"]["command"], bridge());
    assert_eq!(
        merged["mcpServers"]["two"]["args"],
        json!(["--config", c, "serve", "two"])
    );
    let keys: Vec<&String> = merged.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["theme", "mcpServers", "zzz"], "the file's order is kept");
    let saved = backups(&file);
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert_eq!(std::fs::read_to_string(&saved[0]).unwrap(), original);
    assert!(r.err.contains(saved[0].to_str().unwrap()), "{}", r.all());
    // A second write with nothing to change writes nothing and backs up nothing.
    let r = home.run(&["--config", c, "install", "claude", "sb", "--write", "--file", f]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.out.contains("already up to date"), "{}", r.all());
    assert_eq!(backups(&file).len(), 1);
    // One that changes the file keeps the first backup and makes another.
    let edited = std::fs::read_to_string(&file)
        .unwrap()
        .replace(&bridge(), "/moved/mcp-bridge");
    std::fs::write(&file, edited).unwrap();
    let r = home.run(&["--config", c, "install", "claude", "sb", "--write", "--file", f]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(backups(&file).len(), 2);
}

#[test]
fn write_refuses_a_file_that_is_not_valid_json() {
    let home = Home::new();
    let config = home.file("config.toml", SANDBOX);
    for bad in ["{ \"mcpServers\": { \"a\": 1 }, }", "[1, 2]", "{\"mcpServers\": []}"] {
        let file = home.file("cursor/mcp.json", bad);
        let r = home.run(&[
            "--config",
            config.to_str().unwrap(),
            "install",
            "cursor",
            "sb",
            "--write",
            "--file",
            file.to_str().unwrap(),
        ]);
        assert_eq!(r.code, 1, "{bad}: {}", r.all());
        assert!(
            r.err.contains(file.to_str().unwrap()) && r.err.contains("left untouched"),
            "{}",
            r.all()
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), bad, "the file was changed");
        assert!(backups(&file).is_empty(), "no backup for a refused file");
    }
    let file = home.file("cursor/mcp.json", "{ not json");
    let r = home.run(&[
        "--config",
        config.to_str().unwrap(),
        "install",
        "cursor",
        "--write",
        "--file",
        file.to_str().unwrap(),
    ]);
    assert!(r.err.contains("is not valid JSON"), "{}", r.all());
}

#[test]
fn an_unknown_server_is_a_usage_error_and_writes_nothing() {
    let home = Home::new();
    let config = home.file("config.toml", SANDBOX);
    let file = home.path().join("mcp.json");
    let r = home.run(&[
        "--config",
        config.to_str().unwrap(),
        "install",
        "cursor",
        "nope",
        "--write",
        "--file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.err.contains("no server `nope`"), "{}", r.all());
    assert!(!file.exists());
}
