#!/usr/bin/env bash
# SIPp plays the watcher against the real presence-server (shared/specs/presence.md, "What done
# looks like on the wire"), over UDP and over TCP, on SQLite and (when $CORELAB_TEST_PG_URL is set)
# on PostgreSQL. Builds nothing.
#
#   PRESENCE_SERVER=target/debug/presence-server bash tests/interop/sipp-presence.sh
#
# Cases (scenarios in tests/sipp/; the MESSAGE arrives out of call: failure-message-ooc.xml):
#   recover-*   (a) REGISTER, SUBSCRIBE, PUBLISH; the NOTIFY of the change is ignored (Timer F =
#               64*T1 = 3.2 s with sip.t1_ms = 50) or answered 500/403; the MESSAGE's report is
#               checked and answered 200; re-SUBSCRIBE in a new dialog gets 200 + a full NOTIFY,
#               and an in-dialog refresh of it 200 (Contact keeping the transport) + NOTIFY.
#               Then the admin API must show the registration (message_count 1) and exactly the
#               new subscription, and no alarm.
#   threshold-* (c) recovery.threshold = 2: three failed NOTIFYs in three dialogs; two MESSAGEs,
#               then the user is signed out (its reg subscription gets terminated;reason=deactivated).
#               Then GET /registrations must not list the user, GET /alarms must hold an active
#               notify_failure_threshold alarm for it, GET /subscriptions must be empty.
#
# Each case gets a fresh presence-server (fresh SQLite file / fresh PostgreSQL database) on
# loopback ephemeral ports and runs under `timeout` (< 30 s). Prints PASS/FAIL per case and
# "N passed, M failed"; exits non-zero when any case failed. Set KEEP_LOGS=1 to keep the
# work directory (logs, SIPp message traces) even when every case passed.
set -uo pipefail

