#!/usr/bin/env bash
# Benchmark (issue 10 §6; not run by CI, never pass/fail): PCC sessions per second through our
# stateful proxy-mode vDRA vs through freeDiameter's stateless rt_default relay, to the same vPCRF,
# in one script run. Release builds; loopback TCP.
#   (A) pcc-emulator load (PCEF: Gx CCR-I/CCA-I then CCR-T/CCA-T per session) -> `dra` (visited,
#       proxy, bindings on PostgreSQL, each committed before the request is forwarded; deleted when
#       the CCA-T passes back) -> `pcrf` (visited, no roaming, sessions on PostgreSQL)
#   (B) the same load -> freeDiameterd 1.2.1 + rt_default (every request to the vPCRF; dict_nasreq,
#       dict_dcca, dict_dcca_3gpp loaded) -> the same `pcrf`
# A throwaway PostgreSQL 15 cluster (scripts/pg-throwaway.sh, fsync on) holds both stores (schemas
# dra and pcrf). Closed loop: UES concurrent UEs, each establish -> terminate as fast as answers
# come, for DURATION seconds; ROUNDS rounds of (A, B). Prints sessions/s, failed sessions (%),
# p50/p99 of CCR-I and CCR-T, and each process's CPU over the run; `sessions/s` counts only
# sessions whose CCR-I and CCR-T were both answered 2001.
# BENCH_PERF=1: `perf record -g` of the vDRA during the first (A) run; the top of `perf report` is
# printed after the table (where its CPU goes).
# Usage: scripts/bench-dra.sh [DURATION_SECS=20] [UES=50] [ROUNDS=1]
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
DURATION=${1:-20}
UES=${2:-50}
ROUNDS=${3:-1}
# CORELAB_BIN=target/debug skips the release build (a trial of the script, not numbers).
if [ -z "${CORELAB_BIN:-}" ]; then
  CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0} cargo build --release -q -p corelab-dra -p corelab-pcrf -p pcc-emulator || exit 1
  export CORELAB_BIN=target/release
fi
# shellcheck source=../tests/diameter/lib.sh
source tests/diameter/lib.sh
need_bins dra pcrf pcc-emulator
command -v freeDiameterd >/dev/null || { echo "bench: freeDiameterd missing (scripts/install-peers.sh)"; exit 1; }

PG_DIR=$(mktemp -d /tmp/corelab-bench-pg.XXXXXX) # the postgres user cannot enter $T
stop_pg() {
  su postgres -s /bin/sh -c "/usr/lib/postgresql/15/bin/pg_ctl -D '$PG_DIR/data' -m immediate stop" >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
  _cleanup
}
trap stop_pg EXIT
PG_URL=$(bash scripts/pg-throwaway.sh "$PG_DIR" "$(free_port)") || { echo "bench: PostgreSQL did not start"; exit 1; }

HZ=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# pg_ticks: CPU ticks of the cluster's postmaster and its children (backends, WAL writer, ...).
pg_ticks() {
  local pm s=0 p
  pm=$(head -1 "$PG_DIR/data/postmaster.pid" 2>/dev/null) || { echo 0; return; }
  for p in "$pm" $(pgrep -P "$pm"); do s=$((s + $(ticks "$p"))); done
  echo "$s"
}

node_start vpcrf pcrf "$(pcrf_conf vpcrf.lab lab visited)
[store]
url = \"$PG_URL\"" 3600 || exit 1
node_start vdra dra "$(dra_conf vdra.lab lab visited proxy vpcrf.lab "$(addr_of vpcrf diameter)")
[store]
url = \"$PG_URL\"" 3600 || exit 1
FPORT=$(free_port)
echo "ALLOW_IPSEC pcc.lab" >"$T/acl.conf"
echo '* : "vpcrf.lab" += 100 ;' >"$T/rt.conf"
fd_conf fd relay.fd.bench.test fd.bench.test "$FPORT" \
  "TwTimer = 30;" \
  "LoadExtension = \"$FD_EXT/acl_wl.fdx\" : \"$T/acl.conf\";" \
  "LoadExtension = \"$FD_EXT/dict_nasreq.fdx\";" \
  "LoadExtension = \"$FD_EXT/dict_dcca.fdx\";" \
  "LoadExtension = \"$FD_EXT/dict_dcca_3gpp.fdx\";" \
  "LoadExtension = \"$FD_EXT/rt_default.fdx\" : \"$T/rt.conf\";" \
  "ConnectPeer = \"vpcrf.lab\" { ConnectTo = \"127.0.0.1\"; No_TLS; Port = $(port_of vpcrf); Realm = \"lab\"; };"
start fd 3600 freeDiameterd -c "$T/fd.conf"
FD=$LAST_PID
wait_for "$T/fd.log" "-> 'STATE_OPEN'.*'vpcrf.lab'" 15 || { echo "bench: freeDiameter did not connect to the vPCRF"; tail -5 "$T/fd.log"; exit 1; }

