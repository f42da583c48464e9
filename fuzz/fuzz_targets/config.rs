//! cargo-fuzz target `config`: runs the check in `checks/config.rs` (what it
//! fuzzes and what it asserts is said there) on each input.
#![no_main]

#[path = "../checks/config.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
