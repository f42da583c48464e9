#!/usr/bin/env bash
# macOS on every change, as far as this Linux machine can go (needs
# scripts/install-desktop-tools.sh): every crate, the bridge's macOS-only
# code and the C in aws-lc-sys included, compiled for aarch64-apple-darwin
# and x86_64-apple-darwin with zig as the C compiler (cargo-zigbuild check).
# The final link needs Apple's SDK frameworks (Security, CoreFoundation),
# which cannot be had here: README "Install" says how macOS archives are
# made on a Mac.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
# shellcheck source=scripts/ci-steps.sh
source "$ROOT/scripts/ci-steps.sh"

VENV="$ROOT/target/ci-tools/venv"
export PATH="$VENV/bin:$PATH"
LOCKED=()
if git -C "$ROOT" ls-files --error-unmatch Cargo.lock >/dev/null 2>&1; then
    LOCKED=(--locked)
fi

# Apple silicon with the tests and benches too; Intel for the library and
# binary only (the code is the same but for the architecture).
run_step "macos: check aarch64-apple-darwin (all targets)" \
    cargo-zigbuild check "${LOCKED[@]}" --target aarch64-apple-darwin --all-targets
run_step "macos: check x86_64-apple-darwin" \
    cargo-zigbuild check "${LOCKED[@]}" --target x86_64-apple-darwin

summary "macos"
