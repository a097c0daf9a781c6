#!/usr/bin/env bash
# Presence load benchmark (issue 3, part 5): presence-server vs Kamailio's presence module, the same
# SIPp scenario (tests/sipp/bench-subscribe.xml: SUBSCRIBE -> 200 -> NOTIFY answered 200 ->
# un-SUBSCRIBE -> 200 -> terminating NOTIFY answered 200, one distinct watcher/presentity per
# call) against these targets on this machine, one after the other:
#
#   presence-sqlite      presence-server, SQLite (WAL, synchronous=FULL: every commit fsynced),
#                        every subscription committed before its 200
#   presence-postgres    presence-server, PostgreSQL 15 (fsync=on, synchronous_commit=on),
#                        every subscription committed before its 200
#   presence-postgres-2  two presence-server replicas (docs/presence.md "Replicas"), each its own SIP
#                        port, one PostgreSQL database, the config of presence-postgres; each half of
#                        the watchers registered through one replica and subscribing through the
#                        other; each step's load split evenly: one SIPp per replica at rate/2 with its
#                        own half of users.csv, started together, the step judged on both merged
#                        (not in the default TARGETS)
#   kamailio-fast        Kamailio 5.6 presence, SQLite (WAL), one SIP worker, subs_db_mode=2
#                        (write-back every db_update_period s): its fastest configuration
#   kamailio-durable     Kamailio 5.6 presence, PostgreSQL, $KAM_PG_CHILDREN SIP workers,
#                        subs_db_mode=1 (write-through before the 200): its durable configuration
#
# For each target: a fresh store, (presence-server only) REGISTER every watcher first, then the
# rate search: steps of $STEP_SECONDS s at 100, 200, 400, ... calls/s until a step fails, then
# $BISECT bisection steps, each against a freshly started target process (same store). A step
# passes (over every SIPp run of the step, when the load is split) when every call ended, fewer
# than 1 % failed (a call fails on an unexpected message or a wait longer than RECV_TIMEOUT_MS),
# SIPp really offered the rate (calls started over the step's span >= 90 % of the target), and the
# target kept up: the 99th percentile of SUBSCRIBE -> 200 is at most P99_LIMIT_MS (default
# 500 ms = T1, beyond which SIPp retransmits). For the best passing rate it prints SIPp's
# response-time percentiles (-trace_rtt, ms resolution) and the CPU time per call of the target's
# process trees (all replicas) and of PostgreSQL.
#
#   usage: bash scripts/bench-presence.sh            (about 10-15 minutes)
#   env:   TARGETS="presence-sqlite presence-postgres kamailio-fast kamailio-durable"
#          (or any of these and presence-postgres-2, e.g.
#          TARGETS="presence-postgres presence-postgres-2": one and two replicas in one run)
#          STEP_SECONDS=8 START_RATE=100 MAX_RATE=12800 BISECT=3 USERS=5000 KAM_USERS=100000
#          KAM_PG_CHILDREN=4 PS_POOL=8 RECV_TIMEOUT_MS=5000 P99_LIMIT_MS=500 NICE=-10
#          NO_BUILD=1 KEEP=1
#
# As root the script renices itself (NICE, default -10: SIPp, the targets and PostgreSQL inherit
# it) so that compilations running beside it disturb the measurement less.
#
# Every process runs under `timeout` and is stopped by its PID; the throwaway PostgreSQL cluster
# (scripts/pg-throwaway.sh) is stopped with pg_ctl. Numbers go to docs/benchmarks.md by hand;
# nothing here passes or fails on timing. Exit status: 0 when every target ran, 1 otherwise.
# SC2317 (unreachable command) misreads functions called only through a trap or "${start_cmd[@]}".
# shellcheck disable=SC2317
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench-lib.sh
source "$ROOT/scripts/bench-lib.sh"
TARGETS=${TARGETS:-presence-sqlite presence-postgres kamailio-fast kamailio-durable}
STEP_SECONDS=${STEP_SECONDS:-8}
START_RATE=${START_RATE:-100}
MAX_RATE=${MAX_RATE:-12800}
BISECT=${BISECT:-3}
USERS=${USERS:-5000}
KAM_USERS=${KAM_USERS:-100000}
KAM_PG_CHILDREN=${KAM_PG_CHILDREN:-4}
PS_POOL=${PS_POOL:-8}
RECV_TIMEOUT_MS=${RECV_TIMEOUT_MS:-5000}
P99_LIMIT_MS=${P99_LIMIT_MS:-500}
DOMAIN=lab.example
PG_BIN=/usr/lib/postgresql/15/bin
SERVER=$ROOT/target/release/presence-server
SCEN=$ROOT/tests/sipp