orig_pwd=$PWD
root=$(cd "$(dirname "$0")/../.." && pwd)
server=${PRESENCE_SERVER:-target/debug/presence-server}
case $server in /*) ;; *) if [ -e "$orig_pwd/$server" ]; then server=$orig_pwd/$server; else server=$root/$server; fi ;; esac
scenarios=$root/tests/sipp
pg_url=${CORELAB_TEST_PG_URL:-}
user=alice
domain=lab.example
case_limit=20        # seconds for one SIPp run; with the server's start (<= 4 s) and the admin
                     # API checks (<= 3 s) a case stays under 30 s
export PGCONNECT_TIMEOUT=5

if ! command -v sipp >/dev/null; then
  echo "sipp-presence: sipp not found (install it with scripts/install-peers.sh)"
  echo "0 passed, 1 failed"
  exit 1
fi
if [ ! -x "$server" ]; then
  echo "sipp-presence: no presence-server at $server (cargo build -p corelab-presence, or set PRESENCE_SERVER)"
  echo "0 passed, 1 failed"
  exit 1
fi

work=$(mktemp -d /tmp/corelab-sipp.XXXXXX)
pids=()
databases=()
passed=0
failed=0

cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null
  done
  if [ -n "$pg_url" ]; then
    local db
    for db in "${databases[@]}"; do
      psql -q "$pg_url" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1
    done
  fi
  if [ "$failed" -eq 0 ] && [ -z "${KEEP_LOGS:-}" ]; then
    rm -rf "$work"
  else
    echo "sipp-presence: logs kept in $work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=../sip/ports.sh
source "$root/tests/sip/ports.sh"

# A postgres:// URL for a fresh database NAME on the server of $CORELAB_TEST_PG_URL.
pg_database_url() {
  python3 - "$pg_url" "$1" <<'EOF'
import sys
from urllib.parse import urlsplit, urlunsplit
u = urlsplit(sys.argv[1])
print(urlunsplit((u.scheme, u.netloc, "/" + sys.argv[2], u.query, u.fragment)))
EOF
}

# admin GET PATH -> stdout (JSON)
admin_get() {
  curl -sf --max-time 1 "http://$admin$1"
}

# start_server DIR STORE_URL THRESHOLD: a fresh presence-server; sets $server_pid, $sip, $admin.
start_server() {
  local dir=$1 store=$2 threshold=$3
  cat >"$dir/presence.toml" <<EOF
[sip]
tcp = true
domain = "$domain"
t1_ms = 50

[registrar]
mode = "direct"

[subscription]
sweep_interval_ms = 1000

[recovery]
threshold = $threshold
on_threshold = "deregister"

[authorization]
default = "allow"
EOF
  local port
  port=$(udp_tcp_free_port)
  NO_COLOR=1 "$server" --config "$dir/presence.toml" --store-url "$store" \
    --data-dir "$dir" --sip-listen "127.0.0.1:$port" --admin-listen 127.0.0.1:0 \
    --grpc-listen 127.0.0.1:0 --ready-file "$dir/ready.json" >"$dir/server.log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  local i
  for i in $(seq 40); do
    [ -s "$dir/ready.json" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ ! -s "$dir/ready.json" ]; then
    return 1
  fi
  sip=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sip"])' "$dir/ready.json")
  admin=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' "$dir/ready.json")
}

stop_server() {
  kill "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
}

# check_state KIND DIR: the admin API after the scenario. Prints what is wrong, fails if anything.
check_state() {
  local kind=$1 dir=$2
  admin_get /registrations >"$dir/registrations.json" || { echo "GET /registrations failed"; return 1; }
  admin_get /subscriptions >"$dir/subscriptions.json" || { echo "GET /subscriptions failed"; return 1; }
  admin_get /alarms >"$dir/alarms.json" || { echo "GET /alarms failed"; return 1; }
  python3 - "$kind" "$dir" "sip:$user@$domain" <<'EOF'
import json, sys
kind, d, aor = sys.argv[1:]
regs = json.load(open(f"{d}/registrations.json"))
subs = json.load(open(f"{d}/subscriptions.json"))
alarms = json.load(open(f"{d}/alarms.json"))
mine = [r for r in regs if r["aor"] == aor]
errors = []
if kind == "recover":
    if len(mine) != 1:
        errors.append(f"want 1 registration of {aor}, got {regs}")
    elif mine[0]["message_count"] != 1:
        errors.append(f"want message_count 1, got {mine[0]}")
    live = [s for s in subs if s["watcher"] == aor and s["event"] == "presence"]
    if len(live) != 1 or not live[0]["call_id"].startswith("s2///"):
        errors.append(f"want exactly the re-subscribed dialog (s2///...), got {subs}")
    if alarms:
        errors.append(f"want no alarm, got {alarms}")
else:
    if mine:
        errors.append(f"want no registration of {aor}, got {mine}")
    if subs:
        errors.append(f"want no subscription, got {subs}")
    hits = [a for a in alarms
            if a["aor"] == aor and a["kind"] == "notify_failure_threshold" and a["active"]]
    if len(hits) != 1 or len(alarms) != 1:
        errors.append(f"want 1 active notify_failure_threshold alarm for {aor}, got {alarms}")
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
EOF
}

# run_case BACKEND TRANSPORT KIND ANSWER: one fresh server, one SIPp run, the admin API checked.
run_case() {
  local backend=$1 tr=$2 kind=$3 answer=$4
  local name="$backend/$tr/$kind-$answer"
  local dir="$work/${name//\//-}"
  mkdir -p "$dir"
  local store threshold=2
  if [ "$backend" = postgres ]; then
    local db="corelab_sipp_$$_${#databases[@]}"
    if ! psql -q "$pg_url" -c "CREATE DATABASE \"$db\"" >"$dir/psql.log" 2>&1; then
      report FAIL "$name: CREATE DATABASE failed: $(tail -1 "$dir/psql.log")"
      return
    fi
    databases+=("$db")
    store=$(pg_database_url "$db")
  else
    store="sqlite://$dir/presence.db"
  fi
  local started=$SECONDS
  if ! start_server "$dir" "$store" "$threshold"; then
    stop_server
    report FAIL "$name: presence-server did not start: $(tail -3 "$dir/server.log")"
    return
  fi
  local want_reason=rejected want_status=$answer
  if [ "$answer" = timeout ]; then want_reason=timeout; want_status=null; fi
  local transport_flag=()
  [ "$tr" = tcp ] && transport_flag=(-t t1)
  local sipp_port
  sipp_port=$(udp_tcp_free_port)
  local rc=0
  (
    cd "$dir" &&
      exec timeout -k 2 "$case_limit" sipp "$sip" "${transport_flag[@]}" \
        -sf "$scenarios/watcher-$kind.xml" -oocsf "$scenarios/failure-message-ooc.xml" \
        -i 127.0.0.1 -p "$sipp_port" -s "$user" -key domain "$domain" -key tr "$tr" \
        -set answer "$answer" -set want_reason "$want_reason" -set want_status "$want_status" \
        -set want_threshold "$threshold" \
        -m 1 -nostdin -default_behaviors all,-bye -recv_timeout 10000 \
        -trace_msg -message_file "$dir/sipp-messages.log" \
        -trace_err -error_file "$dir/sipp-errors.log" \
        -trace_logs -log_file "$dir/sipp-logs.log"
  ) >"$dir/sipp.out" 2>&1 &
  local sipp_pid=$!
  pids+=("$sipp_pid")
  wait "$sipp_pid" || rc=$?
  local why=""
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    why="SIPp timed out after ${case_limit}s"
  elif [ "$rc" -ne 0 ]; then
    why="SIPp exit status $rc"
  else
    if why=$(check_state "$kind" "$dir"); then
      why=""
    else
      why="admin API: ${why:-check failed}"
    fi
  fi
  stop_server
  local took=$((SECONDS - started))
  if [ -z "$why" ]; then
    report PASS "$name (${took}s)"
  else
    report FAIL "$name (${took}s): $why"
    {
      echo "--- SIPp log (the scenarios' <log> actions):"
      tail -n 8 "$dir/sipp-logs.log" 2>/dev/null
      echo "--- SIPp errors:"
      tr '\r' '\n' <"$dir/sipp-errors.log" 2>/dev/null | grep -v '^$' | tail -n 8
      echo "--- presence-server log (last lines):"
      tail -n 12 "$dir/server.log"
    } | sed 's/^/   /'
  fi
}

# report PASS|FAIL TEXT
report() {
  local verdict=$1 text=$2
  echo "$verdict: $text"
  if [ "$verdict" = PASS ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

backends=(sqlite)
if [ -z "$pg_url" ] && [ "${CORELAB_REQUIRE_PG:-}" = 1 ]; then
  echo "FAIL: postgres (CORELAB_REQUIRE_PG=1 but CORELAB_TEST_PG_URL is not set)"
  failed=$((failed + 1))
elif [ -n "$pg_url" ]; then
  if psql -q "$pg_url" -c "SELECT 1" >/dev/null 2>&1; then
    backends+=(postgres)
  else
    echo "sipp-presence: cannot reach PostgreSQL at $pg_url"
    failed=$((failed + 1))
  fi
fi

echo "sipp-presence: $(sipp -v 2>/dev/null | grep -o 'SIPp v[0-9.]*' | head -1) against $server; work dir $work"
for backend in "${backends[@]}"; do
  for tr in udp tcp; do
    run_case "$backend" "$tr" recover timeout
    run_case "$backend" "$tr" recover 500
    run_case "$backend" "$tr" threshold timeout
  done
  run_case "$backend" udp recover 403
  run_case "$backend" udp threshold 500
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
