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

/// `install <client> sb --write --file <file>` with the sandbox config.
fn write_sb(home: &Home, file: &Path) -> cli_support::Run {
    let config = home.file("config.toml", SANDBOX);
    let args = [
        "--config",
        config.to_str().unwrap(),
        "install",
        "cursor",
        "sb",
        "--write",
        "--file",
    ];
    let mut args = args.to_vec();
    args.push(file.to_str().unwrap());
    home.run(&args)
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn write_through_a_dotfiles_link_edits_its_target_and_the_link_stays() {
    let home = Home::new();
    let target = home.file("dotfiles/mcp.json", "{\"mcpServers\": {}}\n");
    let link = home.path().join("cursor/mcp.json");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let r = write_sb(&home, &link);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(),
        "the link was replaced"
    );
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(written["mcpServers"]["sb"]["command"], bridge());
}

#[cfg(unix)]
#[test]
fn write_keeps_a_private_file_private_and_makes_a_new_one_private() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    for kept in [0o600, 0o640] {
        let file = home.file(
            "cursor/mcp.json",
            "{\"mcpServers\": {\"x\": {\"env\": {\"KEY\": \"s3cret\"}}}}",
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(kept)).unwrap();
        let r = write_sb(&home, &file);
        assert_eq!(r.code, 0, "{}", r.all());
        assert_eq!(mode(&file), kept, "{kept:o}");
        for b in backups(&file) {
            assert_eq!(mode(&b), kept, "the backup of a {kept:o} file");
            std::fs::remove_file(b).unwrap();
        }
    }
    let new = home.path().join("new/mcp.json");
    let r = write_sb(&home, &new);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(mode(&new), 0o600);
}

#[cfg(unix)]
#[test]
fn a_link_planted_at_the_temp_files_name_is_never_written_through() {
    let home = Home::new();
    let file = home.file("cursor/mcp.json", "{}");
    let victim = home.file("victim", "precious");
    // The fixed name the temp file once had, and a likely new one.
    for planted in ["mcp.json.mcp-bridge-tmp", ".mcp.json.tmp"] {
        std::os::unix::fs::symlink(&victim, file.with_file_name(planted)).unwrap();
    }
    let r = write_sb(&home, &file);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(!std::fs::symlink_metadata(&file).unwrap().file_type().is_symlink());
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written["mcpServers"]["sb"]["command"], bridge());
}

#[test]
fn write_keeps_big_numbers_duplicate_keys_and_layout_byte_for_byte() {
    let home = Home::new();
    let head = "{\n\t\"accountId\": 123456789012345678901234567890,\n\t\"ratio\": 1.000000000000000000001,\n\
                \t\"mcpServers\": {\n\t\t\"other\": {\"command\": \"o\", \"env\": {\"A\": \"1\", \"A\": \"2\"}}";
    let tail = "\n\t},\n\t\"dup\": 1,\n\t\"dup\": 2\n}\n";
    let file = home.file("cursor/mcp.json", &format!("{head}{tail}"));
    let r = write_sb(&home, &file);
    assert_eq!(r.code, 0, "{}", r.all());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with(&format!("{head},\n\t\t\"sb\": {{\n")), "{text}");
    assert!(text.ends_with(&format!("\n\t\t}}{tail}")), "{text}");
    let added: Value =
        serde_json::from_str(&text[head.len() + 1..text.len() - tail.len()].replace("\"sb\":", "")).unwrap();
    assert_eq!(added["command"], bridge(), "{text}");
}

/// An entry of the bridge's that is there already, with the person's own
/// `env` (written their way): `--write` changes only the fields the bridge
/// sets, leaves the `env` and every other byte as written, and a second run
/// writes nothing and makes no backup.
#[test]
fn write_updates_an_entry_in_place_keeping_its_env_as_written_then_writes_nothing() {
    let home = Home::new();
    let head =
        "{ \"mcpServers\": { \"sb\": {\"command\": \"/old/mcp-bridge\",\n  \"env\" : {\"TOKEN\":\"t\",  \"N\": 1e0} }";
    let tail = " },\n  \"theme\": 7 }\n";
    let file = home.file("cursor/mcp.json", &format!("{head}{tail}"));
    let r = write_sb(&home, &file);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.out.contains("updated `sb`"), "{}", r.all());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\n  \"env\" : {\"TOKEN\":\"t\",  \"N\": 1e0}"), "{text}");
    assert!(text.starts_with("{ \"mcpServers\": { \"sb\": {\"command\": "), "{text}");
    assert!(text.ends_with(tail), "{text}");
    let written: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(written["mcpServers"]["sb"]["command"], bridge(), "{text}");
    assert_eq!(backups(&file).len(), 1);

    let r = write_sb(&home, &file);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.out.contains("already up to date"), "{}", r.all());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    assert_eq!(backups(&file).len(), 1, "a second backup for no change");
}