WORK=$(mktemp -d /tmp/corelab-bench-presence.XXXXXX)
chmod 755 "$WORK"
PIDS=()
PG_DIR=""
PG_URL=""
# The running target: one process per replica (one for every target but presence-postgres-2),
# its SIP address, and the injection file that replica's SIPp reads.
target_pids=()
sip_addrs=()
load_csvs=()
RESULTS=()
status=0

log() { echo "[$(date -u +%H:%M:%S)] $*"; }

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    if [ -n "$PG_DIR" ]; then
        su postgres -s /bin/sh -c "timeout 30 $PG_BIN/pg_ctl -D '$PG_DIR/data' -m fast stop" >/dev/null 2>&1
    fi
    if [ "${KEEP:-0}" = 1 ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 - <<'EOF'
import socket
for _ in range(100):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        t.close(); continue
    u.close(); t.close(); print(port); break
EOF
}

# users.csv for SIPp: "watcher;presentity", watcher i watches presentity i+1 (distinct rows).
make_users() { # make_users FILE N
    python3 - "$1" "$2" <<'EOF'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("SEQUENTIAL\n")
    for i in range(n):
        f.write(f"w{i:06d};p{(i + 1) % n:06d}\n")
EOF
}

# split_users FILE N: FILE's rows cut into N consecutive parts FILE-1.csv ... FILE-N.csv (FILE
# without .csv), each a SIPp injection file of its own (distinct watchers in each).
split_users() {
    python3 - "$1" "$2" <<'EOF'
import sys
path, n = sys.argv[1], int(sys.argv[2])
rows = open(path).read().splitlines()[1:]
size = len(rows) // n
for k in range(n):
    part = rows[k * size:(k + 1) * size if k < n - 1 else len(rows)]
    with open(f"{path.removesuffix('.csv')}-{k + 1}.csv", "w") as f:
        f.write("SEQUENTIAL\n" + "".join(r + "\n" for r in part))
EOF
}

# rows FILE: the number of users in an injection file (its first line is SEQUENTIAL).
rows() { echo $(($(wc -l <"$1") - 1)); }

stop_target() {
    local pid
    for pid in "${target_pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${target_pids[@]}"; do wait "$pid" 2>/dev/null; done
    target_pids=()
    sip_addrs=()
}

pg_db_url() { echo "${PG_URL%/*}/$1"; }

# start_presence DIR STORE_URL: presence-server in direct registrar mode; adds its PID to
# target_pids and its address to sip_addrs.
start_presence() {
    local dir=$1 store=$2 port pid
    port=$(free_port)
    rm -f "$dir/ready.json"
    cat >"$dir/presence.toml" <<EOF
[store]
max_connections = $PS_POOL
sqlite_synchronous = "full"

[log]
level = "warn"

[sip]
domain = "$DOMAIN"

[registrar]
mode = "direct"

[subscription]
max_expires = 3600

[authorization]
default = "allow"
EOF
    NO_COLOR=1 timeout 1200 "$SERVER" --config "$dir/presence.toml" --store-url "$store" \
        --data-dir "$dir" --sip-listen "127.0.0.1:$port" --admin-listen 127.0.0.1:0 \
        --grpc-listen 127.0.0.1:0 --ready-file "$dir/ready.json" >>"$dir/server.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    target_pids+=("$pid")
    for _ in $(seq 100); do
        [ -s "$dir/ready.json" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -s "$dir/ready.json" ] || { log "presence-server did not start: $(tail -3 "$dir/server.log")"; return 1; }
    sip_addrs+=("127.0.0.1:$port")
}

# start_replicas DIR STORE_URL N: N presence-servers on one store, replica k in DIR/rK.
start_replicas() {
    local dir=$1 store=$2 n=$3 k
    for k in $(seq "$n"); do
        mkdir -p "$dir/r$k"
        start_presence "$dir/r$k" "$store" || return 1
    done
}

