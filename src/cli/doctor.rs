//! `doctor [server]`: check each configured server end to end and print one
//! table row per server: the config is valid, its credentials resolve, the
//! remote is reachable, `initialize` + `tools/list` succeed through `serve`'s
//! relay (tool count, round-trip times), and its token state. Below the
//! table, how old each server's list cache is (what a warm start answers
//! from; `mcp-bridge cache clear` empties it), then one line per failure
//! says what to do. Every text passes through the
//! server's redactor: no secret is ever shown.

use super::CliError;
use super::config_cmd::examine;
use super::local_client::LocalClient;
use super::probe::{WAIT, credential_words, filters, indirect_values, reach, token_usable};
use crate::config::{Config, ConfigError, Resolver};
use crate::console::plural;
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
    /// The list cache's age, in words.
    cache: String,
    /// One line per thing that works but is likely not what was meant.
    warnings: Vec<String>,
}

pub async fn run(flag: Option<&Path>, only: Option<&str>) -> Result<(), CliError> {
    let loaded = Config::load_all(flag).and_then(|(config, problems)| match config {
        Some(config) => Ok((config, problems)),
        None => Err(ConfigError::from_all(problems).unwrap_or_else(|| ConfigError::Usage("unreadable".into()))),
    });
    let (config, problems) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => {
            crate::outln!("config  FAIL");
            crate::outln!("\n✗ {e}\n  To fix: correct the file, then run `mcp-bridge config check`.");
            return Err(CliError::Found);
        }
    };
    let resolver = Resolver::new();
    let (phases, general) = config_phases(&config, problems, only, &resolver).await?;
    if phases.is_empty() && general.is_empty() {
        crate::outln!(
            "✗ {} defines no servers.\n  To fix: add a [servers.<name>] table (`mcp-bridge config init` writes an example).",
            config.display_path()
        );
        return Err(CliError::Found);
    }
    crate::outln!("Config: {}", config.display_path());
    let mut rows = Vec::new();
    for phase in phases {
        rows.push(check_server(&config, phase).await);
    }
    crate::out!("{}", table(&rows));
    crate::outln!("\nList cache (a warm start answers from it; `mcp-bridge cache clear [name]` empties it):");
    for r in &rows {
        crate::outln!("  {}: {}", r.name, r.cache);
    }
    let warnings: Vec<&String> = rows.iter().flat_map(|r| &r.warnings).collect();
    if !warnings.is_empty() {
        crate::outln!();
    }
    for w in &warnings {
        crate::outln!("⚠ {w}");
    }
    let problems: Vec<&String> = general.iter().chain(rows.iter().flat_map(|r| &r.problems)).collect();
    if problems.is_empty() {
        let with = match warnings.len() {
            0 => String::new(),
            n => format!(", with {}", plural(n, "warning")),
        };
        crate::outln!("\nAll {} passed{with}.", plural(rows.len(), "server"));
        return Ok(());
    }
    crate::outln!();
    for p in &problems {
        // A problem quotes the remote (an error page): escaped for the terminal.
        crate::outln!("✗ {}", crate::untrusted::escape(p));
    }
    Err(CliError::Found)
}

/// What the config alone says of one server (doctor's first two columns):
/// its credentials resolve, and every key is valid.
pub struct ConfigPhase {
    name: String,
    credential: Cell,
    config: Cell,
    prepared: Option<crate::provider::Prepared>,
    redactor: Redactor,
    problems: Vec<String>,
}

/// Doctor's config phase for each server it looks at, and the problems of
/// the file that are about no server it looks at (each one stops `serve`
/// all the same: a config with any problem is refused whole). The error is
/// a name that is not in the file.
pub async fn config_phases(
    config: &Config,
    problems: Vec<ConfigError>,
    only: Option<&str>,
    resolver: &Resolver,
) -> Result<(Vec<ConfigPhase>, Vec<String>), ConfigError> {
    let names = config.servers_to_check(only)?;
    let mut rest = problems;
    let mut phases = Vec::new();
    for name in names {
        let (mine, others): (Vec<ConfigError>, Vec<ConfigError>) =
            rest.into_iter().partition(|p| p.is_about_server(&name));
        rest = others;
        phases.push(config_phase(config, &name, mine, resolver).await);
    }
    let general = rest
        .into_iter()
        .map(|e| format!("config: {e}. To fix: edit that key, then run `mcp-bridge doctor`"))
        .collect();
    Ok((phases, general))
}

