# Sourced by the desktop CI scripts: run a named step, time it, remember its
# result, and print a summary of all steps at the end.
#   run_step NAME CMD...    runs CMD (output as it comes), records ok/FAILED and seconds
#   skip_step NAME WHY      records a step that did not run, and why
#   summary TITLE           prints the table; exits 1 if any step failed, else 0

declare -a STEP_NAMES=() STEP_RESULTS=() STEP_SECS=()
STEPS_FAILED=0

run_step() {
    local name="$1"; shift
    printf '\n==================== %s ====================\n$ %s\n' "$name" "$*"
    local start=$SECONDS rc
    "$@"
    rc=$?
    local took=$((SECONDS - start))
    STEP_NAMES+=("$name")
    STEP_SECS+=("$took")
    if [ "$rc" -eq 0 ]; then
        STEP_RESULTS+=("ok")
    else
        STEP_RESULTS+=("FAILED (exit $rc)")
        STEPS_FAILED=1
    fi
    printf -- '---- %s: %s in %ss\n' "$name" "${STEP_RESULTS[-1]}" "$took"
    return "$rc"
}

skip_step() {
    STEP_NAMES+=("$1"); STEP_RESULTS+=("skipped: $2"); STEP_SECS+=(0)
    printf -- '---- %s: skipped (%s)\n' "$1" "$2"
}

summary() {
    printf '\n==================== summary: %s ====================\n' "$1"
    local i total=0
    for i in "${!STEP_NAMES[@]}"; do
        printf '  %-40s %-28s %5ss\n' "${STEP_NAMES[$i]}" "${STEP_RESULTS[$i]}" "${STEP_SECS[$i]}"
        total=$((total + STEP_SECS[i]))
    done
    printf '  %-40s %-28s %5ss\n' "total" "" "$total"
    if [ "$STEPS_FAILED" -ne 0 ]; then
        printf 'RESULT (%s): FAILED\n' "$1"
        exit 1
    fi
    printf 'RESULT (%s): all steps passed\n' "$1"
    exit 0
}
