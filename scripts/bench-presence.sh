#!/usr/bin/env bash
# Presence load benchmark (issue 3, part 5): presence-server vs Kamailio's presence module, the same
# SIPp scenario (tests/sipp/bench-subscribe.xml: SUBSCRIBE -> 200 -> NOTIFY answered 200 ->
# un-SUBSCRIBE -> 200 -> terminating NOTIFY answered 200, one distinct watcher/presentity per
# call) against four targets on this machine, one after the other:
#
#   presence-sqlite      presence-server, SQLite (WAL, synchronous=FULL: every commit fsynced),
#                        every subscription committed before its 200
#   presence-postgres    presence-server, PostgreSQL 15 (fsync=on, synchronous_commit=on),
#                        every subscription committed before its 200
#   kamailio-fast        Kamailio 5.6 presence, SQLite (WAL), one SIP worker, subs_db_mode=2
#                        (write-back every db_update_period s): its fastest configuration
#   kamailio-durable     Kamailio 5.6 presence, PostgreSQL, $KAM_PG_CHILDREN SIP workers,
#                        subs_db_mode=1 (write-through before the 200): its durable configuration
#
# For each target: a fresh store, (presence-server only) REGISTER every watcher first, then the
# rate search: steps of $STEP_SECONDS s at 100, 200, 400, ... calls/s until a step fails, then
# $BISECT bisection steps, each against a freshly started target process (same store). A step
# passes when every call ended, fewer than 1 % failed (a call fails on an unexpected message or a
# wait longer than RECV_TIMEOUT_MS), SIPp really offered the rate (calls started over the step's
# span >= 90 % of the target), and the target kept up: the 99th percentile of SUBSCRIBE -> 200 is
# at most P99_LIMIT_MS (default 500 ms = T1, beyond which SIPp retransmits). For the best passing
# rate it prints SIPp's response-time percentiles (-trace_rtt, ms resolution).
#
#   usage: bash scripts/bench-presence.sh            (about 10-15 minutes)
#   env:   TARGETS="presence-sqlite presence-postgres kamailio-fast kamailio-durable"
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
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
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
target_pid=""
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

stop_target() {
    if [ -n "$target_pid" ]; then
        kill "$target_pid" 2>/dev/null
        wait "$target_pid" 2>/dev/null
        target_pid=""
    fi
}

pg_db_url() { echo "${PG_URL%/*}/$1"; }

# start_presence DIR STORE_URL: presence-server in direct registrar mode; sets target_pid, sip_addr.
start_presence() {
    local dir=$1 store=$2 port
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
    target_pid=$!
    PIDS+=("$target_pid")
    for _ in $(seq 100); do
        [ -s "$dir/ready.json" ] && break
        kill -0 "$target_pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -s "$dir/ready.json" ] || { log "presence-server did not start: $(tail -3 "$dir/server.log")"; return 1; }
    sip_addr="127.0.0.1:$port"
}

# start_kamailio DIR MODE(FAST|DURABLE) DB_URL: sets target_pid, sip_addr.
start_kamailio() {
    local dir=$1 mode=$2 db=$3 port
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
    target_pid=$!
    PIDS+=("$target_pid")
    local ready=0
    for _ in $(seq 100); do
        kill -0 "$target_pid" 2>/dev/null || break
        if timeout 2 kamcmd -s "unix:$dir/kamailio.ctl" core.uptime >/dev/null 2>&1; then
            ready=1
            break
        fi
        sleep 0.1
    done
    [ "$ready" = 1 ] || { log "kamailio did not start: $(tail -5 "$dir/kamailio.log")"; return 1; }
    sip_addr="127.0.0.1:$port"
}

