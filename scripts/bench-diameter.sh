#!/usr/bin/env bash
# Benchmark (not run by CI): Diameter request/answer pairs per second, corelab's diameter-peer vs
# freeDiameter 1.2.1 with its test_app extension, on loopback TCP, same duration and concurrency:
#   (a) freeDiameter + test_app client (benchmark mode) -> freeDiameter + test_app server
#   (b) diameter-peer load -> diameter-peer server (release build), a Gx CCR-I of the sample files
#       (~650 bytes with grouped AVPs: a heavier message than test_app's ~100-byte request)
#   (c) diameter-peer load -> freeDiameter + test_app server
#   (d) freeDiameter + test_app client -> diameter-peer server (our server answers test_app's
#       command 16777214 / application 16777215 only if it accepts commands outside its dictionary)
# Prints a table: pairs/s, errors, CPU seconds and % of one core for each process (from /proc).
# test_app is not in Debian's binary packages: it is built from the Debian source package under
# /tmp (needs a deb-src line, bison, flex, gcc, libfreediameter-dev; nothing is committed).
# Usage: scripts/bench-diameter.sh [DURATION_SECS=10] [CONCURRENCY=100]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONC=${2:-100}
export DEBIAN_FRONTEND=noninteractive
TA_DIR=/tmp/corelab-fd-test_app
TA=$TA_DIR/test_app.fdx
# (d) uses a copy built with -DNDEBUG: test_app's client ASSERTs that the answer echoes the random
# Test-AVP value of its request, which a canned answer cannot do (it still checks Result-Code 2001).
TA_ND=$TA_DIR/test_app-ndebug.fdx

