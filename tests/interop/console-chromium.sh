#!/usr/bin/env bash
# The lab console (issue 14 §3) in a real browser: `labctl up` starts the lab of deploy/lab.toml
# in a temporary directory and serves its console page, and headless Chromium (Debian's
# chromium + chromium-driver, driven by Selenium) loads it, runs every demo from the page, checks
# the ladders drawn from the nodes' wire taps (arrows per flow, their labels, lanes named by
# node), opens decoded messages by clicking arrows, downloads a flow's pcapng, and saves a
# screenshot. Prints PASS/FAIL per check and "N passed, M failed"; exit status 1 on any failure.
#   usage: tests/interop/console-chromium.sh     (KEEP=1 keeps the temp dir and the screenshot)
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${CORELAB_BIN:-$ROOT/target/debug}
TMP=$(mktemp -d /tmp/corelab-console.XXXXXX)
cleanup() {
    "$BIN/labctl" down --dir "$TMP/lab" >/dev/null 2>&1
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in chromium chromedriver; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool missing (scripts/install-peers.sh)"; exit 1; }
done
python3 -c 'import selenium' 2>/dev/null || { echo "FAIL: selenium missing (scripts/install-peers.sh)"; exit 1; }

sed "s#^dir = \"var/lab\"#dir = \"$TMP/lab\"#" "$ROOT/deploy/lab.toml" >"$TMP/lab.toml"
if ! CORELAB_BIN_DIR=$BIN timeout 120 "$BIN/labctl" up "$TMP/lab.toml" >"$TMP/up.log" 2>&1; then
    echo "FAIL: labctl up: $(tail -5 "$TMP/up.log")"
    exit 1
fi
# `labctl up` serves the console ([lab] console of the topology) and prints its URL.
URL=$(sed -n 's/^console: \(http:[^ ]*\)$/\1/p' "$TMP/up.log")
[ -n "$URL" ] || { echo "FAIL: labctl up printed no console URL: $(tail -5 "$TMP/up.log")"; exit 1; }
timeout 420 python3 "$ROOT/tests/console/console_check.py" "$URL" "$TMP/console.png"
