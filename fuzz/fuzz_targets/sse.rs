//! cargo-fuzz target `sse`: runs the check in `checks/sse.rs` (what it
//! fuzzes and what it asserts is said there) on each input.
#![no_main]

#[path = "../checks/sse.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