# ---------------------------------------------------------------- tools
bash scripts/install-peers.sh >/dev/null
if [ ! -e "$TA" ] || [ ! -e "$TA_ND" ]; then
  echo "bench: building freeDiameter test_app from the Debian source package into $TA_DIR"
  if ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    cat >/etc/apt/sources.list.d/corelab-deb-src.sources <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends bison flex gcc libc6-dev libfreediameter-dev dpkg-dev >/dev/null
  rm -rf "$TA_DIR" && mkdir -p "$TA_DIR/src"
  (cd "$TA_DIR/src" && apt-get source -qq freediameter >/dev/null 2>&1)
  src=$(ls -d "$TA_DIR"/src/freediameter-*/extensions/test_app)
  cp "$src"/*.c "$src"/*.h "$src"/*.y "$src"/*.l "$TA_DIR/"
  (cd "$TA_DIR" &&
    bison --name-prefix=ta_conf --defines --output-file=ta_conf.tab.c ta_conf.y 2>/dev/null &&
    flex -Pta_conf -olex.ta_conf.c ta_conf.l &&
    gcc -O2 -shared -fPIC -I. -o test_app.fdx test_app.c lex.ta_conf.c ta_conf.tab.c ta_dict.c ta_cli.c \
      ta_bench.c ta_serv.c &&
    gcc -O2 -DNDEBUG -shared -fPIC -I. -o test_app-ndebug.fdx test_app.c lex.ta_conf.c ta_conf.tab.c ta_dict.c \
      ta_cli.c ta_bench.c ta_serv.c)
fi
cargo build --release -q -p diameter-peer
PEER=$PWD/target/release/diameter-peer

T=$(mktemp -d /tmp/corelab-bench-diameter.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "${KEEP_TMP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { local i; for ((i = 0; i < $3 * 10; i++)); do grep -aqE -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
bg() { local name=$1 secs=$2; shift 2; timeout "$secs" "$@" >"$T/$name.log" 2>&1 & LAST=$!; PIDS+=("$LAST"); }
child() { local c; c=$(pgrep -P "$1" | head -1); echo "${c:-$1}"; }
HZ=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# sample PID FILE: writes the process's CPU ticks to FILE every 0.2 s while it lives (the last
# value stays when it exits, so a short-lived process is measured too).
sample() { while [ -e "/proc/$1/stat" ]; do ticks "$1" >"$2.tmp" && mv "$2.tmp" "$2"; sleep 0.2; done; }
now() { date +%s.%N; }
# cpu NAME PID T0_TICKS T0_TIME: "NAME 12.3s (85%)" since T0.
cpu() {
  local t1 s1
  t1=$(ticks "$2"); s1=$(now)
  python3 -c "import sys; d=($t1-$3)/$HZ; w=$s1-$4; print(f'$1 {d:.1f} s CPU ({100*d/w:.0f}% of a core)')"
  python3 -c "print(($t1-$3)/$HZ)" >>"$T/cpu.acc"
}
# per_pair ANSWERS: CPU microseconds per request/answer pair, both processes (from $T/cpu.acc).
per_pair() {
  python3 -c "import sys; a=int(sys.argv[1]); c=sum(float(l) for l in open('$T/cpu.acc')); print(f'{c*1e6/a:.0f}' if a else '-')" "$1" 2>/dev/null || echo "?"
}

fd_conf() { # NAME IDENTITY PORT EXTRA...
  local name=$1 ident=$2 port=$3; shift 3
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/$name.key" -out "$T/$name.cert" -days 2 -subj "/CN=$ident" >/dev/null 2>&1
  {
    printf 'Identity = "%s";\nRealm = "bench.test";\nPort = %s;\nSecPort = 0;\nNo_SCTP;\nNo_IPv6;\n' "$ident" "$port"
    printf 'TLS_Cred = "%s", "%s";\nTLS_CA = "%s";\n' "$T/$name.cert" "$T/$name.key" "$T/$name.cert"
    local l; for l in "$@"; do echo "$l"; done
  } >"$T/$name.conf"
}
echo 'ALLOW_IPSEC *.bench.test' >"$T/acl.conf"
printf 'mode = server;\nbenchmark;\n' >"$T/ta-server.ta"
printf 'mode = client;\nbenchmark %s %s;\ndest-realm = "bench.test";\n' "$DURATION" "$CONC" >"$T/ta-client.ta"
# test_app's request (its defaults): command 16777214, application 16777215 advertised as
# Vendor-Specific-Application-Id with vendor 999999, Test-AVP code 16777215 vendor 999999 (Integer32).
cat >"$T/ta-request.toml" <<'EOF'
[[request]]
command = 16777214
application = 16777215
avps = [
  { name = "Session-Id", value = "${session}" },
  { name = "Destination-Realm", value = "bench.test" },
  { code = 16777215, vendor = 999999, mandatory = true, hex = "00000001" },
]
EOF
cat >"$T/ta-answers.toml" <<'EOF'
[[answer]]
command = 16777214
result_code = 2001
# test_app's dictionary requires Test-AVP in the answer (the value is not echoed: see TA_ND).
avps = [ { code = 16777215, vendor = 999999, mandatory = true, hex = "00000001" } ]
EOF
REQ=crates/diameter-peer/examples/gx-ccr-i.toml
ANS=crates/diameter-peer/examples/answers.toml
ROWS=()
row() { ROWS+=("$(printf '| %-58s | %8s | %7s | %8s | %s |' "$1" "$2" "$3" "$4" "$5")"); }

# A test_app client run (SIGUSR1 starts it), reading its Throughput line.
ta_client_run() { # LABEL CLIENT_CONF_NAME SERVER_PID_FOR_CPU SERVER_LABEL
  local label=$1 cname=$2 spid=$3 slabel=$4
  bg "$cname" $((DURATION + 40)) freeDiameterd -c "$T/$cname.conf"
  local ctl=$LAST
  wait_for "$T/$cname.log" "STATE_OPEN" 15 || { echo "bench: $label: test_app client did not connect"; tail -5 "$T/$cname.log"; return 1; }
  local cpid; cpid=$(child "$ctl")
  local c0 s0 t0; c0=$(ticks "$cpid"); s0=$(ticks "$spid"); t0=$(now)
  rm -f "$T/cpu.acc"
  kill -USR1 "$cpid" # test_app's benchmark trigger
  wait_for "$T/$cname.log" "Test Complete" $((DURATION + 20)) || true
  local tput errs
  tput=$(grep -a "Throughput:" "$T/$cname.log" | head -1 | awk '{print $(NF-3)}')
  errs=$(grep -a "error(s) received" "$T/$cname.log" | head -1 | awk '{print $(NF-2)}')
  local answers; answers=$(grep -a "answer(s) received" "$T/$cname.log" | tail -1 | awk '{print $(NF-2)}')
  local cc; cc=$(cpu "test_app client" "$cpid" "$c0" "$t0")
  local cs; cs=$(cpu "$slabel" "$spid" "$s0" "$t0")
  row "$label" "${tput:-?}" "${errs:-?}" "$(per_pair "${answers:-0}")" "$cc; $cs"
  kill -INT "$ctl" 2>/dev/null || true
  wait "$ctl" 2>/dev/null || true
}

our_load_run() { # LABEL PORT REQUESTS SERVER_PID SERVER_LABEL EXTRA_ARGS...
  local label=$1 port=$2 req=$3 spid=$4 slabel=$5; shift 5
  timeout $((DURATION + 30)) "$PEER" load --origin-host load.bench.test --origin-realm bench.test "$@" \
    --connect "127.0.0.1:$port" --requests "$req" --concurrency "$CONC" --duration "$DURATION" --json \
    >"$T/load-$port.log" 2>&1 &
  local tl=$!; PIDS+=("$tl")
  local lpid=""; local i
  for ((i = 0; i < 50; i++)); do lpid=$(pgrep -P "$tl" | head -1); [ -n "$lpid" ] && break; sleep 0.02; done
  local c0 s0 t0; c0=$(ticks "$lpid"); s0=$(ticks "$spid"); t0=$(now)
  rm -f "$T/cpu.acc"
  local tf="$T/load-${#ROWS[@]}.ticks"; echo "$c0" >"$tf"
  sample "$lpid" "$tf" & local sp=$!
  wait "$tl" || true
  wait "$sp" 2>/dev/null || true
  local t1; t1=$(now)
  local cl; cl=$(python3 -c "d=($(cat "$tf")-$c0)/$HZ; w=$t1-$t0; print(f'diameter-peer load {d:.1f} s CPU ({100*d/w:.0f}% of a core)')")
  python3 -c "print(($(cat "$tf")-$c0)/$HZ)" >>"$T/cpu.acc"
  local cs; cs=$(cpu "$slabel" "$spid" "$s0" "$t0")
  local json; json=$(grep -a '^{' "$T/load-$port.log" | tail -1)
  local pps errs answers
  answers=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['answers'])" "$json" 2>/dev/null || echo 0)
  pps=$(python3 -c "import json,sys; print(int(json.loads(sys.argv[1])['pairs_per_sec']))" "$json" 2>/dev/null || echo "?")
  errs=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['errors'])" "$json" 2>/dev/null || echo "?")
  [ "$pps" != "?" ] || tail -5 "$T/load-$port.log"
  row "$label" "$pps" "$errs" "$(per_pair "$answers")" "$cl; $cs"
}

echo "bench: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), duration ${DURATION}s, concurrency $CONC"

# ---------------------------------------------------------------- (a) freeDiameter <-> freeDiameter
P=$(free_port)
fd_conf ta-server tas.bench.test "$P" "LoadExtension = \"/usr/lib/freeDiameter/acl_wl.fdx\" : \"$T/acl.conf\";" \
  "LoadExtension = \"$TA\" : \"$T/ta-server.ta\";"
fd_conf ta-client tac.bench.test "$(free_port)" "LoadExtension = \"$TA\" : \"$T/ta-client.ta\";" \
  "ConnectPeer = \"tas.bench.test\" { ConnectTo = \"127.0.0.1\"; No_TLS; Port = $P; };"
bg ta-server $((DURATION * 3 + 90)) freeDiameterd -c "$T/ta-server.conf"
TAS=$LAST
wait_for "$T/ta-server.log" "daemon initialized" 15 || { echo "bench: freeDiameter test_app server did not start"; tail -5 "$T/ta-server.log"; exit 1; }
TAS_PID=$(child "$TAS")
ta_client_run "(a) freeDiameter test_app -> freeDiameter test_app" ta-client "$TAS_PID" "freeDiameterd server"

# ---------------------------------------------------------------- (c) our load -> freeDiameter test_app
our_load_run "(c) diameter-peer load -> freeDiameter test_app" "$P" "$T/ta-request.toml" "$TAS_PID" \
  "freeDiameterd server" --host-ip 127.0.0.1 --app 16777215
kill -INT "$TAS" 2>/dev/null || true; wait "$TAS" 2>/dev/null || true

# ---------------------------------------------------------------- (b) our load -> our server
P=$(free_port)
cat "$ANS" "$T/ta-answers.toml" >"$T/all-answers.toml"
bg our-server $((DURATION * 3 + 90)) "$PEER" server --origin-host server.bench.test --origin-realm bench.test \
  --host-ip 127.0.0.1 --app gx --app 16777215 --listen "127.0.0.1:$P" --answers "$T/all-answers.toml" -q
OURS=$LAST
wait_for "$T/our-server.log" "listening on" 10 || { echo "bench: our server did not start"; tail -5 "$T/our-server.log"; exit 1; }
OURS_PID=$(child "$OURS")
our_load_run "(b) diameter-peer load -> diameter-peer server (Gx CCR-I)" "$P" "$REQ" "$OURS_PID" \
  "diameter-peer server" --host-ip 127.0.0.1 --app gx

# ---------------------------------------------------------------- (d) test_app client -> our server
fd_conf ta-client2 tac2.bench.test "$(free_port)" "LoadExtension = \"$TA_ND\" : \"$T/ta-client.ta\";" \
  "ConnectPeer = \"server.bench.test\" { ConnectTo = \"127.0.0.1\"; No_TLS; Port = $P; };"
ta_client_run "(d) freeDiameter test_app -> diameter-peer server" ta-client2 "$OURS_PID" "diameter-peer server"
kill -INT "$OURS" 2>/dev/null || true; wait "$OURS" 2>/dev/null || true

echo
echo "Diameter request/answer pairs per second, ${DURATION}s, $CONC outstanding, loopback TCP, $(nproc) cores"
printf '| %-58s | %8s | %7s | %8s | %s |\n' "run" "pairs/s" "errors" "CPU µs/pair" "CPU per process (over the run's window)"
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..60})" "----------:" "--------:" "---------:" "-----"
for r in "${ROWS[@]}"; do echo "$r"; done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "note (d): test_app client built with -DNDEBUG (no check that the answer echoes its random Test-AVP)."
