#!/usr/bin/env bash
# Benchmark harness (issue 7): builds mcp-bridge in release mode, installs
# the pinned peers (mcp-remote 0.15.1 and the rest of tests/peers), then runs
# `cargo bench --bench relay`, which measures mcp-bridge, mcp-remote, a
# direct Streamable HTTP client and a thin "stdio floor" relay side by side
# against one in-process sandbox:
#   a) cold start to the first tools/list answer   b) peak RSS
#   c) 1,000 sequential echo calls                  d) 256 calls in flight
#   e) one 32 MiB tool result (time and peak RSS), and e') the same through
#      the translated path (the bridge pinned to 2026-07-28, a 2025 client)
# It prints the table of medians with the ratios bridge/direct, bridge/floor and
# bridge/mcp-remote and the targets, and rewrites the generated part of
# bench/RESULTS.md. Extra arguments go to the bench, e.g.
#   bench/run.sh --rounds 3 --startups 3
# `bench/run.sh --network` runs the network mode instead (benches/relay/network.rs):
# the bridge, a direct client and mcp-remote through a loopback TCP proxy that
# delays every chunk (`--rtt-ms 50` by default), in front of the sandbox and
# server-everything, plain and behind a TLS front; cold start, warm start and
# sequential calls, written to its own section of bench/RESULTS.md; beside each
# sandbox, one that speaks 2026-07-28 alone, reached translated (issue 17).
# Figures are noisy on a loaded machine: the load average before and after is
# part of the output.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

scripts/install-test-peers.sh
cargo build --release --locked --bin mcp-bridge
echo "[bench] load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
cargo bench --locked --bench relay -- --markdown bench/RESULTS.md "$@"
