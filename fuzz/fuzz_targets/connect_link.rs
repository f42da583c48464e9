//! cargo-fuzz target `connect_link`: runs the check in `checks/connect_link.rs` (what it
//! fuzzes and what it asserts is said there) on each input.
#![no_main]

#[path = "../checks/connect_link.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