# start_kamailio DIR MODE(FAST|DURABLE) DB_URL: adds its PID to target_pids and its address to
# sip_addrs.
start_kamailio() {
    local dir=$1 mode=$2 db=$3 port pid
    port=$(free_port)
    rm -f "$dir/kamailio.ctl"
    sed -e "s|__LISTEN_IP__|127.0.0.1|g" -e "s|__LISTEN_PORT__|$port|g" -e "s|__DB_URL__|$db|g" \
        -e "s|__CHILDREN__|$KAM_PG_CHILDREN|g" -e "s|__CTL_SOCKET__|$dir/kamailio.ctl|g" \
        "$ROOT/tests/kamailio/presence-bench.cfg" >"$dir/kamailio.cfg"
    if ! kamailio -c -A "$mode" -f "$dir/kamailio.cfg" >"$dir/kamailio-check.log" 2>&1; then
        log "kamailio config check failed: $(tail -3 "$dir/kamailio-check.log")"
        return 1
    fi
    # Shared memory: tm keeps finished transactions ~5 s; 256 MB runs out near 1,200 subs/s.
    timeout 1200 kamailio -f "$dir/kamailio.cfg" -A "$mode" -DD -E -m 2048 -M 32 \
        -P "$dir/kamailio.pid" >>"$dir/kamailio.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    target_pids+=("$pid")
    local ready=0
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        if timeout 2 kamcmd -s "unix:$dir/kamailio.ctl" core.uptime >/dev/null 2>&1; then
            ready=1
            break
        fi
        sleep 0.1
    done
    [ "$ready" = 1 ] || { log "kamailio did not start: $(tail -5 "$dir/kamailio.log")"; return 1; }
    sip_addrs+=("127.0.0.1:$port")
}

# register_users DIR ADDR CSV: REGISTER every watcher of CSV with the presence-server at ADDR.
register_users() {
    local dir=$1 addr=$2 csv=$3 rc=0 n name
    n=$(rows "$csv")
    name=$(basename "$csv" .csv)
    (cd "$dir" && exec timeout -k 2 120 sipp "$addr" -sf "$SCEN/bench-register.xml" \
        -inf "$csv" -key domain "$DOMAIN" -i 127.0.0.1 -p "$(free_port)" \
        -m "$n" -r 1000 -l 2000 -nostdin -recv_timeout "$RECV_TIMEOUT_MS" \
        -trace_err -error_file "$dir/register-$name-errors.log") >"$dir/register-$name.out" 2>&1 ||
        rc=$?
    if [ "$rc" -ne 0 ]; then
        log "registration of $n users ($name) through $addr failed (sipp exit $rc)," \
            "see $dir/register-$name.out"
        return 1
    fi
    log "registered $n users ($name) through $addr"
}

