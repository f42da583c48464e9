#!/usr/bin/env bash
# What the desktop checks (scripts/ci-desktops.sh) and the release archives
# (scripts/release.sh) need, each installed only when missing, so a second
# run does nothing:
#   - Rust targets: x86_64-pc-windows-gnu, aarch64-apple-darwin, x86_64-apple-darwin
#   - Debian: gcc-mingw-w64-x86-64 (links the .exe), wine + wine64 (run it),
#     gnome-keyring + dbus (a real Secret Service for tests/keyring.rs)
#   - PyPI, in target/ci-tools/venv: ziglang and cargo-zigbuild (macOS up to the link)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/target/ci-tools/venv"
ZIGLANG_VERSION="0.17.1"
ZIGBUILD_VERSION="0.24.1"

targets=(x86_64-pc-windows-gnu aarch64-apple-darwin x86_64-apple-darwin)
installed="$(rustup target list --installed)"
missing=()
for t in "${targets[@]}"; do
    grep -qx "$t" <<<"$installed" || missing+=("$t")
done
if [ "${#missing[@]}" -gt 0 ]; then
    rustup target add "${missing[@]}"
else
    echo "rust targets: all there (${targets[*]})"
fi

packages=(gcc-mingw-w64-x86-64 wine wine64 gnome-keyring dbus)
need=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    echo "apt: installed ${need[*]}"
else
    echo "apt: all there (${packages[*]})"
fi

if [ -x "$VENV/bin/cargo-zigbuild" ] && [ -x "$VENV/bin/python-zig" ]; then
    echo "zig + cargo-zigbuild: there ($VENV)"
else
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "ziglang==$ZIGLANG_VERSION" "cargo-zigbuild==$ZIGBUILD_VERSION"
    echo "zig + cargo-zigbuild: installed in $VENV"
fi
