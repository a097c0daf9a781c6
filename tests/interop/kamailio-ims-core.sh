#!/usr/bin/env bash
# Interop: a real Kamailio 5.6 as the IMS core (registrar + proxy, tests/kamailio/ims-core.cfg)
# in front of presence-server in third_party mode, with two ue-emulators registering through it.
# Checks the seed flow (spec presence.md, fig. 3/4) end to end:
#   REGISTER via the core -> third-party REGISTER to presence-server -> SUBSCRIBE (record-routed)
#   -> a NOTIFY that alice ignores -> the subscription-failure MESSAGE delivered through Kamailio
#   -> re-SUBSCRIBE -> alice sees bob open again; then carol, registered through the core too,
#   answers NOTIFYs 500 until the threshold (3 MESSAGEs): presence-server signs her out and
#   raises an alarm, while alice stays registered.
# Store: SQLite in a temp dir, or a fresh PostgreSQL database when $CORELAB_TEST_PG_URL is set.
# Prints PASS/FAIL per check and "N passed, M failed"; exit status 1 on any failure.
# Needs: kamailio (scripts/install-peers.sh), curl, python3; builds the two binaries if missing.
#   usage: tests/interop/kamailio-ims-core.sh        (KEEP=1 keeps the temp dir for debugging)
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${CORELAB_BIN:-$ROOT/target/debug}
DOMAIN=lab.example
DEADLINE=$((SECONDS + 80)) # whole run bounded below 90 s
TMP=$(mktemp -d /tmp/corelab-kam-ims.XXXXXX)
PIDS=()
PG_DB=""
LOGS=(presence.log kamailio.log bob.out alice.out carol.out)
# shellcheck source=../sip/lib.sh
source "$ROOT/tests/sip/lib.sh"

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    if [ -n "$PG_DB" ]; then
        psql "$CORELAB_TEST_PG_URL" -qAt -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1
    fi
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_udp_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

for tool in kamailio curl python3; do
    command -v "$tool" >/dev/null || { echo "FAIL prerequisite: $tool not installed (scripts/install-peers.sh)"; failed=1; finish; }
done
if [ ! -x "$BIN/presence-server" ] || [ ! -x "$BIN/ue-emulator" ]; then
    (cd "$ROOT" && cargo build -q -p corelab-presence -p corelab-ue-emulator) || { echo "FAIL build"; failed=1; finish; }
fi

