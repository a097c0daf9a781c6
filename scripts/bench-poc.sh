#!/usr/bin/env bash
# PoC join benchmark (issue 11 §6): joins per second driven by SIPp (tests/sipp/poc/bench-join.xml:
# INVITE with multipart SDP + CPIM -> 200 with the group session's ids -> ACK, BYE after HOLD_MS)
# against these targets on this machine, one after the other, at each rate of RATES:
#
#   poc-sqlite     SIPp -> poc-participating (PF-A) -> poc-controlling (CF) with group-server,
#                  release builds, SQLite stores (synchronous=full: every commit fsynced). The CF's
#                  XCAP cache is warm (one join per group first) and revalidated with
#                  If-None-Match (kept-alive HTTP/1.1) when older than xcap.revalidate_ms (the
#                  default, 200 ms); the group's ids are read from the store before every 200
#                  (claimed with INSERT ... ON CONFLICT DO NOTHING + SELECT by the group's first
#                  joiner, durable before its 200); one relay port per participant.
#   poc-postgres   the same on PostgreSQL (only when CORELAB_TEST_PG_URL is set: a database is
#                  created there and dropped after).
#   kamailio       SIPp -> Kamailio -> Kamailio -> SIPp UAS (tests/sipp/poc/bench-uas.xml), two
#                  stateful proxies (tests/kamailio/poc-proxy.cfg: tm, record_route, KAM_CHILDREN
#                  UDP workers each): the cost of two plain proxy hops with no state.
#
# Each step: RATE calls/s for STEP_SECONDS s (a bounded call count, -m RATE*STEP_SECONDS) from
# USERS users (user i joins group i % GROUP_COUNT), over UDP. Per step it prints the calls that ended,
# the failed ones, the rate SIPp really offered (calls started over the span), the INVITE -> 200
# and BYE -> 200 percentiles (p50/p99, SIPp's -trace_rtt, ms resolution), and the CPU time per
# call of the target's processes (PF + CF + group-server / both Kamailios) and of the UAS.
# Nothing passes or fails on timing: the numbers go to docs/benchmarks.md by hand.
#
#   usage: bash scripts/bench-poc.sh                      (about 3 minutes with the defaults)
#   env:   TARGETS="poc-sqlite kamailio" (poc-postgres added when CORELAB_TEST_PG_URL is set)
#          RATES="100 200 400 800" STEP_SECONDS=8 HOLD_MS=1000 USERS=4000 GROUP_COUNT=20
#          KAM_CHILDREN=4 NICE=-10 NO_BUILD=1 KEEP=1 CORELAB_BIN=target/release
#          PERF=1 (perf record -g of the target's processes during each step; the report, by
#          command, object and symbol, in the work dir: use with KEEP=1)
#
# As root it renices itself (NICE, default -10; SIPp and the targets inherit it) so that
# compilations running beside it disturb the measurement less. Every process runs under
# `timeout` and is stopped by its PID. Exit status: 0 when every target ran, 1 otherwise.
# shellcheck disable=SC2317
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PG_URL=${CORELAB_TEST_PG_URL:-}
DEFAULT_TARGETS="poc-sqlite kamailio"
[ -n "$PG_URL" ] && DEFAULT_TARGETS="poc-sqlite poc-postgres kamailio"
TARGETS=${TARGETS:-$DEFAULT_TARGETS}
RATES=${RATES:-100 200 400 800}
STEP_SECONDS=${STEP_SECONDS:-8}
HOLD_MS=${HOLD_MS:-1000}
USERS=${USERS:-4000}
GROUP_COUNT=${GROUP_COUNT:-20}
KAM_CHILDREN=${KAM_CHILDREN:-4}
BIN=${CORELAB_BIN:-$ROOT/target/release}
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
SCEN=$ROOT/tests/sipp/poc

WORK=$(mktemp -d /tmp/corelab-bench-poc.XXXXXX)
TMP=$WORK
# shellcheck source=bench-lib.sh
source "$ROOT/scripts/bench-lib.sh"
# shellcheck source=../tests/sip/poc-lab.sh
source "$ROOT/tests/sip/poc-lab.sh"

PIDS=()
DB=""
status=0
RESULTS=()

log() { echo "[$(date -u +%H:%M:%S)] $*"; }