# run_step DIR RATE: one bounded load step against a fresh target (every replica restarted); sets
# step_line to "PASS|FAIL rate ok failed total offered cpu why", cpu = CPU ms per call of the
# target's process trees (all replicas) / of PostgreSQL (whole cluster). With N replicas the step
# runs N SIPp instances together, instance k at rate/N against replica k with load_csvs[k]; the
# verdict merges them (calls summed, offered rates summed, percentiles over every rtt file).
# (Not in a subshell: it restarts the target.)
run_step() {
    local dir=$1 rate=$2
    local calls=$((rate * STEP_SECONDS)) n=${#load_csvs[@]}
    local sdir="$dir/rate-$rate"
    rm -rf "$sdir"
    mkdir -p "$sdir"
    # A fresh process for every step (same store: registrations persist), so that the backlog of
    # an overloaded step (NOTIFYs retransmitted until Timer F) does not spill into the next one.
    stop_target
    if ! "${start_cmd[@]}" || [ "${#sip_addrs[@]}" -ne "$n" ]; then
        step_line="FAIL $rate 0 0 $calls 0 - target-did-not-start"
        return
    fi
    local limit=$((STEP_SECONDS * 3 + RECV_TIMEOUT_MS * 3 / 1000 + 20))
    local pg_pid t0 p0 t1 p1 k r idir pid rc sipp_pids=() rcs=()
    pg_pid=$(pg_postmaster)
    t0=$(cpu_ticks "${target_pids[@]}") p0=$(cpu_ticks "$pg_pid")
    for ((k = 0; k < n; k++)); do
        r=$((rate / n))
        [ "$k" -eq $((n - 1)) ] && r=$((rate - r * (n - 1)))
        idir="$sdir/sipp-$((k + 1))"
        mkdir -p "$idir"
        (cd "$idir" && exec timeout -k 2 "$limit" sipp "${sip_addrs[k]}" \
            -sf "$SCEN/bench-subscribe.xml" \
            -inf "${load_csvs[k]}" -key domain "$DOMAIN" -i 127.0.0.1 -p "$(free_port)" \
            -m $((r * STEP_SECONDS)) -r "$r" -rp 1000 -l $((r * 6 + 100)) -nostdin \
            -default_behaviors all,-bye -recv_timeout "$RECV_TIMEOUT_MS" -buff_size 4194304 \
            -trace_stat -stf stat.csv -fd 1 -trace_rtt -rtt_freq 1 \
            -trace_err -error_file errors.log) >"$idir/sipp.out" 2>&1 &
        sipp_pids+=("$!")
        PIDS+=("$!")
    done
    for pid in "${sipp_pids[@]}"; do
        rc=0
        wait "$pid" || rc=$?
        rcs+=("$rc")
    done
    t1=$(cpu_ticks "${target_pids[@]}") p1=$(cpu_ticks "$pg_pid")
    step_line=$(python3 - "$sdir" "$rate" "$calls" "${rcs[*]}" "$P99_LIMIT_MS" "$((t1 - t0))" "$((p1 - p0))" "$(getconf CLK_TCK)" <<'EOF'
import csv, glob, sys
d, rate, calls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rcs = [int(rc) for rc in sys.argv[4].split()]
P99_LIMIT_MS = float(sys.argv[5])
hz = int(sys.argv[8])
cpu = f"{int(sys.argv[6]) * 1000 / hz / calls:.2f}/{int(sys.argv[7]) * 1000 / hz / calls:.2f}"
ok = failed = offered = 0
sub = []
for inst in sorted(glob.glob(f"{d}/sipp-*")):
    try:
        rows = list(csv.reader(open(f"{inst}/stat.csv"), delimiter=";"))
        s = dict(zip(rows[0], rows[-1]))
        ok, failed = ok + int(s["SuccessfulCall(C)"]), failed + int(s["FailedCall(C)"])
    except Exception as e:  # no stats: SIPp did not run
        print(f"FAIL {rate} 0 0 {calls} 0 {cpu} no-stats(exit={','.join(map(str, rcs))})"); sys.exit()
    starts = []
    for f in glob.glob(f"{inst}/*_rtt.csv"):
        for line in open(f):
            p = line.strip().split(";")
            if len(p) == 3 and p[2] == "1":
                starts.append(float(p[0]) - float(p[1]))
                sub.append(float(p[1]))
    # Each instance's offered rate over its own span; the step offered their sum.
    span = (max(starts) - min(starts)) / 1000 if len(starts) > 1 else 0
    offered += round((len(starts) - 1) / span) if span > 0 else 0
sub.sort()
p99 = sub[min(len(sub) - 1, int(0.99 * len(sub)))] if sub else 0
why = []
if any(rc in (124, 137) for rc in rcs):
    why.append("timeout")
if ok + failed != calls:
    why.append(f"ended={ok + failed}/{calls}")
if failed * 100 >= calls:
    why.append("failed>=1%")
if offered < 0.9 * rate:
    why.append(f"offered-only-{offered}/s")
if p99 > P99_LIMIT_MS:
    why.append(f"p99-SUBSCRIBE-{p99:.0f}ms")
print(f"{'FAIL' if why else 'PASS'} {rate} {ok} {failed} {calls} {offered} {cpu} {','.join(why) or '-'}")
EOF
)
}

# percentiles DIR RATE: "p50/p90/p99 sub | unsub | call" over the step's rtt files (every SIPp
# instance; ms).
percentiles() {
    python3 - "$1/rate-$2" <<'EOF'
import glob, sys
vals = {"1": [], "2": [], "3": []}
for f in glob.glob(f"{sys.argv[1]}/sipp-*/*_rtt.csv"):
    for line in open(f):
        p = line.strip().split(";")
        if len(p) == 3 and p[2] in vals:
            vals[p[2]].append(float(p[1]))
def pct(v, q):
    if not v:
        return "-"
    v = sorted(v)
    return f"{v[min(len(v) - 1, int(q * len(v)))]:.0f}"
print(" ".join("/".join(pct(vals[k], q) for q in (0.5, 0.9, 0.99)) for k in ("1", "2", "3")))
EOF
}

pg_postmaster() { [ -n "$PG_DIR" ] && head -1 "$PG_DIR/data/postmaster.pid" 2>/dev/null; }

alive() {
    local pid
    for pid in "${target_pids[@]}"; do
        kill -0 "$pid" 2>/dev/null && continue
        log "  the target exited during the step (see its log)"
        return 1
    done
}

# step DIR RATE: run_step, once more if the target was killed from outside meanwhile
# (scripts/install-peers.sh runs `pkill -x kamailio`); sets line.
step() {
    local _try
    for _try in 1 2; do
        run_step "$@"
        line=$step_line
        log "  step: $line"
        alive && return 0
    done
    return 1
}

# search DIR: the rate search; sets best_rate, best_line.
search() {
    local dir=$1 rate=$START_RATE lo=0 hi=0 line
    best_rate=0
    best_line=""
    while [ "$rate" -le "$MAX_RATE" ]; do
        step "$dir" "$rate" || return 1
        if [ "${line%% *}" = PASS ]; then
            lo=$rate best_rate=$rate best_line=$line
            rate=$((rate * 2))
        else
            hi=$rate
            break
        fi
    done
    [ "$hi" -eq 0 ] && return 0
    local _i
    for _i in $(seq "$BISECT"); do
        rate=$(((lo + hi) / 2 / 10 * 10))
        [ "$rate" -le "$lo" ] && break
        step "$dir" "$rate" || return 1
        if [ "${line%% *}" = PASS ]; then
            lo=$rate best_rate=$rate best_line=$line
        else
            hi=$rate
        fi
    done
}

run_target() {
    local name=$1 dir="$WORK/$1"
    mkdir -p "$dir"
    load_csvs=("$WORK/users.csv")
    log "target $name (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
    case $name in
        presence-sqlite)
            start_cmd=(start_presence "$dir" "sqlite://$dir/presence.db")
            "${start_cmd[@]}" || return 1
            register_users "$dir" "${sip_addrs[0]}" "$WORK/users.csv" || return 1
            ;;
        presence-postgres)
            psql -q "$PG_URL" -c "CREATE DATABASE bench_presence" >/dev/null || return 1
            start_cmd=(start_presence "$dir" "$(pg_db_url bench_presence)")
            "${start_cmd[@]}" || return 1
            register_users "$dir" "${sip_addrs[0]}" "$WORK/users.csv" || return 1
            ;;
        presence-postgres-2)
            psql -q "$PG_URL" -c "CREATE DATABASE bench_presence_2" >/dev/null || return 1
            split_users "$WORK/users.csv" 2 || return 1
            load_csvs=("$WORK/users-1.csv" "$WORK/users-2.csv")
            start_cmd=(start_replicas "$dir" "$(pg_db_url bench_presence_2)" 2)
            "${start_cmd[@]}" || return 1
            # Each half registered through the replica it will not subscribe through: every call
            # then relies on the shared store (and the other replica's cache invalidation).
            register_users "$dir" "${sip_addrs[1]}" "${load_csvs[0]}" || return 1
            register_users "$dir" "${sip_addrs[0]}" "${load_csvs[1]}" || return 1
            ;;
        kamailio-fast)
            load_csvs=("$WORK/kam-users.csv")
            sqlite3 "$dir/kamailio.db" "PRAGMA journal_mode=WAL;" >/dev/null &&
                cat /usr/share/kamailio/db_sqlite/standard-create.sql \
                    /usr/share/kamailio/db_sqlite/presence-create.sql | sqlite3 "$dir/kamailio.db" || return 1
            start_cmd=(start_kamailio "$dir" FAST "sqlite://$dir/kamailio.db")
            ;;
        kamailio-durable)
            load_csvs=("$WORK/kam-users.csv")
            # shellcheck disable=SC2015 # the { } block runs when either command failed: intended
            psql -q "$PG_URL" -c "CREATE DATABASE bench_kamailio" >/dev/null &&
                cat /usr/share/kamailio/postgres/standard-create.sql \
                    /usr/share/kamailio/postgres/presence-create.sql |
                psql -q -v ON_ERROR_STOP=1 "$(pg_db_url bench_kamailio)" >"$dir/schema.log" 2>&1 || {
                log "kamailio schema failed: $(tail -3 "$dir/schema.log")"
                return 1
            }
            start_cmd=(start_kamailio "$dir" DURABLE "$(pg_db_url bench_kamailio)")
            ;;
        *)
            log "unknown target $name"
            return 1
            ;;
    esac
    search "$dir" || return 1
    local errors=0
    [ -f "$dir/kamailio.log" ] && errors=$(grep -c " ERROR: " "$dir/kamailio.log")
    [ -f "$dir/server.log" ] && errors=$(grep -c "ERROR" "$dir/server.log")
    [ -f "$dir/r1/server.log" ] && errors=$(cat "$dir"/r*/server.log | grep -c "ERROR")
    stop_target
    if [ "$best_rate" -eq 0 ]; then
        RESULTS+=("$name|<$START_RATE|-|-|-|-|-|$errors")
        return 0
    fi
    local failed calls cpu p
    read -r _ _ _ failed calls _ cpu _ <<<"$best_line"
    p=$(percentiles "$dir" "$best_rate")
    RESULTS+=("$name|$best_rate|$failed/$calls|${p// /|}|$cpu|$errors")
}

