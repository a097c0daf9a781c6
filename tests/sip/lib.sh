# Shared shell helpers for the SIP interop scripts that drive presence-server with a third-party
# peer (tests/interop/baresip-watcher.sh, tests/interop/kamailio-ims-core.sh). Source it after
# setting TMP (the run's temp dir), DEADLINE (in $SECONDS) and LOGS (files in $TMP whose tails
# `finish` prints on failure); it keeps the counters `passed` and `failed`.
# shellcheck shell=bash

passed=0
failed=0

# check NAME COMMAND...: PASS when COMMAND succeeds.
check() {
    local name=$1
    shift
    if "$@" >/dev/null 2>&1; then
        echo "PASS $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name"
        failed=$((failed + 1))
    fi
}

# finish: the summary line; on any failure the logs' tails and exit 1, else exit 0.
finish() {
    echo "$passed passed, $failed failed"
    if [ "$failed" -gt 0 ]; then
        local f
        for f in "${LOGS[@]}"; do
            [ -f "$TMP/$f" ] && { echo "--- $f (tail)"; tail -n 25 "$TMP/$f"; }
        done
        exit 1
    fi
    exit 0
}

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds, at most SECONDS and never past DEADLINE.
wait_for() {
    local until=$((SECONDS + $1))
    shift
    while [ $SECONDS -lt $until ] && [ $SECONDS -lt $DEADLINE ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    "$@" >/dev/null 2>&1
}

# json_get FILE KEY: a top-level value of a JSON file (the nodes' ready files).
json_get() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
