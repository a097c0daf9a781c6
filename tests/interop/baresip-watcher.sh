#!/usr/bin/env bash
# Interop: baresip 1.0 (a real SIP UA nobody here wrote) as the presence watcher.
# presence-server in direct mode; baresip (headless, PEERS.md) registers alice directly with it
# and subscribes to bob's presence (contacts entry with ;presence=p2p); bob is a ue-emulator that
# publishes open, then a second bob instance publishes closed (same PIDF tuple id, so it
# replaces the first). baresip must show bob Online, then Offline: checked in its log
# ("changed status from X to Y") and with its ctrl_tcp `contacts` command.
# Prints PASS/FAIL per check and "N passed, M failed"; exit status 1 on any failure.
#   usage: tests/interop/baresip-watcher.sh        (KEEP=1 keeps the temp dir for debugging)
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${CORELAB_BIN:-$ROOT/target/debug}
DOMAIN=lab.example
DEADLINE=$((SECONDS + 55))
TMP=$(mktemp -d /tmp/corelab-baresip.XXXXXX)
PIDS=()
LOGS=(presence.log baresip.log bob1.out bob2.out)
# shellcheck source=../sip/lib.sh
source "$ROOT/tests/sip/lib.sh"

cleanup() {
    # Newest first: baresip un-SUBSCRIBEs and un-REGISTERs on SIGTERM and would wait out
    # Timer F if presence-server were already gone. Anything still running after 5 s is killed
    # (for a `timeout` wrapper: its child, by parent PID, then the wrapper).
    local i pid n
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        pid=${PIDS[i]}
        kill "$pid" 2>/dev/null || continue
        for ((n = 0; n < 50; n++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            pkill -KILL -P "$pid" 2>/dev/null
            kill -KILL "$pid" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null
    done
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Two free loopback ports: baresip's SIP port P (it also binds TLS on P+1) and ctrl_tcp's,
# chosen so that neither collides with the other nor with P+1.
read -r SIP_PORT CTRL_PORT < <(python3 - <<'EOF'
import socket
def free(kind, port=0):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind(("127.0.0.1", port))
        return s.getsockname()[1]
    except OSError:
        return None
    finally:
        s.close()
while True:
    p = free(socket.SOCK_DGRAM)
    if p < 65000 and free(socket.SOCK_STREAM, p) and free(socket.SOCK_STREAM, p + 1):
        break
while True:
    c = free(socket.SOCK_STREAM)
    if c not in (p, p + 1):
        break
print(p, c)
EOF
)

contacts() { # baresip's ctrl_tcp `contacts` answer (netstring-framed JSON), printed as text
    python3 - "$CTRL_PORT" <<'EOF'
import json, socket, sys, re
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
msg = json.dumps({"command": "contacts", "token": "corelab"}).encode()
s.sendall(str(len(msg)).encode() + b":" + msg + b",")
buf = b""
while True:
    m = re.match(rb"(\d+):", buf)
    if m and len(buf) >= m.end() + int(m.group(1)) + 1:
        body = json.loads(buf[m.end():m.end() + int(m.group(1))])
        if body.get("response") and body.get("token") == "corelab":
            print(re.sub(r"\x1b\[[0-9;]*m", "", body.get("data", "")))
            break
        buf = buf[m.end() + int(m.group(1)) + 1:]
        continue
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
EOF
}
bob_shows() { contacts | grep -i "bob@$DOMAIN" | grep -qi "$1"; }

for tool in baresip curl python3; do
    command -v "$tool" >/dev/null || { echo "FAIL prerequisite: $tool not installed (scripts/install-peers.sh)"; failed=1; finish; }
done
if [ ! -x "$BIN/presence-server" ] || [ ! -x "$BIN/ue-emulator" ]; then
    (cd "$ROOT" && cargo build -q -p corelab-presence -p corelab-ue-emulator) || { echo "FAIL build"; failed=1; finish; }
fi

# --- presence-server, direct mode -----------------------------------------------------------
mkdir -p "$TMP/data"
cat >"$TMP/presence.toml" <<EOF
[node]
data_dir = "$TMP/data"
ready_file = "$TMP/presence.ready"
[admin]
listen = "127.0.0.1:0"
[grpc]
listen = "127.0.0.1:0"
[store]
url = "sqlite://$TMP/presence.db"
[sip]
listen = "127.0.0.1:0"
domain = "$DOMAIN"
t1_ms = 50
[registrar]
mode = "direct"
EOF
timeout 60 "$BIN/presence-server" --config "$TMP/presence.toml" >"$TMP/presence.log" 2>&1 &
PIDS+=($!)
wait_for 15 test -s "$TMP/presence.ready"
check "presence-server ready (direct mode)" test -s "$TMP/presence.ready"
[ -s "$TMP/presence.ready" ] || finish
AS=$(json_get "$TMP/presence.ready" sip)
ADMIN=$(json_get "$TMP/presence.ready" admin)

# --- baresip: alice, watching bob -----------------------------------------------------------
mkdir -p "$TMP/home/.baresip"
cat >"$TMP/home/.baresip/config" <<EOF
poll_method epoll
sip_listen 127.0.0.1:$SIP_PORT
module_path /usr/lib/baresip/modules
module account.so
module contact.so
module presence.so
module ctrl_tcp.so
module_app menu.so
ctrl_tcp_listen 127.0.0.1:$CTRL_PORT
EOF
echo "<sip:alice@$DOMAIN>;outbound=\"sip:$AS\";regint=600;pubint=0;mwi=no;answermode=manual" \
    >"$TMP/home/.baresip/accounts"
echo "\"Bob\" <sip:bob@$DOMAIN>;presence=p2p" >"$TMP/home/.baresip/contacts"
HOME="$TMP/home" timeout 58 baresip -f "$TMP/home/.baresip" -n 127.0.0.1 -s -t 55 \
    </dev/null >"$TMP/baresip.log" 2>&1 &
PIDS+=($!)
wait_for 10 grep -q "alice@$DOMAIN: .* 200 OK" "$TMP/baresip.log"
check "baresip: REGISTER alice directly with presence-server -> 200" grep -q "alice@$DOMAIN: .* 200 OK" "$TMP/baresip.log"
registered_direct() {
    curl -fsS "http://$ADMIN/registrations" | python3 -c '
import json, sys
sys.exit(0 if any(r["aor"] == sys.argv[1] and r["mode"] == "direct" for r in json.load(sys.stdin)) else 1)' "$1"
}
check "presence-server: alice registered (mode direct)" registered_direct "sip:alice@$DOMAIN"
subscribed() {
    curl -fsS "http://$ADMIN/subscriptions" | python3 -c '
import json, sys
sys.exit(0 if sum(s["watcher"] == sys.argv[1] and s["resource"] == sys.argv[2] and s["event"] == "presence"
                  for s in json.load(sys.stdin)) == 1 else 1)' "$1" "$2"
}
wait_for 10 subscribed "sip:alice@$DOMAIN" "sip:bob@$DOMAIN"
check "presence-server: baresip's SUBSCRIBE to bob accepted (one subscription)" subscribed "sip:alice@$DOMAIN" "sip:bob@$DOMAIN"
wait_for 5 contacts
check "baresip ctrl_tcp: contacts answers and lists bob" sh -c "$(declare -f contacts); CTRL_PORT=$CTRL_PORT contacts | grep -qi bob@$DOMAIN"

# --- bob goes online ------------------------------------------------------------------------
start_bob() { # start_bob N open|closed
    timeout 30 "$BIN/ue-emulator" --aor "sip:bob@$DOMAIN" --proxy "sip:$AS" --t1-ms 50 \
        --admin-listen 127.0.0.1:0 --grpc-listen 127.0.0.1:0 --ready-file "$TMP/bob$1.ready" \
        --publish "$2" --note desk >"$TMP/bob$1.out" 2>"$TMP/bob$1.err" &
    BOB_PID=$!
    PIDS+=($BOB_PID)
    wait_for 10 test -s "$TMP/bob$1.ready"
}
start_bob 1 open
check "bob: PUBLISH open -> 200" grep -q "^\[bob\] PUBLISH open -> 200" "$TMP/bob1.out"
wait_for 5 grep -q "sip:bob@$DOMAIN> changed status from .* to .*Online" "$TMP/baresip.log"
check "baresip log: bob changed status to Online" grep -q "sip:bob@$DOMAIN> changed status from .* to .*Online" "$TMP/baresip.log"
wait_for 3 bob_shows Online
check "baresip ctrl_tcp contacts: bob Online" bob_shows Online

# --- bob goes offline (a new instance publishes closed) -------------------------------------
kill "$BOB_PID" 2>/dev/null
wait "$BOB_PID" 2>/dev/null
start_bob 2 closed
check "bob (second instance): PUBLISH closed -> 200" grep -q "^\[bob\] PUBLISH closed -> 200" "$TMP/bob2.out"
wait_for 5 grep -q "sip:bob@$DOMAIN> changed status from .*Online.* to .*Offline" "$TMP/baresip.log"
check "baresip log: bob changed status from Online to Offline" \
    grep -q "sip:bob@$DOMAIN> changed status from .*Online.* to .*Offline" "$TMP/baresip.log"
wait_for 3 bob_shows Offline
check "baresip ctrl_tcp contacts: bob Offline" bob_shows Offline
check "presence-server: no failed NOTIFY towards baresip" sh -c "! grep -q 'NOTIFY failed' '$TMP/presence.log'"

finish
