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

for target in aarch64-apple-darwin x86_64-apple-darwin; do
    run_step "macos: check $target" cargo-zigbuild check "${LOCKED[@]}" --target "$target" --all-targets
done

summary "macos"