# ---- main -----------------------------------------------------------------------------------

for tool in sipp kamailio sqlite3 psql python3; do
    command -v "$tool" >/dev/null || { echo "bench-presence: $tool not installed (scripts/install-peers.sh)"; exit 1; }
done
if [ "$(id -u)" -eq 0 ] && [ "${NICE:--10}" != 0 ]; then
    renice -n "${NICE:--10}" -p $$ >/dev/null 2>&1 || true
fi
log "work dir $WORK; targets: $TARGETS; steps of ${STEP_SECONDS}s from $START_RATE/s"
case " $TARGETS " in
    *presence-*)
        if [ "${NO_BUILD:-0}" != 1 ]; then
            log "building presence-server (release)"
            (cd "$ROOT" && timeout 1800 cargo build -q --release -p corelab-presence --bin presence-server) ||
                { echo "bench-presence: build failed"; exit 1; }
        fi
        [ -x "$SERVER" ] || { echo "bench-presence: no $SERVER"; exit 1; }
        ;;
esac
make_users "$WORK/users.csv" "$USERS"
make_users "$WORK/kam-users.csv" "$KAM_USERS"

case " $TARGETS " in
    *postgres* | *durable*)
        PG_DIR=$WORK/pg
        PG_URL=$(timeout 60 bash "$ROOT/scripts/pg-throwaway.sh" "$PG_DIR" "$(free_port)") ||
            { echo "bench-presence: PostgreSQL did not start"; exit 1; }
        log "PostgreSQL at $PG_URL (fsync=$(psql -qAt "$PG_URL" -c 'SHOW fsync'), synchronous_commit=$(psql -qAt "$PG_URL" -c 'SHOW synchronous_commit'))"
        ;;
esac

for t in $TARGETS; do
    if ! run_target "$t"; then
        stop_target
        RESULTS+=("$t|error|-|-|-|-|-|-")
        status=1
    fi
done

echo
echo "Presence load: highest rate with < 1 % failed calls (steps of ${STEP_SECONDS}s; response times in ms, p50/p90/p99)"
printf '%-20s %8s %11s %15s %15s %16s %12s %7s\n' target calls/s failed SUBSCRIBE-200 unSUBSCRIBE-200 whole-call "CPU-ms/call" "ERRORs"
for r in "${RESULTS[@]}"; do
    IFS='|' read -r t rate failed p1 p2 p3 cpu errs <<<"$r"
    printf '%-20s %8s %11s %15s %15s %16s %12s %7s\n' "$t" "$rate" "$failed" "$p1" "$p2" "$p3" "$cpu" "$errs"
done
echo "(CPU-ms/call: the target's processes (every replica) / the PostgreSQL cluster, at that rate."
echo " ERRORs: error lines in the target's logs over the whole search, overloaded steps included)"
exit $status
