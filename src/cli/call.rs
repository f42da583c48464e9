//! `tools <server>` and `call <server> <tool> '<json>'`: one MCP session
//! through `serve`'s relay (see `local_client`), for a person at a terminal. A
//! bundle's name works too: its tools are listed and called as `serve`
//! offers them, `<server>__<tool>`. What the remote wrote is shown with its
//! control characters escaped (no ANSI or OSC sequence reaches the
//! terminal); `--json` prints the exact JSON.

use super::CliError;
use super::local_client::{Failure, LocalClient};
use super::serve::prepare_server;
use crate::bundle;
use crate::console::plural;
use crate::redact::Redactor;
use serde_json::{Map, Value};
use std::path::Path;

/// A session with a server or bundle, and which of its servers are
/// `auth = "oauth"` servers not signed in (a bundle's; a server alone that
/// is signed out never gets a session).
struct Opened {
    session: LocalClient,
    signed_out: Vec<String>,
    /// Some server has `allow_tools` or `deny_tools`.
    filtered: bool,
}

/// What a signed-out server needs, said once: `serve` answers for it with a
/// sign-in link a desktop client can follow, but a command here ends before
/// a browser could come back to it.
fn sign_in_first(servers: &[String]) -> CliError {
    let lines: Vec<String> = servers.iter().map(|s| format!("run: mcp-bridge login {s}")).collect();
    CliError::Failed(format!(
        "not signed in to `{}`; sign in first, then try again:\n{}",
        servers.join("`, `"),
        lines.join("\n")
    ))
}

/// Open a session with server or bundle `name` and run `initialize`.
async fn open(flag: Option<&Path>, name: &str) -> Result<Opened, CliError> {
    let redactor = Redactor::new();
    let slack = std::time::Duration::from_secs(5);
    let names = [name.to_string()];
    let signed_out = |prepared: &crate::provider::Prepared| prepared.oauth.as_ref().is_some_and(|o| !o.is_signed_in());
    let (mut session, signed_out, filtered) = if bundle::is_bundle(flag, &names) {
        let prepared = bundle::prepare(flag, &names, &redactor)
            .await
            .map_err(CliError::Failed)?;
        let out: Vec<String> = prepared
            .iter()
            .filter(|(_, p)| signed_out(p))
            .map(|(n, _)| n.clone())
            .collect();
        let wait = prepared
            .iter()
            .map(|(_, p)| p.endpoint.timeout)
            .max()
            .unwrap_or_default()
            + slack;
        let filtered = prepared.iter().any(|(_, p)| !p.endpoint.tools.is_empty());
        (LocalClient::start_bundle(prepared, redactor, wait), out, filtered)
    } else {
        let (server, prepared) = prepare_server(flag, Some(name), &redactor).await?;
        if signed_out(&prepared) {
            return Err(sign_in_first(&[server]));
        }
        let wait = prepared.endpoint.timeout + slack;
        let filtered = !prepared.endpoint.tools.is_empty();
        (LocalClient::start(prepared, redactor, wait), Vec::new(), filtered)
    };
    if let Err(e) = session.initialize().await {
        session.close().await;
        return Err(CliError::Failed(format!("`{name}` did not complete initialize: {e}")));
    }
    Ok(Opened {
        session,
        signed_out,
        filtered,
    })
}

pub async fn tools(flag: Option<&Path>, name: &str, as_json: bool) -> Result<(), CliError> {
    let Opened {
        mut session,
        signed_out,
        filtered,
    } = open(flag, name).await?;
    let listed = session.list_tools().await;
    session.close().await;
    let mut tools = listed.map_err(|e| CliError::Failed(format!("tools/list on `{name}` failed: {e}")))?;
    // A signed-out member's stand-in `sign_in` tool is for desktop clients.
    tools.retain(|t| {
        let tool = t["name"].as_str().unwrap_or_default();
        !signed_out.iter().any(|s| tool == format!("{s}__sign_in"))
    });
    if as_json {
        let text = serde_json::to_string_pretty(&tools).unwrap_or_default();
        crate::outln!("{text}");
    } else {
        crate::out!("{}", table(&tools));
        eprintln!("{} on `{name}`", plural(tools.len(), "tool"));
        if tools.is_empty() && filtered {
            eprintln!(
                "All of them may be hidden by `allow_tools`/`deny_tools`: `mcp-bridge doctor {name}` shows which glob \
                 hides what"
            );
        }
    }
    if !signed_out.is_empty() {
        return Err(sign_in_first(&signed_out));
    }
    Ok(())
}

