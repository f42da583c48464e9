//! cargo-fuzz target `stdin_line`: runs the check in `checks/stdin_line.rs` (what it
//! fuzzes and what it asserts is said there) on each input.
#![no_main]

#[path = "../checks/stdin_line.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