cleanup() {
    local pid
    poc_lab_stop
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    [ -n "$DB" ] && psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1
    if [ "${KEEP:-0}" = 1 ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" = 0 ]; then renice -n "${NICE:--10}" -p $$ >/dev/null; fi
if [ "${NO_BUILD:-0}" != 1 ]; then
    log "cargo build --release (group-server, poc-controlling, poc-participating)"
    (cd "$ROOT" && cargo build --release -q -p corelab-group-server -p corelab-poc-controlling \
        -p corelab-poc-participating --bins) || exit 1
fi

# joins.csv: "user;group", user i joins group i % GROUP_COUNT.
python3 - "$WORK/joins.csv" "$USERS" "$GROUP_COUNT" "$POC_DOMAIN" <<'EOF'
import sys
path, users, groups, domain = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with open(path, "w") as f:
    f.write("SEQUENTIAL\n")
    for i in range(users):
        f.write(f"u{i:05d};sip:g{i % groups:03d}@{domain}\n")
EOF

# step NAME ADDR RATE TARGET_PID...: one bounded SIPp run; appends its line to RESULTS.
step() {
    local name=$1 addr=$2 rate=$3
    shift 3
    local calls=$((rate * STEP_SECONDS)) dir="$WORK/$name/rate-$rate" rc=0 t0 t1 u0 u1
    mkdir -p "$dir"
    t0=$(cpu_ticks "$@") u0=$(cpu_ticks "${UAS_PID:-}")
    local perf_pid=
    if [ "${PERF:-0}" = 1 ] && command -v perf >/dev/null; then
        local pid_list
        pid_list=$(IFS=,; echo "$*")
        perf record -q -F 499 -g -o "$dir/perf.data" -p "$pid_list" -- sleep "$STEP_SECONDS" \
            >"$dir/perf.log" 2>&1 &
        perf_pid=$!
    fi
    (cd "$dir" && exec timeout -k 2 $((STEP_SECONDS * 3 + 30)) sipp "$addr" -sf "$SCEN/bench-join.xml" \
        -inf "$WORK/joins.csv" -key domain a.lab -i 127.0.0.1 -p "$SIPP_PORT" \
        -m "$calls" -r "$rate" -rp 1000 -l $((rate * 4 + 100)) -d "$HOLD_MS" -nostdin \
        -recv_timeout 10000 -buff_size 4194304 -trace_stat -stf stat.csv -fd 1 \
        -trace_rtt -rtt_freq 1 -trace_err -error_file errors.log) >"$dir/sipp.out" 2>&1 || rc=$?
    t1=$(cpu_ticks "$@") u1=$(cpu_ticks "${UAS_PID:-}")
    if [ -n "$perf_pid" ]; then
        wait "$perf_pid"
        perf report -q -i "$dir/perf.data" --no-children --sort comm,dso,sym --percent-limit 1.5 \
            --stdio -g none >"$dir/perf.txt" 2>/dev/null
        log "  perf ($name $rate/s): $dir/perf.txt"
    fi
    RESULTS+=("$(python3 - "$dir" "$name" "$rate" "$calls" "$rc" "$((t1 - t0))" "$((u1 - u0))" "$(getconf CLK_TCK)" <<'EOF'
import csv, glob, sys
d, name, rate, calls, rc = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
hz = int(sys.argv[8])
cpu = f"{int(sys.argv[6]) * 1000 / hz / calls:.2f}"
uas = f"{int(sys.argv[7]) * 1000 / hz / calls:.2f}"
try:
    rows = list(csv.reader(open(f"{d}/stat.csv"), delimiter=";"))
    s = dict(zip(rows[0], rows[-1]))
    ok, failed = int(s["SuccessfulCall(C)"]), int(s["FailedCall(C)"])
except Exception:
    print(f"{name:13} {rate:6} no stats (sipp exit {rc})"); sys.exit()
rtd = {1: [], 2: []}
starts = []
for f in glob.glob(f"{d}/*_rtt.csv"):
    for line in open(f):
        p = line.strip().split(";")
        if len(p) == 3 and p[2] in ("1", "2"):
            rtd[int(p[2])].append(float(p[1]))
            if p[2] == "1":
                starts.append(float(p[0]) - float(p[1]))
span = (max(starts) - min(starts)) / 1000 if len(starts) > 1 else 0
offered = round((len(starts) - 1) / span) if span > 0 else 0
def pct(v, q):
    v = sorted(v)
    return f"{v[min(len(v) - 1, int(q * len(v)))]:.0f}" if v else "-"
print(f"{name:13} {rate:6} {offered:8} {ok:6} {failed:6} {pct(rtd[1], .5):>5}/{pct(rtd[1], .99):<5} "
      f"{pct(rtd[2], .5):>5}/{pct(rtd[2], .99):<5} {cpu:>8} {uas:>6}   sipp exit {rc}")
EOF
)")
    log "  ${RESULTS[-1]}"
}

SIPP_PORT=$(udp_tcp_free_port)

# run_poc NAME STORE: the lab, PF-A serving every user, groups created over XCAP, a warm-up, steps.
run_poc() {
    local name=$1 store=$2
    TMP=$WORK/$name
    mkdir -p "$TMP"
    local users
    users=$(python3 - "$USERS" "$SIPP_PORT" <<'EOF'
import sys
n, port = int(sys.argv[1]), sys.argv[2]
print("[" + ",".join(f'{{ uri = "sip:u{i:05d}@a.lab", contact = "sip:u{i:05d}@127.0.0.1:{port}" }}' for i in range(n)) + "]")
EOF
)
    BIN=$BIN poc_lab_start "$store" 500 "$users" "[]" || { log "$name: the lab did not start"; status=1; return; }
    local g members=()
    for ((i = 0; i < USERS; i++)); do members+=("sip:u$(printf %05d "$i")@a.lab"); done
    for ((g = 0; g < GROUP_COUNT; g++)); do
        local uri sub=()
        uri=sip:g$(printf %03d "$g")@$POC_DOMAIN
        for ((i = g; i < USERS; i += GROUP_COUNT)); do sub+=("${members[i]}"); done
        poc_group_xml "$uri" "${sub[0]}" 10000 "${sub[@]}" >"$TMP/g$g.xml"
        poc_put_group "$TMP/g$g.xml" "$uri" "${sub[0]}" >"$TMP/xcap.out" ||
            { log "$name: XCAP PUT of $uri failed: $(cat "$TMP/xcap.out")"; status=1; poc_lab_stop; return; }
    done
    log "$name: PF-A $PFA_SIP -> CF $CF_SIP, group-server $GS_XCAP; $GROUP_COUNT groups, $USERS users"
    # Warm-up: one join per group (the CF caches each document, the group's ids are stored).
    local saved_hold=$HOLD_MS saved_steps=$STEP_SECONDS
    HOLD_MS=100 STEP_SECONDS=1
    step "$name-warmup" "$PFA_SIP" "$GROUP_COUNT" "${POC_PIDS[@]}"
    HOLD_MS=$saved_hold STEP_SECONDS=$saved_steps
    unset 'RESULTS[-1]'
    local rate
    for rate in $RATES; do
        step "$name" "$PFA_SIP" "$rate" "${POC_PIDS[@]}"
        sleep 2
    done
    poc_lab_stop
}

# start_kamailio DIR PORT NEXT_HOP: one proxy; its PID appended to KAM_PIDS.
start_kamailio() {
    local dir=$1 port=$2 next=$3 pid
    mkdir -p "$dir"
    sed -e "s|__LISTEN_PORT__|$port|g" -e "s|__NEXT_HOP__|$next|g" -e "s|__CHILDREN__|$KAM_CHILDREN|g" \
        -e "s|__CTL_SOCKET__|$dir/kamailio.ctl|g" "$ROOT/tests/kamailio/poc-proxy.cfg" >"$dir/kamailio.cfg"
    kamailio -c -f "$dir/kamailio.cfg" >"$dir/check.log" 2>&1 || { log "kamailio config: $(tail -3 "$dir/check.log")"; return 1; }
    timeout 1200 kamailio -f "$dir/kamailio.cfg" -DD -E -m 1024 -M 32 -P "$dir/kamailio.pid" >"$dir/kamailio.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    KAM_PIDS+=("$pid")
    for _ in $(seq 100); do
        timeout 2 kamcmd -s "unix:$dir/kamailio.ctl" core.uptime >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    log "kamailio did not start: $(tail -3 "$dir/kamailio.log")"
    return 1
}

run_kamailio() {
    local dir=$WORK/kamailio p1 p2 uas rate
    mkdir -p "$dir"
    p1=$(udp_tcp_free_port) p2=$(udp_tcp_free_port) uas=$(udp_tcp_free_port)
    KAM_PIDS=()
    (cd "$dir" && exec timeout 1200 sipp -sf "$SCEN/bench-uas.xml" -i 127.0.0.1 -p "$uas" -nostdin \
        -buff_size 4194304 -trace_err -error_file uas-errors.log) >"$dir/uas.out" 2>&1 &
    UAS_PID=$!
    PIDS+=("$UAS_PID")
    if ! start_kamailio "$dir/k2" "$p2" "sip:127.0.0.1:$uas" ||
        ! start_kamailio "$dir/k1" "$p1" "sip:127.0.0.1:$p2"; then
        status=1
        return
    fi
    log "kamailio: SIPp -> 127.0.0.1:$p1 -> 127.0.0.1:$p2 -> SIPp UAS 127.0.0.1:$uas"
    for rate in $RATES; do
        step kamailio "127.0.0.1:$p1" "$rate" "${KAM_PIDS[@]}"
        sleep 2
    done
    for pid in "${KAM_PIDS[@]}" "$UAS_PID"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    UAS_PID=
}

log "bench-poc: $(sipp -v 2>/dev/null | grep -o 'SIPp v[0-9.]*' | head -1), $(kamailio -v | head -1 | cut -d' ' -f2-3); binaries $BIN; $(nproc) cores"
for target in $TARGETS; do
    case $target in
        poc-sqlite) run_poc poc-sqlite sqlite ;;
        poc-postgres)
            DB=corelab_bench_poc_$$
            if psql -q "$PG_URL" -c "CREATE DATABASE \"$DB\"" >/dev/null 2>&1; then
                run_poc poc-postgres "${PG_URL%/*}/$DB"
            else
                log "poc-postgres: CREATE DATABASE failed on $PG_URL"; status=1
            fi ;;
        kamailio) run_kamailio ;;
        *) log "unknown target $target"; status=1 ;;
    esac
done

echo
echo "target          rate  offered     ok failed  INVITE p50/p99 ms  BYE p50/p99  cpu ms/call (target, UAS)"
printf '%s\n' "${RESULTS[@]}"
echo "(STEP_SECONDS=$STEP_SECONDS HOLD_MS=$HOLD_MS USERS=$USERS GROUP_COUNT=$GROUP_COUNT KAM_CHILDREN=$KAM_CHILDREN)"
exit "$status"