# --- store ---------------------------------------------------------------------------------
if [ -n "${CORELAB_TEST_PG_URL:-}" ]; then
    PG_DB="corelab_kam_ims_$$_$RANDOM"
    if ! psql "$CORELAB_TEST_PG_URL" -qAt -c "CREATE DATABASE \"$PG_DB\"" >/dev/null; then
        echo "FAIL prerequisite: cannot create a database with psql on \$CORELAB_TEST_PG_URL"
        PG_DB=""
        failed=1
        finish
    fi
    STORE_URL=$(python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$CORELAB_TEST_PG_URL" "$PG_DB")
    echo "store: PostgreSQL database $PG_DB"
else
    STORE_URL="sqlite://$TMP/presence.db"
    echo "store: SQLite $TMP/presence.db"
fi

# --- presence-server (third_party mode; core_uri = Kamailio) --------------------------------
KAM_IP=127.0.0.1
KAM_PORT=$(free_udp_port)
CORE_URI="sip:$KAM_IP:$KAM_PORT"
mkdir -p "$TMP/data"
cat >"$TMP/presence.toml" <<EOF
[node]
name = "presence-server"
data_dir = "$TMP/data"
ready_file = "$TMP/presence.ready"
[admin]
listen = "127.0.0.1:0"
[grpc]
listen = "127.0.0.1:0"
[store]
url = "$STORE_URL"
[sip]
listen = "127.0.0.1:0"
domain = "$DOMAIN"
t1_ms = 50
[registrar]
mode = "third_party"
trusted_cores = ["127.0.0.1"]
core_uri = "$CORE_URI"
[recovery]
threshold = 3
on_threshold = "deregister"
EOF
timeout 90 "$BIN/presence-server" --config "$TMP/presence.toml" >"$TMP/presence.log" 2>&1 &
PIDS+=($!)
wait_for 15 test -s "$TMP/presence.ready"
check "presence-server ready (third_party mode)" test -s "$TMP/presence.ready"
[ -s "$TMP/presence.ready" ] || finish
AS_SIP=$(json_get "$TMP/presence.ready" sip)
ADMIN=$(json_get "$TMP/presence.ready" admin)
AS_IP=${AS_SIP%:*}
AS_PORT=${AS_SIP##*:}
echo "presence-server sip=$AS_SIP admin=$ADMIN; Kamailio $CORE_URI"

# --- Kamailio (IMS core) ---------------------------------------------------------------------
sed -e "s|__LISTEN_IP__|$KAM_IP|g" -e "s|__LISTEN_PORT__|$KAM_PORT|g" -e "s|__DOMAIN__|$DOMAIN|g" \
    -e "s|__AS_IP__|$AS_IP|g" -e "s|__AS_PORT__|$AS_PORT|g" -e "s|__CTL_SOCKET__|$TMP/kamailio.ctl|g" \
    "$ROOT/tests/kamailio/ims-core.cfg" >"$TMP/kamailio.cfg"
check "Kamailio config parses (kamailio -c)" kamailio -c -f "$TMP/kamailio.cfg"
timeout 90 kamailio -f "$TMP/kamailio.cfg" -DD -E -m 64 -M 8 -P "$TMP/kamailio.pid" >"$TMP/kamailio.log" 2>&1 &
KAM_PID=$!
PIDS+=($KAM_PID)
kam_listening() {
    kill -0 "$KAM_PID" && grep -q "udp: $KAM_IP \[$KAM_IP\]:$KAM_PORT" "$TMP/kamailio.log" &&
        grep -q "io_listen_loop" "$TMP/kamailio.log"
}
wait_for 10 kam_listening
check "Kamailio listening on udp:$KAM_IP:$KAM_PORT" kam_listening
kam_listening || finish

# --- bob: registers through the core and publishes open --------------------------------------
start_ue() { # start_ue NAME ARGS...
    local name=$1
    shift
    timeout 90 "$BIN/ue-emulator" --aor "sip:$name@$DOMAIN" --proxy "$CORE_URI" --t1-ms 50 \
        --admin-listen 127.0.0.1:0 --grpc-listen 127.0.0.1:0 --ready-file "$TMP/$name.ready" \
        "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    PIDS+=($!)
    wait_for 10 test -s "$TMP/$name.ready"
}
start_ue bob --publish open --note desk
check "bob: REGISTER through Kamailio -> 200" grep -q "^\[bob\] REGISTER expires=3600 -> 200" "$TMP/bob.out"
check "bob: PUBLISH open through Kamailio -> 200" grep -q "^\[bob\] PUBLISH open -> 200" "$TMP/bob.out"

registration_mode() { # registration_mode AOR MODE: GET /registrations lists AOR with MODE
    curl -fsS "http://$ADMIN/registrations" | python3 -c '
import json, sys
regs = json.load(sys.stdin)
sys.exit(0 if any(r["aor"] == sys.argv[1] and r["mode"] == sys.argv[2] for r in regs) else 1)' "$1" "$2"
}
wait_for 5 registration_mode "sip:bob@$DOMAIN" third_party
check "third-party REGISTER: presence-server has bob, mode third_party" registration_mode "sip:bob@$DOMAIN" third_party
check "Kamailio: the AS answered the third-party REGISTER 200 (UE's 200 held until then)" \
    grep -q "third-party REGISTER answered 200" "$TMP/kamailio.log"
check "third-party REGISTER came from Kamailio (contact = S-CSCF)" \
    sh -c "curl -fsS http://$ADMIN/registrations | grep -q 'sip:scscf@$KAM_IP:$KAM_PORT'"

# --- alice: watches bob, ignores the first NOTIFY ---------------------------------------------
start_ue alice --buddy "sip:bob@$DOMAIN" --fail-notify 1 --fail-mode ignore
check "alice: REGISTER through Kamailio -> 200" grep -q "^\[alice\] REGISTER expires=3600 -> 200" "$TMP/alice.out"
check "third-party REGISTER: presence-server has alice, mode third_party" registration_mode "sip:alice@$DOMAIN" third_party
check "alice: SUBSCRIBE presence bob through Kamailio -> 200" \
    grep -q "^\[alice\] SUBSCRIBE presence sip:bob@$DOMAIN -> 200" "$TMP/alice.out"
wait_for 5 grep -q "NOTIFY CSeq 1 ignored on purpose" "$TMP/alice.out"
check "alice: first NOTIFY (via Record-Route through Kamailio) ignored on purpose" \
    grep -q "^\[alice\] NOTIFY CSeq 1 ignored on purpose" "$TMP/alice.out"

# Timer F = 64 x 50 ms = 3.2 s, then the MESSAGE, the re-SUBSCRIBE and a fresh NOTIFY.
wait_for 15 grep -q "^\[alice\] buddy sip:bob@$DOMAIN is open" "$TMP/alice.out"
check "presence-server: NOTIFY failed (timeout)" grep -q "NOTIFY failed" "$TMP/presence.log"
check "alice: subscription-failure MESSAGE received (timeout, 1/3)" \
    grep -q "^\[alice\] subscription-failure MESSAGE: presence sip:bob@$DOMAIN failed (timeout), 1/3" "$TMP/alice.out"
check "Kamailio: MESSAGE to alice delivered via lookup(location)" \
    grep -q "delivering MESSAGE for sip:alice@$DOMAIN to sip:alice@127.0.0.1:" "$TMP/kamailio.log"
check "alice: re-SUBSCRIBE through Kamailio -> 200" \
    test "$(grep -c "^\[alice\] SUBSCRIBE presence sip:bob@$DOMAIN -> 200" "$TMP/alice.out")" -ge 2
check "alice: sees bob open again" grep -q "^\[alice\] buddy sip:bob@$DOMAIN is open desk" "$TMP/alice.out"
check "Kamailio: in-dialog NOTIFY loose-routed to alice" grep -q "in-dialog NOTIFY along the route set" "$TMP/kamailio.log"
subscription_live() {
    curl -fsS "http://$ADMIN/subscriptions" | python3 -c '
import json, sys
subs = json.load(sys.stdin)
sys.exit(0 if sum(s["watcher"] == sys.argv[1] and s["resource"] == sys.argv[2] for s in subs) == 1 else 1)' "$1" "$2"
}
check "presence-server: exactly one live alice->bob subscription" subscription_live "sip:alice@$DOMAIN" "sip:bob@$DOMAIN"

# --- carol: answers every NOTIFY 500 until the threshold signs her out --------------------------
# Threshold 3: three failures each bring a MESSAGE (1/3..3/3) and a re-SUBSCRIBE; the failure
# after the third MESSAGE triggers on_threshold = "deregister" (docs/presence.md, boundary).
start_ue carol --buddy "sip:bob@$DOMAIN" --fail-notify 4 --fail-mode reject --fail-status 500
check "carol: REGISTER through Kamailio -> 200" grep -q "^\[carol\] REGISTER expires=3600 -> 200" "$TMP/carol.out"
registered() { # registered AOR: GET /registrations lists AOR
    curl -fsS "http://$ADMIN/registrations" | python3 -c '
import json, sys
sys.exit(0 if any(r["aor"] == sys.argv[1] for r in json.load(sys.stdin)) else 1)' "$1"
}
alarm_for() { # alarm_for AOR: GET /alarms lists an uncleared alarm for AOR
    curl -fsS "http://$ADMIN/alarms" | python3 -c '
import json, sys
sys.exit(0 if any(a["aor"] == sys.argv[1] and a["active"] for a in json.load(sys.stdin)) else 1)' "$1"
}
wait_for 20 alarm_for "sip:carol@$DOMAIN"
for n in 1 2 3; do
    check "carol: MESSAGE $n/3 received through Kamailio" \
        grep -q "^\[carol\] subscription-failure MESSAGE: presence sip:bob@$DOMAIN failed (rejected 500), $n/3" "$TMP/carol.out"
done
check "Kamailio: MESSAGEs to carol delivered via lookup(location)" \
    test "$(grep -c "delivering MESSAGE for sip:carol@$DOMAIN" "$TMP/kamailio.log")" -ge 3
check "presence-server: MESSAGE threshold reached for carol" grep -q "MESSAGE threshold reached" "$TMP/presence.log"
check "presence-server: alarm raised for carol (GET /alarms)" alarm_for "sip:carol@$DOMAIN"
not_registered() { ! registered "$1"; }
check "presence-server: carol signed out (no registration)" not_registered "sip:carol@$DOMAIN"
check "presence-server: alice still registered" registered "sip:alice@$DOMAIN"

finish
