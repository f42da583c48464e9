#!/usr/bin/env bash
# The Windows build, checked under Wine (needs scripts/install-desktop-tools.sh):
#   1. the ProcessPrng shim   scripts/wine/processprng.c built with mingw as
#                             bcryptprimitives.dll (Wine 8 lacks the export that
#                             Rust's std imports); test-only, never shipped
#   2. release .exe           cargo build --release --target x86_64-pc-windows-gnu
#   3. Wine prefix            a private one under target/, made once
#   4. smoke under Wine       tests/windows_smoke.rs (--ignored there) against
#                             the .exe with the shim beside it
#   5. unit tests under Wine  cargo test --release --lib --target x86_64-pc-windows-gnu,
#                             with wine as the runner
# Each step's time is printed, then a summary.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
# shellcheck source=scripts/ci-steps.sh
source "$ROOT/scripts/ci-steps.sh"

TARGET=x86_64-pc-windows-gnu
LOCKED=()
if git -C "$ROOT" ls-files --error-unmatch Cargo.lock >/dev/null 2>&1; then
    LOCKED=(--locked)
fi
SHIM_DIR="$ROOT/target/wine-shim"
EXE="$ROOT/target/$TARGET/release/mcp-bridge.exe"

export WINEPREFIX="$ROOT/target/wine-prefix"
export WINEDEBUG=-all
# No Wine dialog may wait for a person: no Mono or Gecko installer prompts.
export WINEDLLOVERRIDES="mscoree,mshtml="
# The shim is found on Wine's PATH by every .exe (the unit test binaries
# too); the release .exe also gets a copy beside it, as a person would.
# (Wine maps drive Z: to /.)
export WINEPATH="Z:${SHIM_DIR//\//\\}"
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine

shim() {
    mkdir -p "$SHIM_DIR"
    x86_64-w64-mingw32-gcc -O2 -shared -s -o "$SHIM_DIR/bcryptprimitives.dll" \
        scripts/wine/processprng.c scripts/wine/bcryptprimitives.def -ladvapi32
}

release_exe() {
    cargo build "${LOCKED[@]}" --release --target "$TARGET" --bin mcp-bridge &&
        cp "$SHIM_DIR/bcryptprimitives.dll" "$(dirname "$EXE")/" &&
        ls -l "$EXE"
}

prefix() {
    # wineboot makes the prefix the first time (about half a minute) and
    # returns at once after that; wineserver -w waits until it is settled.
    # The last wait lets the server of this step end before the smoke suite
    # starts its own. Once (2026-12-08) a smoke test's .exe died of a signal
    # within the suite's first seconds, when that server may have been
    # ending; not reproduced since.
    wineboot -i >/dev/null 2>&1
    wineserver -w
    wine "$EXE" --version &&
        wineserver -w
}

smoke() {
    MCP_BRIDGE_WINDOWS_EXE="$EXE" cargo test "${LOCKED[@]}" --test windows_smoke -- --ignored --test-threads=2
}

unit_tests() {
    # Every unit test runs under Wine: none is skipped. (The one that could
    # not, a command source run through `echo` and `false`, now runs
    # `cmd /c echo` and `cmd /c exit 1` on Windows.)
    # --release: the dependencies are the ones the release .exe was built
    # with, so they are not compiled a second time for another profile.
    cargo test "${LOCKED[@]}" --release --lib --target "$TARGET"
}

run_step "windows: ProcessPrng shim (mingw)" shim
shim_rc=$?
if [ "$shim_rc" -eq 0 ]; then
    run_step "windows: release .exe" release_exe
    exe_rc=$?
else
    skip_step "windows: release .exe" "no shim"
    exe_rc=1
fi
if [ "$exe_rc" -eq 0 ]; then
    run_step "windows: Wine prefix" prefix &&
        run_step "windows: smoke suite under Wine" smoke
else
    skip_step "windows: smoke suite under Wine" "no .exe"
fi
if [ "$shim_rc" -eq 0 ]; then
    run_step "windows: unit tests under Wine" unit_tests
else
    skip_step "windows: unit tests under Wine" "no shim"
fi
wineserver -k >/dev/null 2>&1 || true

summary "windows"