PIDS_CPU=("vdra:$(child_of "${NODE_PIDS[vdra]}")" "vpcrf:$(child_of "${NODE_PIDS[vpcrf]}")" "freeDiameterd:$(child_of "$FD")")
ROWS=()
RUN=0
# run LABEL DRA_ADDR: one load run; appends a table row.
run() {
  local label=$1 addr=$2 e
  RUN=$((RUN + 1))
  declare -A t0=()
  for e in "${PIDS_CPU[@]}"; do t0[${e%%:*}]=$(ticks "${e##*:}"); done
  local pg0; pg0=$(pg_ticks)
  local w0; w0=$(date +%s.%N)
  timeout $((DURATION + 60)) "$CORELAB_BIN/pcc-emulator" load --origin-host pcc.lab --origin-realm lab --dra "$addr" \
    --mode proxy --role pcef --ues "$UES" --duration "$DURATION" --first-imsi "$((1010000000000 + RUN * 1000000))" \
    --first-ip "10.$((100 + RUN)).0.1" --json -q --tw-secs 30 >"$T/load-$RUN.json" 2>"$T/load-$RUN.log" &
  local lp=$!
  local perf=""
  if [ -n "${BENCH_PERF:-}" ] && [ "$RUN" = 1 ] && command -v perf >/dev/null; then
    perf record -F 499 -g -o "$T/perf-vdra.data" -p "$(child_of "${NODE_PIDS[vdra]}")" -- sleep "$DURATION" \
      >"$T/perf.log" 2>&1 &
    perf=$!
  fi
  local lpid=""; local i
  for ((i = 0; i < 100; i++)); do lpid=$(pgrep -P "$lp" | head -1); [ -n "$lpid" ] && break; sleep 0.02; done
  local l0; l0=$(ticks "$lpid")
  # the load process's CPU, sampled while it lives (its last sample stays once it has exited)
  local lt=$l0 now
  while kill -0 "$lp" 2>/dev/null; do now=$(ticks "$lpid"); [ "$now" -gt 0 ] && lt=$now; sleep 0.2; done
  wait "$lp"
  [ -z "$perf" ] || wait "$perf"
  local w1; w1=$(date +%s.%N)
  local cpu
  cpu="pcc-emulator $(python3 -c "print(f'{100*($lt-$l0)/$HZ/($w1-$w0):.0f}')")%"
  for e in "${PIDS_CPU[@]}"; do
    cpu+=", ${e%%:*} $(python3 -c "print(f'{100*($(ticks "${e##*:}")-${t0[${e%%:*}]})/$HZ/($w1-$w0):.0f}')")%"
  done
  cpu+=", postgres $(python3 -c "print(f'{100*($(pg_ticks)-$pg0)/$HZ/($w1-$w0):.0f}')")%"
  local json; json=$(grep -a '^{' "$T/load-$RUN.json" | tail -1)
  if [ -z "$json" ]; then echo "bench: $label: no summary"; tail -5 "$T/load-$RUN.log"; ROWS+=("| $label | ? | ? | ? | ? | $cpu |"); return; fi
  ROWS+=("$(python3 - "$label" "$cpu" "$json" <<'PY'
import json, sys
label, cpu, j = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
ok, failed = j["sessions_ok"], j["sessions_failed"]
pct = 100.0 * failed / max(1, ok + failed)
p = j["procedures"]
def lat(name):
    s = p.get(name)
    return f'{s["latency_us"]["p50"] / 1000:.1f} / {s["latency_us"]["p99"] / 1000:.1f}' if s else "-"
print(f'| {label} | {j["sessions_per_sec"]:,.0f} | {failed} ({pct:.3f} %) | {lat("CCR-I")} | {lat("CCR-T")} | {cpu} |')
PY
)")
}

echo "bench: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), ${DURATION}s per run, $UES UEs, $ROUNDS round(s)"
for ((r = 1; r <= ROUNDS; r++)); do
  run "(A) pcc-emulator -> vDRA proxy (PostgreSQL bindings) -> vPCRF" "$(addr_of vdra diameter)"
  run "(B) pcc-emulator -> freeDiameter rt_default -> vPCRF" "127.0.0.1:$FPORT"
done
left=$(json_len vdra /bindings)
echo
echo "PCC sessions (Gx CCR-I + CCR-T) per second, ${DURATION}s per run, $UES concurrent UEs, loopback TCP, $(nproc) cores"
echo "| path | sessions/s | failed sessions | CCR-I p50 / p99 ms | CCR-T p50 / p99 ms | CPU (% of one core, over the run) |"
echo "|---|---:|---:|---:|---:|---|"
for r in "${ROWS[@]}"; do echo "$r"; done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); vDRA bindings left: $left; vPCRF sessions left: $(json_len vpcrf /sessions)"
if [ -s "$T/perf-vdra.data" ]; then
  echo
  echo "perf: the vDRA during run 1 (self time, top symbols)"
  perf report -i "$T/perf-vdra.data" --no-children --stdio --sort dso,symbol 2>/dev/null | grep -E '^ +[0-9]' |
    sed 's/[[:space:]-]*$//' | cut -c1-150 | head -25
fi
kill -INT "$FD" 2>/dev/null
