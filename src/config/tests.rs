use super::*;

#[test]
fn parses_a_full_entry() {
    let cfg = Config::parse(
        r#"
default = "a"
[servers.a]
url = "http://127.0.0.1:1/mcp"
transport = "streamable-http"
timeout = "2m"
headers = { X-Test = "1" }
query = { q = "v" }
"#,
        None,
    )
    .unwrap();
    let (name, e) = cfg.select(None).unwrap();
    assert_eq!(name, "a");
    assert_eq!(e.transport, Transport::StreamableHttp);
    assert_eq!(e.timeout(), Duration::from_secs(120));
    assert_eq!(e.headers.len(), 1);
}

#[test]
fn unknown_key_names_line_and_suggests() {
    let err = Config::parse(
        "[servers.a]\nurl = \"http://x\"\ntimout = 3\n",
        Some(Path::new("/c.toml")),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("/c.toml"), "{err}");
    assert!(err.contains("/c.toml:3,"), "{err}");
    assert!(err.contains("timout"), "{err}");
    assert!(err.contains("did you mean `timeout`"), "{err}");
}

#[test]
fn bad_transport_lists_choices() {
    let err = Config::parse("[servers.a]\ntransport = \"websocket\"\n", None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("config:2,"), "{err}");
    assert!(err.contains("streamable-http"), "{err}");
}

#[test]
fn default_must_name_a_server() {
    let err = Config::parse("default = \"b\"\n[servers.a]\nurl = \"http://x\"\n", None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("config:1,") && err.contains("names no server"), "{err}");
    let cfg = Config::parse(
        "default = \"both\"\n[servers.a]\nurl = \"http://x\"\n[servers.b]\nurl = \"http://y\"\n\
         [bundles.both]\nservers = [\"a\", \"b\"]\n",
        None,
    )
    .expect("a bundle may be the default");
    assert_eq!(cfg.default_name().unwrap(), "both");
}

#[test]
fn select_suggests_close_server_name() {
    let cfg = Config::parse("[servers.zapier]\n[servers.pipedream]\n", None).unwrap();
    let err = cfg.select(Some("zappier")).unwrap_err().to_string();
    assert!(err.contains("Did you mean `zapier`"), "{err}");
}

#[test]
fn durations() {
    assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
    assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
    assert_eq!(parse_duration("3 m"), Some(Duration::from_secs(180)));
    assert_eq!(parse_duration("3d"), None);
    assert_eq!(parse_duration("0s"), None);
}

#[test]
fn a_huge_or_tiny_timeout_is_a_config_error_not_a_panic() {
    for bad in ["1e30", "1e19", "90000", "1e-12", "-1", "nan", "inf"] {
        let err = Config::parse(&format!("[servers.a]\ntimeout = {bad}\n"), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("config:2, key `servers.a.timeout`") && err.contains("from 1ms to 24h"),
            "{bad}: {err}"
        );
    }
    for bad in ["99999999999999999999h", "1e400s", "25h", "0.0000001ms"] {
        assert_eq!(parse_duration(bad), None, "{bad}");
    }
    assert_eq!(parse_duration("24h"), Some(LONGEST));
    assert_eq!(duration_from_secs(f64::MAX), None);
}
