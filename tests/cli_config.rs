//! `mcp-bridge config path|init|check` and the help texts.

mod cli_support;

use cli_support::{Home, SANDBOX};

#[test]
fn init_writes_a_working_starter_and_never_overwrites() {
    let home = Home::new();
    let path = home.path().join("new-dir").join("config.toml");
    let p = path.to_str().unwrap();
    let r = home.run(&["--config", p, "config", "init"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.out.contains(p), "{}", r.all());
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(written.contains("[servers.sandbox]") && written.contains("# [servers.pipedream-slack]"));
    let r = home.run(&["--config", p, "config", "check"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let r = home.run(&["--config", p, "doctor"]);
    assert_eq!(r.code, 0, "a fresh starter passes the doctor: {}", r.all());

    std::fs::write(&path, "# mine\n[servers.mine]\nprovider = \"sandbox\"\n").unwrap();
    let r = home.run(&["--config", p, "config", "init"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.err.contains("already exists"), "{}", r.all());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "# mine\n[servers.mine]\nprovider = \"sandbox\"\n"
    );
}

#[test]
fn init_goes_to_the_default_location() {
    let home = Home::new();
    let r = home.run(&["config", "init"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(home.xdg().join("mcp-bridge").join("config.toml").is_file());
}

#[test]
fn path_matches_config_path() {
    let home = Home::new();
    let a = home.run(&["config", "path"]);
    let b = home.run(&["config-path"]);
    assert_eq!(a.code, 0);
    assert_eq!(a.out, b.out);
    assert_eq!(
        a.out.trim(),
        home.xdg().join("mcp-bridge").join("config.toml").to_str().unwrap()
    );
}

#[test]
fn check_validates() {
    let home = Home::new();
    let good = home.file("good.toml", SANDBOX);
    let r = home.run(&["--config", good.to_str().unwrap(), "config", "check"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.out.contains("valid"), "{}", r.all());
    let bad = home.file("bad.toml", "[servers.a]\nprovider = \"zappier\"\n");
    let r = home.run(&["--config", bad.to_str().unwrap(), "config", "check"]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.err.contains("did you mean `zapier`"), "{}", r.all());
}

#[test]
fn help_is_short_with_examples_and_exit_codes() {
    let home = Home::new();
    let r = home.run(&["--help"]);
    assert_eq!(r.code, 0);
    assert!(r.out.contains("Exit codes:") && r.out.contains("2  the command line or the config is wrong"));
    for sub in [
        vec!["serve"],
        vec!["doctor"],
        vec!["install"],
        vec!["tools"],
        vec!["call"],
        vec!["config"],
        vec!["check"],
        vec!["sandbox"],
        vec!["login"],
    ] {
        let mut args = sub.clone();
        args.push("--help");
        let r = home.run(&args);
        assert_eq!(r.code, 0, "{sub:?}");
        assert!(
            r.out.contains("Examples:"),
            "{sub:?} --help has no examples:\n{}",
            r.out
        );
        assert!(r.out.lines().count() < 60, "{sub:?} --help is long:\n{}", r.out);
    }
    let r = home.run(&["frobnicate"]);
    assert_eq!(r.code, 2, "a usage error exits 2");
}
