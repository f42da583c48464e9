#!/usr/bin/env bash
# Release archives with SHA-256 sums, reproducibly:
#   scripts/release.sh [TARGET…]
# Default targets (what a Linux x86_64 machine can build):
#   x86_64-unknown-linux-gnu   built with cargo-zigbuild against glibc 2.28, so the
#                              binary runs on any Linux from 2018 on, not only this one
#   x86_64-pc-windows-gnu      built with mingw-w64 (cargo-dist picks cargo-xwin for
#                              Windows on a Linux host, which cannot fetch its SDK here)
# On a Mac (Apple's SDK is needed to link): scripts/release.sh aarch64-apple-darwin x86_64-apple-darwin
#
# Out: dist/mcp-bridge-<version>-<target>.tar.gz (.zip for Windows), each holding the
# binary, README.md and the licence files, and dist/SHA256SUMS.
#
# Reproducible: the same commit and toolchain give the same bytes (checked: two clones at
# different paths built apart gave the same SHA256SUMS). SOURCE_DATE_EPOCH is
# the last commit's time; the archives have fixed times, owners and order; the paths of
# this machine (the checkout, ~/.cargo, ~/.rustup) are remapped out of the binaries; the
# build has its own target directory, so flags of other builds never mix in.
# Needs: scripts/install-desktop-tools.sh (the Rust targets, mingw, zig).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGETS=("$@")
if [ "${#TARGETS[@]}" -eq 0 ]; then
    TARGETS=(x86_64-unknown-linux-gnu x86_64-pc-windows-gnu)
fi
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
DIST="$ROOT/dist"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}"
export CARGO_TARGET_DIR="$ROOT/target/release-build"
export PATH="$ROOT/target/ci-tools/venv/bin:$PATH"
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
CARGO_HOME_DIR="${CARGO_HOME:-$HOME/.cargo}"
RUSTUP_HOME_DIR="${RUSTUP_HOME:-$HOME/.rustup}"
export RUSTFLAGS="--remap-path-prefix=$ROOT=/mcp-bridge --remap-path-prefix=$CARGO_HOME_DIR=/cargo --remap-path-prefix=$RUSTUP_HOME_DIR=/rustup"
# No build id that changes from build to build, on every linker used here.
export CFLAGS="-ffile-prefix-map=$ROOT=/mcp-bridge -ffile-prefix-map=$CARGO_HOME_DIR=/cargo"
export TZ=UTC LC_ALL=C

mkdir -p "$DIST"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
archives=()
for target in "${TARGETS[@]}"; do
    start=$SECONDS
    exe=mcp-bridge
    case "$target" in
        *-linux-gnu) cargo zigbuild --locked --release --target "$target.2.28" --bin mcp-bridge
                     built="$CARGO_TARGET_DIR/$target/release/$exe" ;;
        *-windows-gnu) exe=mcp-bridge.exe
                     cargo build --locked --release --target "$target" --bin mcp-bridge
                     built="$CARGO_TARGET_DIR/$target/release/$exe" ;;
        *) cargo build --locked --release --target "$target" --bin mcp-bridge
           built="$CARGO_TARGET_DIR/$target/release/$exe" ;;
    esac
    name="mcp-bridge-$VERSION-$target"
    dir="$stage/$name"
    mkdir -p "$dir"
    cp "$built" "$dir/$exe"
    if [[ "$target" == *windows* ]]; then
        # The PE symbol table names the import libraries rustc writes to a temp
        # directory of a random name (raw-dylib), so it differs from build to
        # build; the binary needs none of it (and is 7 MB smaller without).
        x86_64-w64-mingw32-strip --strip-all "$dir/$exe"
    fi
    cp README.md "$dir/"
    for f in LICENSE*; do if [ -e "$f" ]; then cp "$f" "$dir/"; fi; done
    find "$dir" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    chmod 0755 "$dir/$exe"
    if [[ "$target" == *windows* ]]; then
        out="$DIST/$name.zip"
        # Python's zipfile: fixed order and times, no extra fields.
        python3 - "$stage" "$name" "$out" <<'PY'
import os, sys, time, zipfile
stage, name, out = sys.argv[1:]
stamp = time.gmtime(int(os.environ["SOURCE_DATE_EPOCH"]))[:6]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for root, dirs, files in sorted(os.walk(os.path.join(stage, name))):
        dirs.sort()
        for f in sorted(files):
            path = os.path.join(root, f)
            info = zipfile.ZipInfo(os.path.relpath(path, stage), stamp)
            info.external_attr = (0o100755 if f.endswith(".exe") else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as fh:
                z.writestr(info, fh.read(), compresslevel=9)
PY
    else
        out="$DIST/$name.tar.gz"
        tar -C "$stage" --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 \
            --numeric-owner --format=gnu -cf - "$name" | gzip -9 -n >"$out"
    fi
    archives+=("$(basename "$out")")
    echo "---- $target: $(basename "$out") in $((SECONDS - start))s"
done
(cd "$DIST" && sha256sum "${archives[@]}" >SHA256SUMS && cat SHA256SUMS)
