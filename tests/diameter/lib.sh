# Shared shell helpers for the Diameter interop scripts (tests/interop/diameter-*.sh) and
# scripts/bench-diameter.sh. Source it; it sets: T (a temp dir removed at exit), DIAMETER_PEER,
# REPO. Every process is started under `timeout` and stopped by its PID at exit.
# shellcheck shell=bash

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DIAMETER_PEER=${DIAMETER_PEER:-target/debug/diameter-peer}
case "$DIAMETER_PEER" in /*) ;; *) DIAMETER_PEER="$REPO/$DIAMETER_PEER" ;; esac
DDIR="$REPO/tests/diameter"
T=$(mktemp -d /tmp/corelab-diameter.XXXXXX)
FAILED=0
PASSED=0
_PIDS=()

_cleanup() {
  local pid
  for pid in "${_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "${KEEP_TMP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap _cleanup EXIT

# pass/fail NAME [DETAIL]
pass() { PASSED=$((PASSED + 1)); echo "PASS: $1${2:+ ($2)}"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $1${2:+ ($2)}"; }
# check NAME CMD...: PASS when CMD succeeds.
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }
# check_grep NAME FILE ERE: PASS when FILE has a line matching ERE.
check_grep() { if grep -aqE -- "$3" "$2"; then pass "$1"; else fail "$1" "no line matching /$3/ in $(basename "$2")"; fi; }
# finish: the summary line and the exit status.
finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start NAME SECS CMD...: runs CMD under `timeout SECS` in the background, output to $T/NAME.log;
# sets LAST_PID (the timeout process: SIGINT/SIGTERM sent to it reach CMD).
start() {
  local name=$1 secs=$2; shift 2
  timeout "$secs" "$@" >"$T/$name.log" 2>&1 &
  LAST_PID=$!
  _PIDS+=("$LAST_PID")
}

# child_of PID: the command `timeout` runs (for signals timeout does not forward, e.g. SIGUSR1).
child_of() { pgrep -P "$1" | head -1; }

# wait_for FILE ERE SECS: wait until FILE has a line matching ERE.
wait_for() {
  local file=$1 re=$2 secs=$3 i
  for ((i = 0; i < secs * 10; i++)); do
    grep -aqE -- "$re" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# stop PID [SIGNAL]: signal and reap one of our processes; returns its exit status.
stop() {
  kill "-${2:-TERM}" "$1" 2>/dev/null || true
  local rc=0
  wait "$1" 2>/dev/null || rc=$?
  return $rc
}

# reap PID: wait for it and return its exit status.
reap() { local rc=0; wait "$1" 2>/dev/null || rc=$?; return $rc; }

# fd_conf NAME IDENTITY REALM PORT [EXTRA_LINE...]: writes $T/NAME.conf for freeDiameterd with a
# self-signed certificate whose CN is IDENTITY (freeDiameter insists on TLS_Cred even when every peer
# is No_TLS, and on the CN matching the Identity). No SCTP, no TLS port, no IPv6.
fd_conf() {
  local name=$1 ident=$2 realm=$3 port=$4; shift 4
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/$name.key" -out "$T/$name.cert" -days 2 \
    -subj "/CN=$ident" >/dev/null 2>&1
  {
    echo "Identity = \"$ident\";"
    echo "Realm = \"$realm\";"
    echo "Port = $port;"
    echo "SecPort = 0;"
    echo "No_SCTP;"
    echo "No_IPv6;"
    echo "TLS_Cred = \"$T/$name.cert\", \"$T/$name.key\";"
    echo "TLS_CA = \"$T/$name.cert\";"
    local line
    for line in "$@"; do echo "$line"; done
  } >"$T/$name.conf"
}

FD_EXT=/usr/lib/freeDiameter

# need_binary: fail early (exit 1) when the diameter-peer binary is missing.
need_binary() {
  if [ ! -x "$DIAMETER_PEER" ]; then
    echo "FAIL: $DIAMETER_PEER not built (cargo build -p diameter-peer)"
    exit 1
  fi
}
