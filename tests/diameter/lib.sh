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

# reserved_ports N: N distinct free ports below the kernel's ephemeral range (ip_local_port_range),
# one a line, for listeners whose ports must be known long before they bind (a capture filter): no
# outgoing connection of another process can take one in the meantime, as it can a free_port.
reserved_ports() {
  python3 - "$1" <<'PY'
import random, socket, sys
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
n, out = int(sys.argv[1]), []
for p in random.sample(range(max(1024, lo - 12000), lo), min(lo - 1024, 12000)):
    if len(out) == n:
        break
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        out.append(p)
    except OSError:
        pass
    finally:
        s.close()
print("\n".join(map(str, out)))
PY
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

# ---------------------------------------------------------------- corelab's PCC nodes (issue 10)
# `dra`, `pcrf` and `pcc-emulator` from the workspace (CORELAB_BIN, default target/debug), each
# with a TOML config in $T, SQLite in $T/NAME (unless the config names a store), admin HTTP and
# gRPC on ephemeral ports, ready file $T/NAME.ready.json (its addresses: diameter, admin, grpc).
CORELAB_BIN=${CORELAB_BIN:-target/debug}
declare -A NODE_PIDS=() # NAME -> the `timeout` PID of a node started by node_start
case "$CORELAB_BIN" in /*) ;; *) CORELAB_BIN="$REPO/$CORELAB_BIN" ;; esac

# need_bins NAME...: fail early (exit 1) when a workspace binary is missing.
need_bins() {
  local b
  for b in "$@"; do
    if [ ! -x "$CORELAB_BIN/$b" ]; then
      echo "FAIL: $CORELAB_BIN/$b not built (cargo build -p corelab-dra -p corelab-pcrf -p pcc-emulator)"
      exit 1
    fi
  done
}

# node_start NAME BINARY CONFIG_TEXT [SECS]: writes $T/NAME.toml (with [node] data_dir $T/NAME
# prepended), starts $CORELAB_BIN/BINARY -c it under `timeout SECS` (default 300) and waits up to
# NODE_READY_SECS (default 60: debug builds on a loaded machine start slowly) for its ready file. Returns 1 (and prints its log's tail) when it does not come up.
node_start() {
  local name=$1 bin=$2 conf=$3 secs=${4:-300} i
  mkdir -p "$T/$name"
  printf '[node]\ndata_dir = "%s"\n%s\n' "$T/$name" "$conf" >"$T/$name.toml"
  rm -f "$T/$name.ready.json"
  start "$name" "$secs" "$CORELAB_BIN/$bin" -c "$T/$name.toml" --ready-file "$T/$name.ready.json" \
    --admin-listen 127.0.0.1:0 --grpc-listen 127.0.0.1:0
  local pid=$LAST_PID
  NODE_PIDS[$name]=$pid
  for ((i = 0; i < ${NODE_READY_SECS:-60} * 10; i++)); do
    [ -s "$T/$name.ready.json" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$name did not become ready:"; tail -5 "$T/$name.log"
  return 1
}

# addr_of NAME KEY: an address from NAME's ready file (diameter, admin, grpc).
addr_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/$1.ready.json" "$2"; }
# port_of NAME: NAME's Diameter port.
port_of() { local a; a=$(addr_of "$1" diameter); echo "${a##*:}"; }

# admin_get NAME PATH: the body of GET PATH on NAME's admin HTTP (empty on error).
admin_get() {
  python3 -c 'import sys,urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
    "http://$(addr_of "$1" admin)$2" 2>/dev/null
}
# json_len NAME PATH: the length of the JSON array at PATH (-1 when it cannot be read).
json_len() {
  admin_get "$1" "$2" | python3 -c 'import json,sys
try: print(len(json.load(sys.stdin)))
except Exception: print(-1)'
}
# metric_of NAME PREFIX: the sum of NAME's /metrics lines starting with PREFIX (0 when none).
metric_of() {
  admin_get "$1" /metrics | awk -v p="$2" 'index($0, p) == 1 {s += $NF} END {print s + 0}'
}
# check_empty NAME PATH WHAT: PASS when NAME's GET PATH is an empty JSON array.
check_empty() {
  local n; n=$(json_len "$1" "$2")
  if [ "$n" = 0 ]; then pass "$3"; else fail "$3" "$2 has $n entries: $(admin_get "$1" "$2" | head -c 600)"; fi
}

# dra_conf HOST REALM ROLE MODE PCRF_HOST PCRF_ADDR [EXTRA]: a `dra` config (ephemeral Diameter
# port or $DIAMETER_PORT, Tw 30 s, audit off, binding_cleanup $DRA_BINDING_CLEANUP or true); EXTRA
# is appended (e.g. a [store] section).
dra_conf() {
  printf '[diameter]\nlisten = "127.0.0.1:%s"\norigin_host = "%s"\norigin_realm = "%s"\ntw_secs = 30\n' \
    "${DIAMETER_PORT:-0}" "$1" "$2"
  printf '[dra]\nrole = "%s"\nmode = "%s"\nbinding_cleanup = %s\n[audit]\nlifetime_secs = 0\n' "$3" "$4" \
    "${DRA_BINDING_CLEANUP:-true}"
  printf '[[pcrf]]\nhost = "%s"\naddress = "%s"\n%s\n' "$5" "$6" "${7:-}"
}
# pcrf_conf HOST REALM ROLE [EXTRA]: a `pcrf` config; EXTRA e.g. an [s9] section.
pcrf_conf() {
  printf '[diameter]\nlisten = "127.0.0.1:%s"\norigin_host = "%s"\norigin_realm = "%s"\ntw_secs = 30\n' \
    "${DIAMETER_PORT:-0}" "$1" "$2"
  printf '[pcrf]\nrole = "%s"\n%s\n' "$3" "${4:-}"
}

# ---------------------------------------------------------------- tshark (Wireshark's dissector as oracle)
# capture_start NAME FILTER PROBE_PORT: tshark on lo with capture FILTER into $T/NAME.pcapng; returns
# once a probe SYN to the (closed) PROBE_PORT, which FILTER must match, shows in the file (dumpcap
# announces "Capturing on" before its filter is live). Sets CAPTURE_PID. Returns 1 when not live.
capture_start() {
  local name=$1 filter=$2 probe=$3 i
  start "$name" "${CAPTURE_SECS:-600}" tshark -i lo -f "$filter" -w "$T/$name.pcapng"
  CAPTURE_PID=$LAST_PID
  wait_for "$T/$name.log" "Capturing on" 15 || return 1
  for ((i = 0; i < 100; i++)); do
    python3 -c "import socket; s=socket.socket(); s.settimeout(0.2); s.connect_ex(('127.0.0.1', $probe))"
    [ "$(tshark -r "$T/$name.pcapng" 2>/dev/null | wc -l)" -gt 0 ] && return 0
    sleep 0.1
  done
  return 1
}
# capture_stop: let the last frames reach the file, then stop tshark.
capture_stop() { sleep 0.5; stop "$CAPTURE_PID" INT >/dev/null 2>&1; }

# tshark_decode_checks TAG PCAP PORT...: dissect PCAP (with "${TSHARK[@]}") with every PORT decoded
# as Diameter and check: frames captured; no malformed or Warning
# frame (a TCP RST without payload is not a Diameter problem; an unknown AVP or vendor is a
# Warning: see use_corelab_dictionary); every TCP payload dissects as
# Diameter (a broken header or first AVP shows as "Continuation", not as malformed). Writes the
# PDUs (tshark_pdus.py: frame, command, R/A, application, Result-Code) to PCAP.pdus.
tshark_decode_checks() {
  local tag=$1 pcap=$2 p; shift 2
  chmod a+r "$pcap"
  local ts=("${TSHARK[@]}" -r "$pcap")
  for p in "$@"; do ts+=(-d "tcp.port==$p,diameter"); done
  local frames bad cont
  frames=$("${ts[@]}" 2>/dev/null | wc -l)
  check "$tag: capture has frames ($frames)" [ "$frames" -gt 0 ]
  bad=$("${ts[@]}" -Y '_ws.malformed || (_ws.expert.severity >= "Warning" && !(tcp.flags.reset == 1 && tcp.len == 0))' 2>/dev/null)
  if [ -z "$bad" ]; then pass "$tag: no malformed or Warning frame"; else fail "$tag: no malformed or Warning frame" "$bad"; fi
  cont=$("${ts[@]}" -Y 'tcp.len > 0 && !diameter.cmd.code' 2>/dev/null)
  if [ -z "$cont" ]; then pass "$tag: every TCP payload dissects as Diameter"; else fail "$tag: every TCP payload dissects as Diameter" "$cont"; fi
  "${ts[@]}" -T json --no-duplicate-keys 2>/dev/null | python3 "$DDIR/tshark_pdus.py" >"$pcap.pdus"
}
TSHARK=(tshark)

# use_corelab_dictionary: from now on tshark_decode_checks dissects with Wireshark's dictionary
# plus tests/diameter/wireshark/Custom.xml (our vendor AVP Corelab-Client-Session-Id). Wireshark
# 4.0 reads the Diameter dictionary from its data directory only (not the personal configuration
# directory), so $T/wireshark is a copy of /usr/share/wireshark (symbolic links) whose
# diameter/Custom.xml — the dictionary's slot for local additions — is ours, named by
# WIRESHARK_DATA_DIR. Wireshark ignores that variable when run as root, so root runs tshark as
# nobody (setpriv), which must then read $T and the captures.
use_corelab_dictionary() {
  local src=/usr/share/wireshark dst="$T/wireshark" f
  mkdir -p "$dst/diameter"
  for f in "$src"/*; do [ "$(basename "$f")" = diameter ] || ln -sfn "$f" "$dst/"; done
  for f in "$src"/diameter/*; do ln -sfn "$f" "$dst/diameter/"; done
  rm -f "$dst/diameter/Custom.xml"
  cp "$DDIR/wireshark/Custom.xml" "$dst/diameter/Custom.xml"
  chmod 755 "$T"
  chmod -R a+rX "$dst"
  if [ "$(id -u)" -eq 0 ]; then
    TSHARK=(setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$dst" WIRESHARK_DATA_DIR="$dst" tshark)
  else
    TSHARK=(env WIRESHARK_DATA_DIR="$dst" tshark)
  fi
}
