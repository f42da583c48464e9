#!/usr/bin/env bash
# The desktops Claude runs on, checked on every change (issue 21):
#   1. tools       what the steps need, installed only when missing:
#                  the Rust targets, mingw, Wine, gnome-keyring and D-Bus
#                  (apt), zig and cargo-zigbuild (PyPI, in a venv under target/)
#   2. windows     scripts/ci-windows.sh: the release .exe, its smoke suite
#                  under Wine (against the sandbox under Wine too), and the
#                  unit tests under Wine
#   3. macos       scripts/ci-macos.sh: every crate compiled for
#                  aarch64-apple-darwin and x86_64-apple-darwin, up to the link
#   4. keychain    tests/keyring.rs against a real Secret Service:
#                  gnome-keyring in a private D-Bus session
# Each step's time is printed, then a summary; the exit status is non-zero
# if any step failed. Every step runs even when an earlier one failed,
# except those that need what failed.
#
# Environment: SKIP_DESKTOP_INSTALL=1 (the tools are there already),
# DESKTOP_STEPS="windows macos keychain" (a subset).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# shellcheck source=scripts/ci-steps.sh
source "$ROOT/scripts/ci-steps.sh"

WANT="${DESKTOP_STEPS:-windows macos keychain}"
want() { [[ " $WANT " == *" $1 "* ]]; }

if [ "${SKIP_DESKTOP_INSTALL:-0}" = 1 ]; then
    skip_step "desktop tools" "SKIP_DESKTOP_INSTALL=1"
    tools_rc=0
else
    run_step "desktop tools" bash "$ROOT/scripts/install-desktop-tools.sh"
    tools_rc=$?
fi

if [ "$tools_rc" -ne 0 ]; then
    skip_step "windows" "the tools did not install"
    skip_step "macos" "the tools did not install"
    skip_step "keychain" "the tools did not install"
else
    # Each sub-script prints its own steps' times; here, its total.
    if want windows; then run_step "windows" bash "$ROOT/scripts/ci-windows.sh"; fi
    if want macos; then run_step "macos" bash "$ROOT/scripts/ci-macos.sh"; fi
    if want keychain; then run_step "keychain" bash "$ROOT/scripts/ci-keychain.sh"; fi
fi

summary "desktops"
