//! cargo-fuzz target `browser_gate`: runs the check in `checks/browser_gate.rs`
//! (what it fuzzes and what it asserts is said there) on each input.
#![no_main]

#[path = "../checks/browser_gate.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
