#!/usr/bin/env bash
# Node benchmark of issue 12 §6 (not run by CI, never a test): UES emulated 5G UEs arriving in
# parallel (ue-emulator 5g load mode, one gNB, one N1 stream), each registering, establishing PDU
# session 1 and joining the MBS session of TMGI 000001 on it, against session-manager (release
# build), first on a throwaway PostgreSQL 15 (scripts/pg-throwaway.sh, fsync on), then on SQLite.
#
# For each store it prints the load summary of the emulator (--json: procedures/s, NAS PDUs on
# the N1 link and per second, p50/p90/p99 per procedure) and the CPU time session-manager used
# over the run (utime+stime from /proc/<pid>/stat before and after), hence the NAS messages per
# CPU second of session-manager ("per core"); on PostgreSQL also the cluster's CPU seconds.
#
#   usage: bash scripts/bench-mbs.sh                 (a few minutes)
#   env:   UES=10000 RATE=0 (UEs started per second, 0: all at once) STORES="postgres sqlite"
#          PROCEDURE_TIMEOUT_MS=120000 PG_PORT=55439 NICE=-10 NO_BUILD=1 KEEP=1
#          PROFILE=release (PROFILE=debug NO_BUILD=1 UES=200: a smoke run of the script)
#          PERF=1 (perf record -g session-manager during the run; report in the work directory)
#
# Every process is stopped by its PID; the PostgreSQL cluster is stopped and its directory
# removed. Numbers go to docs/benchmarks.md by hand. Exit status 0 when every store ran.
# SC2317 (unreachable command) misreads cleanup, which only the EXIT trap calls.
# shellcheck disable=SC2317
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
UES=${UES:-10000}
RATE=${RATE:-0}
STORES=${STORES:-postgres sqlite}
PROCEDURE_TIMEOUT_MS=${PROCEDURE_TIMEOUT_MS:-120000}
PG_PORT=${PG_PORT:-55439}
PG_BIN=/usr/lib/postgresql/15/bin
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PROFILE=${PROFILE:-release}
BIN=$TARGET/$PROFILE
WORK=$(mktemp -d /tmp/bench-mbs.XXXXXX)
chmod 755 "$WORK"  # the postgres user reaches its cluster directory under it
PG_DIR=$WORK/pg
SM_PID=
CLK_TCK=$(getconf CLK_TCK)

log() { echo "bench-mbs: $*" >&2; }

