#!/usr/bin/env bash
# The one command that runs every check of mcp-bridge on a fresh machine:
#   1. scripts/install-test-peers.sh   (pinned npm + Python test peers)
#   2. cargo fmt --check
#   3. cargo build
#   4. cargo clippy --all-targets -- -D warnings
#   5. cargo test --all-targets --no-fail-fast (unit + integration + conformance)
#   6. cargo test --doc                  (skipped if the crate has no lib target)
# Every step runs even if an earlier one failed (except that the tests need
# a successful build), then a summary is printed; the exit status is non-zero if any step
# failed. --locked is used when Cargo.lock is committed.
#
# Environment: CARGO_TEST_ARGS (extra args after `--` for cargo test, e.g.
# "--test-threads=1"), SKIP_PEER_INSTALL=1 (peers already installed).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"

LOG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/mcp-bridge-test-all.XXXXXX")"
declare -a STEP_NAMES=() STEP_RESULTS=() STEP_SECS=()
failed=0

banner() { printf '\n==================== %s ====================\n' "$*"; }

# run_step NAME CMD...: runs CMD, tees its output to $LOG_DIR/<n>.log.
run_step() {
    local name="$1"; shift
    local log="$LOG_DIR/${#STEP_NAMES[@]}.log"
    banner "$name"
    printf '$ %s\n' "$*"
    local start=$SECONDS rc
    "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    STEP_NAMES+=("$name")
    STEP_SECS+=("$((SECONDS - start))")
    if [ "$rc" -eq 0 ]; then
        STEP_RESULTS+=("ok")
    else
        STEP_RESULTS+=("FAILED (exit $rc)")
        failed=1
    fi
    return "$rc"
}

skip_step() {
    STEP_NAMES+=("$1"); STEP_RESULTS+=("skipped: $2"); STEP_SECS+=(0)
}

LOCKED=()
if git -C "$ROOT" ls-files --error-unmatch Cargo.lock >/dev/null 2>&1; then
    LOCKED=(--locked)
fi
read -r -a TEST_ARGS <<<"${CARGO_TEST_ARGS:-}"

if [ "${SKIP_PEER_INSTALL:-0}" = 1 ]; then
    skip_step "install test peers" "SKIP_PEER_INSTALL=1"
else
    run_step "install test peers" bash "$ROOT/scripts/install-test-peers.sh"
fi
run_step "cargo fmt --check" cargo fmt --all --check
run_step "cargo build" cargo build "${LOCKED[@]}"
build_rc=$?
run_step "cargo clippy" cargo clippy "${LOCKED[@]}" --all-targets -- -D warnings
if [ "$build_rc" -eq 0 ]; then
    test_log="$LOG_DIR/${#STEP_NAMES[@]}.log"
    run_step "cargo test --all-targets" cargo test "${LOCKED[@]}" --all-targets --no-fail-fast -- "${TEST_ARGS[@]}"
    if [ -f "$ROOT/src/lib.rs" ]; then
        doc_log="$LOG_DIR/${#STEP_NAMES[@]}.log"
        run_step "cargo test --doc" cargo test "${LOCKED[@]}" --doc
    else
        skip_step "cargo test --doc" "no lib target"
    fi
else
    skip_step "cargo test --all-targets" "build failed"
    skip_step "cargo test --doc" "build failed"
fi

# ---------------------------------------------------------------- summary
banner "summary"
for i in "${!STEP_NAMES[@]}"; do
    printf '  %-28s %-30s %4ss\n' "${STEP_NAMES[$i]}" "${STEP_RESULTS[$i]}" "${STEP_SECS[$i]}"
done

# Sum cargo's "test result:" lines (all test binaries + doctests).
passed=0 failed_tests=0 ignored=0
for log in "${test_log:-}" "${doc_log:-}"; do
    [ -n "$log" ] && [ -f "$log" ] || continue
    read -r p f i < <(awk '/^test result:/ {
            for (k = 1; k <= NF; k++) {
                if ($(k) ~ /^passed;?$/) p += $(k-1);
                if ($(k) ~ /^failed;?$/) f += $(k-1);
                if ($(k) ~ /^ignored;?$/) n += $(k-1);
            } }
        END { printf "%d %d %d\n", p, f, n }' "$log")
    passed=$((passed + p)); failed_tests=$((failed_tests + f)); ignored=$((ignored + i))
done
if [ -n "${test_log:-}" ]; then
    echo
    grep -h -E '^test .* \.\.\. FAILED$' "$test_log" "${doc_log:-/dev/null}" | sed 's/^/  /' || true
    printf '\n  tests: %d passed, %d failed, %d ignored\n' "$passed" "$failed_tests" "$ignored"
fi
printf '  logs: %s\n' "$LOG_DIR"
if [ "$failed" -ne 0 ]; then
    printf '\nRESULT: FAILED\n'
    exit 1
fi
printf '\nRESULT: all steps passed\n'