/// The tools as a table: name, arguments (`*` = required), first sentence
/// of the description.
fn table(tools: &[Value]) -> String {
    let rows: Vec<[String; 3]> = tools
        .iter()
        .map(|t| {
            let required: Vec<&str> = t["inputSchema"]["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let args: Vec<String> = t["inputSchema"]["properties"]
                .as_object()
                .into_iter()
                .flat_map(|p| p.keys())
                .map(|k| match required.contains(&k.as_str()) {
                    true => format!("{k}*"),
                    false => k.clone(),
                })
                .collect();
            let description = t["description"].as_str().unwrap_or("").lines().next().unwrap_or("");
            // The remote's text, one line per cell, never a terminal sequence.
            let cell = |text: &str| crate::untrusted::escape(text).into_owned();
            [
                cell(t["name"].as_str().unwrap_or("?")),
                cell(&args.join(" ")),
                cell(&shorten(description, 72)),
            ]
        })
        .collect();
    let name_w = rows.iter().map(|r| r[0].chars().count()).max().unwrap_or(0).max(4);
    let args_w = rows.iter().map(|r| r[1].chars().count()).max().unwrap_or(0).max(9);
    let mut out = format!("{:<name_w$}  {:<args_w$}  DESCRIPTION\n", "TOOL", "ARGUMENTS");
    for [name, args, description] in rows {
        out.push_str(format!("{name:<name_w$}  {args:<args_w$}  {description}").trim_end());
        out.push('\n');
    }
    out
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max - 1).collect();
    format!("{}…", cut.trim_end())
}

pub async fn call(
    flag: Option<&Path>,
    name: &str,
    tool: &str,
    arguments: Option<&str>,
    as_json: bool,
) -> Result<(), CliError> {
    let arguments = parse_arguments(arguments)?;
    let Opened {
        mut session,
        signed_out,
        ..
    } = open(flag, name).await?;
    if let Some(server) = signed_out.iter().find(|s| tool.starts_with(&format!("{s}__"))) {
        session.close().await;
        return Err(sign_in_first(std::slice::from_ref(server)));
    }
    let meta = serde_json::json!({"progressToken": "mcp-bridge-call"});
    let params = serde_json::json!({"name": tool, "arguments": arguments, "_meta": meta});
    let answer = session.request("tools/call", params).await;
    let redactor = session.redactor.clone();
    session.close().await;
    let result = match answer {
        Ok(result) => result,
        Err(e) => {
            // Not a tool of the server's, or arguments it does not take.
            let hint = match &e {
                Failure::Rpc {
                    code: -32602 | -32601, ..
                } => {
                    format!("\nrun: mcp-bridge tools {name}   (its tools, with their arguments; `*` = required)")
                }
                _ => String::new(),
            };
            return Err(CliError::Failed(format!("`{tool}` on `{name}` failed: {e}{hint}")));
        }
    };
    if as_json {
        crate::outln!("{}", serde_json::to_string_pretty(&result).unwrap_or_default());
    } else {
        let shown = redactor.apply(&render(&result));
        crate::out!("{}", crate::untrusted::for_terminal(&shown));
    }
    if result["isError"] == Value::Bool(true) {
        eprintln!("mcp-bridge: `{tool}` on `{name}` returned an error (isError)");
        return Err(CliError::Found);
    }
    Ok(())
}

/// The arguments given on the command line: a JSON object, `{}` when absent.
fn parse_arguments(text: Option<&str>) -> Result<Map<String, Value>, CliError> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(Map::new());
    };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(CliError::Usage(format!(
            "the tool's arguments must be a JSON object like '{{\"channel\":\"general\"}}', not {other}"
        ))),
        Err(e) => Err(CliError::Usage(format!(
            "the tool's arguments are not valid JSON ({e}); quote them for the shell: '{{\"key\":\"value\"}}'"
        ))),
    }
}

/// A tool result for a person: each text block, other blocks described,
/// then the structured content as JSON when there is no text.
fn render(result: &Value) -> String {
    let mut out = String::new();
    for block in result["content"].as_array().into_iter().flatten() {
        match block["type"].as_str() {
            Some("text") => out.push_str(block["text"].as_str().unwrap_or("")),
            Some("resource_link") => out.push_str(&format!("[link] {}", block["uri"].as_str().unwrap_or(""))),
            Some("resource") => out.push_str(&format!(
                "[resource] {}",
                block["resource"]["uri"].as_str().unwrap_or("")
            )),
            Some(kind) => out.push_str(&format!(
                "[{kind}] {}",
                block["mimeType"].as_str().unwrap_or("(no MIME type)")
            )),
            None => out.push_str(&block.to_string()),
        }
        out.push('\n');
    }
    if out.is_empty()
        && let Some(s) = result.get("structuredContent")
    {
        out = serde_json::to_string_pretty(s).unwrap_or_default() + "\n";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_marks_required_arguments_and_shortens_descriptions() {
        let tools = [
            json!({"name": "send", "description": format!("Send it. {}", "x".repeat(100)),
            "inputSchema": {"type": "object", "properties": {"channel": {}, "text": {}, "cc": {}},
                            "required": ["channel", "text"]}}),
        ];
        let t = table(&tools);
        assert!(t.starts_with("TOOL"), "{t}");
        assert!(t.contains("send  channel* text* cc"), "{t}");
        assert!(t.lines().all(|l| l.chars().count() < 120) && t.contains('…'), "{t}");
    }

    #[test]
    fn arguments_must_be_a_json_object() {
        assert!(parse_arguments(None).unwrap().is_empty());
        assert_eq!(parse_arguments(Some(r#"{"a":1}"#)).unwrap()["a"], 1);
        assert!(matches!(parse_arguments(Some("[1]")), Err(CliError::Usage(_))));
        assert!(matches!(parse_arguments(Some("{a")), Err(CliError::Usage(_))));
    }
}