async fn config_phase(config: &Config, name: &str, found: Vec<ConfigError>, resolver: &Resolver) -> ConfigPhase {
    let redactor = Redactor::new();
    let mut problems = Vec::new();
    let mut problem =
        |what: &str, why: String, fix: String| problems.push(format!("{name}: {what}: {why}. To fix: {fix}"));
    let recheck = format!("then run `mcp-bridge doctor {name}`");
    let Some(entry) = config.servers.get(name) else {
        // Its table could not be read: the file's problems about it say why.
        for e in found {
            problem(
                "the config is invalid",
                redactor.apply(&e.to_string()),
                format!("edit that key, {recheck}"),
            );
        }
        return ConfigPhase {
            name: name.to_string(),
            credential: Cell::skip(),
            config: Cell::fail(),
            prepared: None,
            redactor,
            problems,
        };
    };

    // The credential: every value read from the environment, a command or a file.
    let mut credential = Cell::ok(credential_words(entry));
    let mut unresolved = Vec::new();
    for (key, value) in indirect_values(entry) {
        if let Err(e) = resolver.resolve(name, &key, value) {
            credential = Cell::fail();
            problem(
                "a credential does not resolve",
                redactor.apply(&e.to_string()),
                format!("set the variable, or fix the command, file or keychain entry `{key}` names, {recheck}"),
            );
            unresolved.push(format!("servers.{name}.{key}"));
        }
    }

    // The config: the provider builds its endpoint (this also resolves
    // values); every key's problem is shown, but not an unresolved value again.
    let (config_cell, prepared) = match examine(config, name, resolver, &redactor).await {
        Ok(p) => (Cell::ok("ok"), Some(p)),
        Err(more) => {
            let others: Vec<ConfigError> = found
                .into_iter()
                .chain(more)
                .filter(|e| !e.key().is_some_and(|k| unresolved.iter().any(|u| u == k)))
                .collect();
            for e in &others {
                problem(
                    "the config is invalid",
                    redactor.apply(&e.to_string()),
                    format!("edit that key, {recheck}"),
                );
            }
            match (others.is_empty(), credential.0) {
                (true, Some(false)) => (Cell::skip(), None),
                _ => (Cell::fail(), None),
            }
        }
    };
    ConfigPhase {
        name: name.to_string(),
        credential,
        config: config_cell,
        prepared,
        redactor,
        problems,
    }
}

/// The config phase as `doctor` shows it when it goes no further: the
/// table with the later columns not run, and the problem lines.
pub fn config_phase_text(phases: Vec<ConfigPhase>, general: &[String]) -> String {
    let rows: Vec<Row> = phases
        .into_iter()
        .map(|p| Row {
            name: p.name,
            cells: [p.config, p.credential, Cell::skip(), Cell::skip(), Cell::skip()],
            problems: p.problems,
            warnings: vec![],
            cache: "-".into(),
        })
        .collect();
    let mut out = table(&rows);
    for p in general.iter().chain(rows.iter().flat_map(|r| &r.problems)) {
        out.push_str(&format!("✗ {p}\n"));
    }
    out
}

/// The rest of the checks of one server after its config phase: the
/// token, the network, and MCP itself.
async fn check_server(config: &Config, phase: ConfigPhase) -> Row {
    let ConfigPhase {
        name,
        credential,
        config: config_cell,
        mut prepared,
        redactor,
        mut problems,
    } = phase;
    let name = name.as_str();
    let mut problem =
        |what: &str, why: String, fix: String| problems.push(format!("{name}: {what}: {why}. To fix: {fix}"));
    let recheck = format!("then run `mcp-bridge doctor {name}`");
    let Some(entry) = config.servers.get(name) else {
        return Row {
            name: name.to_string(),
            cells: [config_cell, credential, Cell::skip(), Cell::skip(), Cell::skip()],
            problems,
            warnings: vec![],
            cache: "-".into(),
        };
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

    let cache = match &prepared {
        Some(p) => redactor.apply(&crate::remote::list_cache::describe(&p.endpoint)),
        None => "-".into(),
    };

    // MCP itself, through the same relay as `serve` (never its list cache;
    // the tool filters applied here to say what they hide).
    let mut warnings = Vec::new();
    let mcp = match prepared.take() {
        Some(mut p) if reachable.0 == Some(true) && token_ok => {
            p.endpoint.timeout = p.endpoint.timeout.min(WAIT);
            p.endpoint.tools = Default::default();
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
                Ok(tools) => {
                    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
                    let filtered = filters(entry, &names);
                    warnings.extend(filtered.warnings.iter().map(|w| format!("{name}: {w}")));
                    let passed = filtered.all_hidden.is_none();
                    if let Some(why) = filtered.all_hidden {
                        let fix =
                            "change the globs to match the tools above, or remove the key, ".to_string() + &recheck;
                        problem("no tool is shown", why, fix);
                    }
                    let text = format!("{} (initialize {init_ms} ms, tools/list {list_ms} ms)", filtered.count);
                    Cell(Some(passed), text)
                }
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
        cache,
        warnings,
    }
}

fn table(rows: &[Row]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            std::iter::once(r.name.as_str())
                .chain(r.cells.iter().map(|c| c.1.as_str()))
                .map(|cell| crate::untrusted::escape(cell).into_owned())
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
        out.push_str(&line(&r.iter().map(String::as_str).collect::<Vec<_>>()));
    }
    out
}
