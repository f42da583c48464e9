#!/usr/bin/env bash
# Fuzzing as CI runs it (from any directory):
#   1. cargo-fuzz, pinned, installed from crates.io when missing or another
#      version (`cargo install --locked`);
#   2. `cargo fuzz build` of every target: the fuzz crate is a workspace of
#      its own that `cargo test` never compiles, so this is where an API
#      change that breaks a target shows (the seeds are replayed under
#      `cargo test` by tests/fuzz_corpus.rs);
#   3. each target for FUZZ_SECONDS (default 30) from its committed seeds
#      (fuzz/seeds/<target>/) and what earlier runs learned
#      (fuzz/corpus/<target>/, ignored by git). A crash fails the script; its
#      input is in fuzz/artifacts/<target>/: fix the bug and add the input to
#      the seeds as `found-…` (fuzz/seeds/README.md).
# `--dev` (unless FUZZ_RELEASE=1): the targets and every crate under them
# unoptimised. The release build took 37 of a CI run's minutes on a busy
# 2-core machine, for runs of 30 s that only have to find what breaks
# quickly; the long runs the README reports use FUZZ_RELEASE=1.
# `-s none`: no AddressSanitizer (the code these targets reach is safe Rust;
# a panic or a failed check is what a crash means here). RUSTC_BOOTSTRAP=1
# lets the pinned stable toolchain (rust-toolchain.toml) take the flags
# cargo-fuzz passes. The long runs the README reports use the same commands
# with -max_total_time=600.
#
# Environment: FUZZ_SECONDS (0: build only), FUZZ_RELEASE=1 (optimised), FUZZ_TARGETS (space-separated;
# default: every target of fuzz/Cargo.toml).
set -euo pipefail

CARGO_FUZZ_VERSION=0.13.2
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT/fuzz"
export RUSTC_BOOTSTRAP=1
SECS="${FUZZ_SECONDS:-30}"
PROFILE=(--dev)
[ "${FUZZ_RELEASE:-0}" = 1 ] && PROFILE=()

say() { printf '[fuzz] %s\n' "$*"; }

if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
    say "installing cargo-fuzz $CARGO_FUZZ_VERSION from crates.io ..."
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

say "building every target ..."
cargo fuzz build "${PROFILE[@]}" -s none

[ "$SECS" -gt 0 ] || exit 0
read -r -a targets <<<"${FUZZ_TARGETS:-$(cargo fuzz list | tr '\n' ' ')}"
log="$(mktemp "${TMPDIR:-/tmp}/mcp-bridge-fuzz.XXXXXX")"
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    dirs=("corpus/$target")
    [ -d "seeds/$target" ] && dirs+=("seeds/$target")
    say "$target: ${SECS} s from ${dirs[*]} ..."
    if ! cargo fuzz run "$target" "${PROFILE[@]}" -s none "${dirs[@]}" -- \
        -max_total_time="$SECS" -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log"
        say "$target: CRASH (input saved under fuzz/artifacts/$target/)"
        exit 1
    fi
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    say "$target: ${runs:-?} executions in ${SECS} s, no crash"
done
rm -f "$log"
