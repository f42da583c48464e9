#!/usr/bin/env bash
# The OS keychain against a real Secret Service (needs
# scripts/install-desktop-tools.sh): tests/keyring.rs, whose Secret Service
# tests are #[ignore]d in the plain suite, run here with --ignored inside a
# private D-Bus session (dbus-run-session) in which gnome-keyring's secrets
# component is started with a test keyring it creates and unlocks. The
# keyring lives in a temporary XDG_DATA_HOME, removed afterwards: no
# keyring of this machine's user is read or changed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
# shellcheck source=scripts/ci-steps.sh
source "$ROOT/scripts/ci-steps.sh"

LOCKED=()
if git -C "$ROOT" ls-files --error-unmatch Cargo.lock >/dev/null 2>&1; then
    LOCKED=(--locked)
fi
KEYRING_HOME="$(mktemp -d "${TMPDIR:-/tmp}/mcp-bridge-keyring.XXXXXX")"
trap 'rm -rf "$KEYRING_HOME"' EXIT

build() {
    cargo test "${LOCKED[@]}" --test keyring --no-run
}

in_session() {
    XDG_DATA_HOME="$KEYRING_HOME" XDG_RUNTIME_DIR="$KEYRING_HOME" dbus-run-session -- bash -c '
        set -e
        # --unlock reads the password on stdin; a new login keyring is made with it.
        printf "mcp-bridge-ci" | gnome-keyring-daemon --components=secrets --daemonize --unlock >/dev/null
        cargo test '"${LOCKED[*]}"' --test keyring -- --include-ignored
    '
}

run_step "keychain: build tests/keyring.rs" build &&
    run_step "keychain: tests against gnome-keyring" in_session

summary "keychain"
