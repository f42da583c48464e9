//! `doctor [server]`: check each configured server end to end and print one
//! table row per server: the config is valid, its credentials resolve, the
//! remote is reachable, `initialize` + `tools/list` succeed through `serve`'s
//! relay (tool count, round-trip times), and its token state. Below the
//! table, one line per failure says what to do. Every text passes through the
//! server's redactor: no secret is ever shown.

use super::CliError;
use super::local_client::LocalClient;
use super::probe::{WAIT, credential_words, indirect_values, reach, token_usable};
use crate::config::{Config, Resolver, ServerEntry};
use crate::provider::{self, Setup};
use crate::redact::Redactor;
use crate::store::Store;
use std::path::Path;
use std::time::{Duration, Instant};

/// One check's outcome: passed, failed or not run (`None`), and its text.
struct Cell(Option<bool>, String);

impl Cell {
    fn ok(text: impl Into<String>) -> Cell {
        Cell(Some(true), text.into())
    }
    fn fail() -> Cell {
        Cell(Some(false), "FAIL".into())
    }
    fn skip() -> Cell {
        Cell(None, "-".into())
    }
}

const COLUMNS: [&str; 6] = [
    "SERVER",
    "CONFIG",
    "CREDENTIAL",
    "REACHABLE",
    "INITIALIZE + TOOLS/LIST",
    "TOKEN",
];

struct Row {
    name: String,
    cells: [Cell; 5],
    /// One line per failure: what failed, why, and what to do.
    problems: Vec<String>,
}

pub async fn run(flag: Option<&Path>, only: Option<&str>) -> Result<(), CliError> {
    let config = match Config::load(flag) {
        Ok(c) => c,
        Err(e) => {
            crate::outln!("config  FAIL");
            crate::outln!("\n✗ {e}\n  To fix: correct the file, then run `mcp-bridge config check`.");
            return Err(CliError::Found);
        }
    };
    let names = config.servers_to_check(only)?;
    if names.is_empty() {
        crate::outln!(
            "✗ {} defines no servers.\n  To fix: add a [servers.<name>] table (`mcp-bridge config init` writes an example).",
            config.display_path()
        );
        return Err(CliError::Found);
    }
    crate::outln!("Config: {}", config.display_path());
    let mut rows = Vec::new();
    for name in names {
        let row = check_server(&config, &name, &config.servers[&name]).await;
        rows.push(row);
    }
    crate::out!("{}", table(&rows));
    let problems: Vec<&String> = rows.iter().flat_map(|r| &r.problems).collect();
    if problems.is_empty() {
        crate::outln!("\nAll {} server(s) passed.", rows.len());
        return Ok(());
    }
    crate::outln!();
    for p in &problems {
        crate::outln!("✗ {p}");
    }
    Err(CliError::Found)
}

async fn check_server(config: &Config, name: &str, entry: &ServerEntry) -> Row {
    let redactor = Redactor::new();
    let resolver = Resolver::new();
    let mut problems = Vec::new();
    let mut problem =
        |what: &str, why: String, fix: String| problems.push(format!("{name}: {what}: {why}. To fix: {fix}"));
    let recheck = format!("then run `mcp-bridge doctor {name}`");

    // The credential: every value read from the environment, a command or a file.
    let mut credential = Cell::ok(credential_words(entry));
    for (key, value) in indirect_values(entry) {
        if let Err(e) = resolver.resolve(name, &key, value) {
            credential = Cell::fail();
            problem(
                "a credential does not resolve",
                redactor.apply(&e.to_string()),
                format!("set the variable, or fix the command, file or keychain entry `{key}` names, {recheck}"),
            );
            break;
        }
    }

    // The config: the provider builds its endpoint (this also resolves values).
    let setup = Setup::new(name, entry, config, &resolver, &redactor);
    let (config_cell, mut prepared) = match (credential.0, provider::prepare(setup).await) {
        (_, Ok(p)) => (Cell::ok("ok"), Some(p)),
        (Some(false), Err(_)) => (Cell::skip(), None),
        (_, Err(e)) => {
            let why = redactor.apply(&e.to_string());
            problem("the config is invalid", why, format!("edit that key, {recheck}"));
            (Cell::fail(), None)
        }
    };

    // The token state, from the token store.
    let (token, token_ok) = match Store::open_default() {
        Ok(store) => {
            let rec = store.load(name).ok().flatten();
            let ok = token_usable(entry, rec.as_ref());
            let words = crate::auth::terminal::server_state(entry, rec);
            if !ok {
                problem(
                    "no usable token",
                    words.clone(),
                    format!("run `mcp-bridge login {name}`, {recheck}"),
                );
            }
            (Cell(Some(ok), words), ok)
        }
        Err(e) => {
            let why = format!("cannot open the token store: {e}");
            problem(
                "token state unknown",
                why,
                "set MCP_BRIDGE_DATA_DIR to a writable directory".into(),
            );
            (Cell::fail(), false)
        }
    };

    // The network: a TCP connection to the server's host and port.
    let reachable = match &prepared {
        None => Cell::skip(),
        Some(p) => match reach(&p.endpoint.url).await {
            Ok(text) => Cell::ok(text),
            Err(why) => {
                let fix = format!(
                    "check `url` in [servers.{name}] of {}, your network, and that the server is running",
                    config.display_path()
                );
                problem("the server is unreachable", redactor.apply(&why), fix);
                Cell::fail()
            }
        },
    };

    // MCP itself, through the same relay as `serve`.
    let mcp = match prepared.take() {
        Some(mut p) if reachable.0 == Some(true) && token_ok => {
            p.endpoint.timeout = p.endpoint.timeout.min(WAIT);
            let mut session = LocalClient::start(p, redactor.clone(), WAIT + Duration::from_secs(2));
            let started = Instant::now();
            let init = session.initialize().await;
            let init_ms = started.elapsed().as_millis();
            let listed = match init {
                Ok(_) => session.list_tools().await.map_err(|e| ("tools/list", e)),
                Err(e) => Err(("initialize", e)),
            };
            let list_ms = started.elapsed().as_millis() - init_ms;
            session.close().await;
            match listed {
                Ok(tools) => Cell::ok(format!(
                    "{} tools (initialize {init_ms} ms, tools/list {list_ms} ms)",
                    tools.len()
                )),
                Err((step, e)) => {
                    let why = redactor.apply(&e.to_string());
                    let fix = format!("see the exchange with `mcp-bridge --log debug tools {name}`, {recheck}");
                    problem(&format!("{step} failed"), why, fix);
                    Cell::fail()
                }
            }
        }
        _ => Cell::skip(),
    };
    Row {
        name: name.to_string(),
        cells: [config_cell, credential, reachable, mcp, token],
        problems,
    }
}

fn table(rows: &[Row]) -> String {
    let cells: Vec<Vec<&str>> = rows
        .iter()
        .map(|r| {
            std::iter::once(r.name.as_str())
                .chain(r.cells.iter().map(|c| c.1.as_str()))
                .collect()
        })
        .collect();
    let widths: Vec<usize> = (0..COLUMNS.len())
        .map(|i| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([COLUMNS[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |items: &[&str]| {
        let padded: Vec<String> = items.iter().zip(&widths).map(|(s, w)| format!("{s:<w$}")).collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(&COLUMNS);
    for r in &cells {
        out.push_str(&line(r));
    }
    out
}
