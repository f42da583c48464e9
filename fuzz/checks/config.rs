//! Fuzz what a config file meets: `Config::parse` on arbitrary UTF-8 text,
//! then the calls `serve` makes on a parsed config (`select`, each entry's
//! provider name, timeout and message size, the error's display), then what
//! `check` and `doctor`'s config phase make of the whole file
//! (`Config::parse_all`, then `cli::check_and_doctor_config` with no name,
//! each server and bundle, and a name that is not in the file); and the
//! input's first line as the value of each number a server entry takes
//! (`timeout`, `session_ttl`, `max_message_size`, `list_cache`,
//! `retry_on_account_required`) and as a duration in seconds and a size on
//! its own. Checked: nothing panics, every problem has words, every
//! duration or size a config yields is within its documented range, a file
//! that parses names only servers that exist (bundle members), and one
//! `parse` refuses has a problem `check` shows.
//!
//! Before the checks, every value that would run a command, read a file or
//! ask the OS keychain becomes plain text: a fuzzed `{ command = [...] }`
//! must never run a program, nor `{ file = "/dev/zero" }` be read. Nothing
//! here connects anywhere (the sandbox provider listens on loopback, and
//! stops with the runtime each input gets).
//!
//! The check itself, shared by the fuzz target and by `tests/fuzz_corpus.rs`,
//! which replays the committed seeds (`fuzz/seeds/config/`) under
//! `cargo test`.

use mcp_bridge::config::size::{LARGEST, SMALLEST, parse_size};
use mcp_bridge::config::{
    Config, ConfigValue, LONGEST, LONGEST_LIST_CACHE, Resolver, SHORTEST, ServerEntry, duration_from_secs,
};

/// The calls `serve` makes on a parsed config; every duration and size of
/// it is within its range, and a bundle names only servers of the file.
fn check_config(config: &Config) {
    let _ = config.display_path();
    if let Err(e) = config.select(None) {
        let _ = e.to_string();
    }
    for name in config.servers.keys() {
        let (_, entry) = config.select(Some(name)).expect("a listed server selects");
        let _ = entry.provider_name();
        let timeout = entry.timeout();
        assert!((SHORTEST..=LONGEST).contains(&timeout), "{timeout:?}");
        let size = entry.max_message_size();
        assert!((SMALLEST..=LARGEST).contains(&size), "{size}");
        if let Some(age) = entry.list_cache.max_age() {
            assert!((SHORTEST..=LONGEST_LIST_CACHE).contains(&age), "{age:?}");
        }
        if let Some(ttl) = entry.session_ttl {
            assert!((SHORTEST..=LONGEST).contains(&ttl.0), "{ttl:?}");
        }
    }
    for (bundle, entry) in &config.bundles {
        for member in &entry.servers {
            assert!(
                config.servers.contains_key(member),
                "bundle `{bundle}` names `{member}`, which is no server, and the file parsed"
            );
        }
    }
    let _ = config.select(Some("no-such-server")).map_err(|e| e.to_string());
}

/// Runs one input; panics when a check fails.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = Config::parse(text, None);
    match &parsed {
        Ok(config) => check_config(config),
        Err(e) => {
            assert!(!e.to_string().is_empty(), "a refusal with no words");
        }
    }
    let value = text.lines().next().unwrap_or("");
    for key in ["timeout", "session_ttl", "max_message_size", "list_cache"] {
        let entry = format!("[servers.s]\nurl = \"https://mcp.example/mcp\"\n{key} = {value}\n");
        match Config::parse(&entry, None) {
            Ok(config) => check_config(&config),
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
    let connect = format!(
        "[servers.s]\nurl = \"https://mcp.example/mcp\"\n[servers.s.connect]\nretry_on_account_required = {value}\n"
    );
    if let Ok(config) = Config::parse(&connect, None) {
        check_config(&config);
    }
    if let Some(d) = value.trim().parse::<f64>().ok().and_then(duration_from_secs) {
        assert!((SHORTEST..=LONGEST).contains(&d), "{d:?}");
    }
    if let Some(n) = parse_size(value) {
        assert!((SMALLEST..=LARGEST).contains(&n), "{n}");
    }
    check_and_doctor(text, parsed.is_ok());
}

/// `check` and `doctor`'s config phase on the whole file.
fn check_and_doctor(text: &str, parses: bool) {
    let (config, problems) = Config::parse_all(text, Some(std::path::Path::new("fuzz.toml")));
    for p in &problems {
        assert!(!p.to_string().is_empty(), "a problem with no words");
    }
    assert_eq!(
        parses,
        config.is_some() && problems.is_empty(),
        "`parse` and `parse_all` disagree on whether the file is valid: {problems:?}"
    );
    let Some(mut config) = config else {
        return;
    };
    config.servers.values_mut().for_each(defang_entry);
    let mut names: Vec<Option<String>> = vec![None, Some("no-such-server".into())];
    names.extend(config.servers.keys().take(3).cloned().map(Some));
    names.extend(config.bundles.keys().take(2).cloned().map(Some));
    let resolver = Resolver::new();
    // A runtime per input: what a check starts (the sandbox server) stops
    // when it is dropped, as at the end of a process.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        for only in &names {
            let said =
                mcp_bridge::cli::check_and_doctor_config(&config, problems.clone(), only.as_deref(), &resolver).await;
            if !problems.is_empty() && only.is_none() {
                assert!(
                    !said.trim().is_empty(),
                    "a file with problems, and `check` said nothing"
                );
            }
        }
    });
}

fn defang(value: &mut ConfigValue) {
    if !matches!(value, ConfigValue::Text(_)) {
        *value = ConfigValue::Text("fuzz-value".into());
    }
}

/// Every value of the entry that could run a command, read a file or ask
/// the keychain, as text. The pattern names every field: a new one must be
/// looked at here.
fn defang_entry(e: &mut ServerEntry) {
    let ServerEntry {
        provider: _,
        url,
        transport: _,
        protocol: _,
        headers,
        query,
        timeout: _,
        list_cache: _,
        allow_tools: _,
        deny_tools: _,
        bearer,
        auth: _,
        connect: _,
        connect_link_pattern: _,
        scopes: _,
        client_id,
        client_secret,
        callback_port: _,
        resource: _,
        authorization_server: _,
        project_id,
        environment: _,
        external_user_id,
        app: _,
        app_discovery: _,
        account_id,
        tool_mode: _,
        conversation_id: _,
        base_url,
        api_base,
        oauth_app_id,
        webhook_uri,
        success_redirect_uri,
        error_redirect_uri,
        token,
        access_token,
        refresh_token,
        token_url,
        mode: _,
        apps: _,
        chat_id,
        session_ttl: _,
        max_message_size: _,
        allow_http: _,
        client_metadata_url: _,
        private_key,
        signing_algorithm: _,
        idp_issuer: _,
        idp_token_endpoint: _,
        idp_client_id,
        idp_client_secret,
        id_token,
    } = e;
    let single = [
        url,
        bearer,
        client_id,
        client_secret,
        project_id,
        external_user_id,
        account_id,
        base_url,
        api_base,
        oauth_app_id,
        webhook_uri,
        success_redirect_uri,
        error_redirect_uri,
        token,
        access_token,
        refresh_token,
        token_url,
        chat_id,
        private_key,
        idp_client_id,
        idp_client_secret,
        id_token,
    ];
    single.into_iter().flatten().for_each(defang);
    headers.values_mut().chain(query.values_mut()).for_each(defang);
}