# register_users DIR: REGISTER every watcher of users.csv with presence-server.
register_users() {
    local dir=$1 rc=0
    (cd "$dir" && exec timeout -k 2 120 sipp "$sip_addr" -sf "$SCEN/bench-register.xml" \
        -inf "$WORK/users.csv" -key domain "$DOMAIN" -i 127.0.0.1 -p "$(free_port)" \
        -m "$USERS" -r 1000 -l 2000 -nostdin -recv_timeout "$RECV_TIMEOUT_MS" \
        -trace_err -error_file "$dir/register-errors.log") >"$dir/register.out" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        log "registration of $USERS users failed (sipp exit $rc); see $dir/register.out"
        return 1
    fi
    log "registered $USERS users"
}

# run_step DIR RATE CSV: one bounded SIPp run against a fresh target process; sets step_line to
# "PASS|FAIL rate ok failed total offered cpu why", cpu = CPU ms per call of the target process
# tree / of PostgreSQL (whole cluster). (Not in a subshell: it restarts the target.)
run_step() {
    local dir=$1 rate=$2 csv=$3
    local calls=$((rate * STEP_SECONDS))
    local sdir="$dir/rate-$rate"
    rm -rf "$sdir"
    mkdir -p "$sdir"
    # A fresh process for every step (same store: registrations persist), so that the backlog of
    # an overloaded step (NOTIFYs retransmitted until Timer F) does not spill into the next one.
    stop_target
    if ! "${start_cmd[@]}"; then
        step_line="FAIL $rate 0 0 $calls 0 - target-did-not-start"
        return
    fi
    local limit=$((STEP_SECONDS * 3 + RECV_TIMEOUT_MS / 1000 * 3 + 20)) rc=0
    local pg_pid t0 p0 t1 p1
    pg_pid=$(pg_postmaster)
    t0=$(cpu_ticks "$target_pid") p0=$(cpu_ticks "$pg_pid")
    (cd "$sdir" && exec timeout -k 2 "$limit" sipp "$sip_addr" -sf "$SCEN/bench-subscribe.xml" \
        -inf "$csv" -key domain "$DOMAIN" -i 127.0.0.1 -p "$(free_port)" \
        -m "$calls" -r "$rate" -rp 1000 -l $((rate * 6 + 100)) -nostdin \
        -default_behaviors all,-bye -recv_timeout "$RECV_TIMEOUT_MS" -buff_size 4194304 \
        -trace_stat -stf stat.csv -fd 1 -trace_rtt -rtt_freq 1 \
        -trace_err -error_file errors.log) >"$sdir/sipp.out" 2>&1 || rc=$?
    t1=$(cpu_ticks "$target_pid") p1=$(cpu_ticks "$pg_pid")
    step_line=$(python3 - "$sdir" "$rate" "$calls" "$rc" "$P99_LIMIT_MS" "$((t1 - t0))" "$((p1 - p0))" "$(getconf CLK_TCK)" <<'EOF'
import csv, glob, sys
d, rate, calls, rc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
P99_LIMIT_MS = float(sys.argv[5])
hz = int(sys.argv[8])
cpu = f"{int(sys.argv[6]) * 1000 / hz / calls:.2f}/{int(sys.argv[7]) * 1000 / hz / calls:.2f}"
try:
    rows = list(csv.reader(open(f"{d}/stat.csv"), delimiter=";"))
    s = dict(zip(rows[0], rows[-1]))
    ok, failed = int(s["SuccessfulCall(C)"]), int(s["FailedCall(C)"])
except Exception as e:  # no stats: SIPp did not run
    print(f"FAIL {rate} 0 0 {calls} 0 {cpu} no-stats(exit={rc})"); sys.exit()
starts, sub = [], []
for f in glob.glob(f"{d}/*_rtt.csv"):
    for line in open(f):
        p = line.strip().split(";")
        if len(p) == 3 and p[2] == "1":
            starts.append(float(p[0]) - float(p[1]))
            sub.append(float(p[1]))
sub.sort()
p99 = sub[min(len(sub) - 1, int(0.99 * len(sub)))] if sub else 0
span = (max(starts) - min(starts)) / 1000 if len(starts) > 1 else 0
offered = round((len(starts) - 1) / span) if span > 0 else 0
why = []
if rc in (124, 137):
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

# percentiles DIR RATE: "p50/p90/p99 sub | unsub | call" from the step's rtt file (ms).
percentiles() {
    python3 - "$1/rate-$2" <<'EOF'
import glob, sys
vals = {"1": [], "2": [], "3": []}
for f in glob.glob(f"{sys.argv[1]}/*_rtt.csv"):
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

# cpu_ticks PID...: CPU time (user+system, clock ticks) of these processes and their descendants.
cpu_ticks() {
    python3 - "$@" <<'EOF'
import os, sys
kids, ticks = {}, {}
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    kids.setdefault(int(f[1]), []).append(int(p))
    ticks[int(p)] = int(f[11]) + int(f[12])
todo, total = [int(a) for a in sys.argv[1:] if a.isdigit()], 0
while todo:
    p = todo.pop()
    total += ticks.get(p, 0)
    todo += kids.get(p, [])
print(total)
EOF
}

pg_postmaster() { [ -n "$PG_DIR" ] && head -1 "$PG_DIR/data/postmaster.pid" 2>/dev/null; }

alive() {
    kill -0 "$target_pid" 2>/dev/null && return 0
    log "  the target exited during the step (see its log)"
    return 1
}

# step DIR RATE CSV: run_step, once more if the target was killed from outside meanwhile
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

# search DIR CSV: the rate search; sets best_rate, best_line.
search() {
    local dir=$1 csv=$2 rate=$START_RATE lo=0 hi=0 line
    best_rate=0
    best_line=""
    while [ "$rate" -le "$MAX_RATE" ]; do
        step "$dir" "$rate" "$csv" || return 1
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
        step "$dir" "$rate" "$csv" || return 1
        if [ "${line%% *}" = PASS ]; then
            lo=$rate best_rate=$rate best_line=$line
        else
            hi=$rate
        fi
    done
}

run_target() {
    local name=$1 dir="$WORK/$1" csv="$WORK/users.csv"
    mkdir -p "$dir"
    log "target $name (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
    case $name in
        presence-sqlite)
            start_cmd=(start_presence "$dir" "sqlite://$dir/presence.db")
            "${start_cmd[@]}" || return 1
            register_users "$dir" || return 1
            ;;
        presence-postgres)
            psql -q "$PG_URL" -c "CREATE DATABASE bench_presence" >/dev/null || return 1
            start_cmd=(start_presence "$dir" "$(pg_db_url bench_presence)")
            "${start_cmd[@]}" || return 1
            register_users "$dir" || return 1
            ;;
        kamailio-fast)
            csv="$WORK/kam-users.csv"
            sqlite3 "$dir/kamailio.db" "PRAGMA journal_mode=WAL;" >/dev/null &&
                cat /usr/share/kamailio/db_sqlite/standard-create.sql \
                    /usr/share/kamailio/db_sqlite/presence-create.sql | sqlite3 "$dir/kamailio.db" || return 1
            start_cmd=(start_kamailio "$dir" FAST "sqlite://$dir/kamailio.db")
            ;;
        kamailio-durable)
            csv="$WORK/kam-users.csv"
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
    search "$dir" "$csv" || return 1
    local errors=0
    [ -f "$dir/kamailio.log" ] && errors=$(grep -c " ERROR: " "$dir/kamailio.log")
    [ -f "$dir/server.log" ] && errors=$(grep -c "ERROR" "$dir/server.log")
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
printf '%-18s %8s %11s %15s %15s %16s %12s %7s\n' target calls/s failed SUBSCRIBE-200 unSUBSCRIBE-200 whole-call "CPU-ms/call" "ERRORs"
for r in "${RESULTS[@]}"; do
    IFS='|' read -r t rate failed p1 p2 p3 cpu errs <<<"$r"
    printf '%-18s %8s %11s %15s %15s %16s %12s %7s\n' "$t" "$rate" "$failed" "$p1" "$p2" "$p3" "$cpu" "$errs"
done
echo "(CPU-ms/call: the target's processes / the PostgreSQL cluster, at that rate. ERRORs: error lines"
echo " in the target's log over the whole search, overloaded steps included)"
exit $status