cleanup() {
    [ -n "$SM_PID" ] && kill "$SM_PID" 2>/dev/null && wait "$SM_PID" 2>/dev/null
    if [ -d "$PG_DIR/data" ]; then
        su postgres -s /bin/sh -c "timeout 30 $PG_BIN/pg_ctl -D '$PG_DIR/data' -m immediate stop" >/dev/null 2>&1
    fi
    rm -rf "$PG_DIR"
    if [ -n "${KEEP:-}" ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# utime+stime of one process, in clock ticks.
ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
# utime+stime of every process named postgres (the cluster), in clock ticks.
pg_ticks() {
    local sum=0 p
    for p in /proc/[0-9]*; do
        [ "$(cat "$p/comm" 2>/dev/null)" = postgres ] || continue
        sum=$((sum + $(sed 's/.*) //' "$p/stat" 2>/dev/null | awk '{print $12 + $13}')))
    done
    echo "$sum"
}

if [ "$(id -u)" -eq 0 ]; then renice -n "${NICE:--10}" -p $$ >/dev/null 2>&1 || true; fi
if [ -z "${NO_BUILD:-}" ]; then
    log "building session-manager and ue-emulator (release)"
    (cd "$ROOT" && cargo build --release -q -p corelab-session-manager -p corelab-ue-emulator --bins) || exit 1
fi
log "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

status=0
for store in $STORES; do
    case $store in
        postgres)
            url=$(bash "$ROOT/scripts/pg-throwaway.sh" "$PG_DIR" "$PG_PORT") || { status=1; continue; } ;;
        sqlite) url="sqlite://$WORK/session-manager.db" ;;
        *) log "unknown store $store"; status=1; continue ;;
    esac
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    printf '[log]\nlevel = "warn"\n' >"$WORK/sm.toml"
    rm -f "$WORK/sm.ready.json"
    "$BIN/session-manager" --config "$WORK/sm.toml" --store-url "$url" \
        --grpc-listen "127.0.0.1:$port" --admin-listen 127.0.0.1:0 \
        --ready-file "$WORK/sm.ready.json" 2>"$WORK/sm-$store.log" &
    SM_PID=$!
    for _ in $(seq 200); do [ -s "$WORK/sm.ready.json" ] && break; sleep 0.1; done
    if [ ! -s "$WORK/sm.ready.json" ]; then
        log "$store: session-manager not ready"; cat "$WORK/sm-$store.log" >&2; status=1; continue
    fi
    perf_pid=
    if [ -n "${PERF:-}" ]; then
        perf record -q -g -p "$SM_PID" -o "$WORK/perf-$store.data" 2>/dev/null &
        perf_pid=$!
    fi
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)
    sm0=$(ticks "$SM_PID"); pg0=$(pg_ticks)
    /usr/bin/time -f '%U %S' -o "$WORK/ue-time-$store" \
        "$BIN/ue-emulator" 5g --n1 "http://127.0.0.1:$port" --ues "$UES" --rate "$RATE" \
        --load --load-join 000001 --json --procedure-timeout-ms "$PROCEDURE_TIMEOUT_MS" \
        --admin-listen 127.0.0.1:0 --grpc-listen 127.0.0.1:0 \
        >"$WORK/load-$store.json" 2>"$WORK/load-$store.progress" || status=1
    sm1=$(ticks "$SM_PID"); pg1=$(pg_ticks)
    load_after=$(cut -d' ' -f1-3 /proc/loadavg)
    if [ -n "$perf_pid" ]; then
        kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null
        for sort in dso sym; do
            perf report -q -i "$WORK/perf-$store.data" --no-children --sort "$sort" \
                --percent-limit 0.4 --stdio -g none 2>/dev/null | head -30
        done >"$WORK/perf-$store.txt"
        log "$store: perf report in $WORK/perf-$store.txt"; KEEP=1
    fi
    kill "$SM_PID"; wait "$SM_PID" 2>/dev/null; SM_PID=
    if [ "$store" = postgres ]; then
        su postgres -s /bin/sh -c "timeout 30 $PG_BIN/pg_ctl -D '$PG_DIR/data' -m immediate stop" >/dev/null 2>&1
        rm -rf "$PG_DIR"
    fi
    STORE=$store SM_S=$((sm1 - sm0)) PG_S=$((pg1 - pg0)) TCK=$CLK_TCK \
    LOAD_BEFORE=$load_before LOAD_AFTER=$load_after UE_TIME=$(cat "$WORK/ue-time-$store") \
    python3 - "$WORK/load-$store.json" <<'EOF' || status=1
import json, os, sys
s = json.load(open(sys.argv[1]))
tck = float(os.environ["TCK"])
sm = int(os.environ["SM_S"]) / tck
pg = int(os.environ["PG_S"]) / tck
ue = sum(float(x) for x in os.environ["UE_TIME"].split()[:2])
store = os.environ["STORE"]
print(f"== {store}: {s['ues_completed']}/{s['ues']} UEs completed in {s['seconds']:.2f} s "
      f"(load average before {os.environ['LOAD_BEFORE']}, after {os.environ['LOAD_AFTER']})")
print(f"procedures/s {s['procedures_per_second']:.0f}; NAS messages {s['nas_messages']}, "
      f"{s['nas_messages_per_second']:.0f}/s")
per_core = s["nas_messages"] / sm if sm > 0 else float("nan")
print(f"session-manager CPU {sm:.2f} s -> {per_core:.0f} NAS messages per CPU second (per core)"
      + (f"; PostgreSQL CPU {pg:.2f} s" if store == "postgres" else "")
      + f"; ue-emulator CPU {ue:.2f} s")
print("| procedure | ok | failed | per s | p50 ms | p90 ms | p99 ms |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for name, p in s["procedures"].items():
    print(f"| {name} | {p['ok']} | {p['failed']} | {p['per_second']:.0f} | {p['p50_ms']:.1f} "
          f"| {p['p90_ms']:.1f} | {p['p99_ms']:.1f} |")
EOF
done
exit $status
