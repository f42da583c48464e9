//! The fuzz targets' seed corpus, replayed as ordinary tests: every file in
//! `fuzz/seeds/<target>/` goes through the same check the cargo-fuzz target
//! runs (`fuzz/checks/<target>.rs`, through the crate's public API), so an
//! API change that breaks a target fails here, and every input that ever
//! found a bug (kept in the seeds) stays a regression test. The fuzzing
//! itself runs in CI (`scripts/fuzz.sh`).

#[path = "../fuzz/checks/browser_gate.rs"]
mod browser_gate;
#[path = "../fuzz/checks/config.rs"]
mod config;
#[path = "../fuzz/checks/connect_link.rs"]
mod connect_link;
#[path = "../fuzz/checks/sse.rs"]
mod sse;
#[path = "../fuzz/checks/stdin_line.rs"]
mod stdin_line;

use std::path::PathBuf;

/// Fewer seeds than this means the corpus went missing, not that it is small.
const AT_LEAST: usize = 10;

/// Runs `check` on every seed of `target`; fails naming each seed whose
/// check failed.
fn replay(target: &str, check: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut seeds: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("read a seed").path())
        .collect();
    seeds.sort();
    assert!(seeds.len() >= AT_LEAST, "{} holds {} seeds", dir.display(), seeds.len());
    let failed: Vec<String> = seeds
        .iter()
        .filter(|path| {
            let input = std::fs::read(path).expect("read a seed");
            std::panic::catch_unwind(|| check(&input)).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(failed.is_empty(), "the {target} check failed on {failed:#?}");
}

#[test]
fn stdin_lines_that_ever_troubled_the_relay_are_handled() {
    replay("stdin_line", stdin_line::check);
}

#[test]
fn the_browser_gate_lets_through_only_https_and_http_to_this_machine() {
    replay("browser_gate", browser_gate::check);
}

#[test]
fn config_files_of_every_shape_parse_or_fail_cleanly() {
    replay("config", config::check);
}

#[test]
fn connect_link_recognisers_find_only_links_in_the_input() {
    replay("connect_link", connect_link::check);
}

#[test]
fn sse_bodies_read_the_same_however_they_are_cut() {
    replay("sse", sse::check);
}
