#!/usr/bin/env bash
# Interop: corelab's diameter-peer against python-diameter 0.9 (PyPI), an independent Diameter stack,
# at the application level (tests/diameter/py/*.py drive it).
#  1. python-diameter as Gx client (PCEF) -> our `server`: CCR-I/U/T answered CCA 2001 (CC-Request-Type
#     and -Number echoed), our server's RAR after the CCR-I answered RAA 2001, DPR/DPA.
#  2. python-diameter as Rx client (AF) -> our `server`: AAR/AAA, STR/STA, DPR/DPA.
#  3. our `client` -> python-diameter as Gx/Rx server (PCRF): CCR-I/U/T, then AAR and STR; after the
#     CCR-I and after the AAR python-diameter sends a RAR that our client answers (RAA 2001, checked
#     by python-diameter).
# python-diameter sends Origin-Host/Origin-Realm without the M bit (RFC 6733 wants it set) and lists
# Gx/Rx as plain Auth-Application-Id in its CER; our nodes must still talk to it.
# Env: DIAMETER_PEER (default target/debug/diameter-peer). PASS/FAIL per check; exit 1 on any FAIL.
set -uo pipefail
# shellcheck source=../diameter/lib.sh
source "$(dirname "$0")/../diameter/lib.sh"
need_binary
python3 -c 'import diameter.node' 2>/dev/null || { echo "FAIL: python-diameter missing (scripts/install-peers.sh)"; exit 1; }

EX="$REPO/crates/diameter-peer/examples"
PY="$DDIR/py"
REALM=epc.mnc001.mcc001.3gppnetwork.org
PY_REALM=py.interop.test
COMMON=(--origin-realm "$REALM" --host-ip 127.0.0.1 --app gx --app rx)

# ---------------------------------------------------------------- 1 + 2: python clients -> our server
PORT=$(free_port)
start server 90 "$DIAMETER_PEER" server --origin-host pcrf.corelab.test "${COMMON[@]}" \
  --listen "127.0.0.1:$PORT" --answers "$EX/answers.toml" --send-after-answer "CCR-I=$EX/rar.toml" -v
SERVER=$LAST_PID
wait_for "$T/server.log" "listening on" 15 || { fail "our server starts" "$(tail -3 "$T/server.log")"; finish; exit 1; }

run_py() { # NAME ARGS...: one python-diameter run; its PASS/FAIL lines are shown with a prefix
  local name=$1; shift
  local rc=0
  timeout 60 python3 "$@" >"$T/$name.log" 2>"$T/$name.err" || rc=$?
  sed -n "s/^\(PASS\|FAIL\): /  $name: \1: /p" "$T/$name.log"
  return $rc
}

rc=0
run_py gx-client "$PY/client.py" --app gx --connect "127.0.0.1:$PORT" --origin-host pcef.py.interop.test \
  --realm "$PY_REALM" --peer-host pcrf.corelab.test --peer-realm "$REALM" --answer-rars 1 || rc=$?
check "1: python-diameter Gx client: CCR-I/U/T -> CCA 2001, RAR from our server -> RAA, DPR/DPA" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || { tail -5 "$T/gx-client.err"; tail -15 "$T/server.log"; }

rc=0
run_py rx-client "$PY/client.py" --app rx --connect "127.0.0.1:$PORT" --origin-host af.py.interop.test \
  --realm "$PY_REALM" --peer-host pcrf.corelab.test --peer-realm "$REALM" || rc=$?
check "2: python-diameter Rx client: AAR -> AAA 2001, STR -> STA 2001, DPR/DPA" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || { tail -5 "$T/rx-client.err"; tail -15 "$T/server.log"; }
check_grep "1: our server got RAA 2001 from python-diameter" "$T/server.log" "recv Re-Auth-Answer.*Result-Code=2001"
check "our server survived both python-diameter clients" kill -0 "$SERVER"
stop "$SERVER" INT >/dev/null 2>&1

# ---------------------------------------------------------------- 3: our client -> python server
PORT=$(free_port)
# 5 application requests: CCR-I, CCR-U, CCR-T (one client run), AAR, STR (a second run).
start pyserver 90 python3 "$PY/server.py" --listen "127.0.0.1:$PORT" --origin-host pcrf.py.interop.test \
  --realm "$REALM" --peer-host pcef.corelab.test --peer-realm "$REALM" --apps gx,rx --send-rar --count 5 --wait 60
PYSERVER=$LAST_PID
wait_for "$T/pyserver.log" "listening on" 20 || { fail "python-diameter server starts" "$(tail -3 "$T/pyserver.log")"; finish; exit 1; }

# One client run = one session: the sample files one after the other.
cat "$EX/gx-ccr-i.toml" "$EX/gx-ccr-u.toml" "$EX/gx-ccr-t.toml" >"$T/gx-session.toml"
cat "$EX/rx-aar.toml" "$EX/rx-str.toml" >"$T/rx-session.toml"
rc=0
timeout 30 "$DIAMETER_PEER" client --origin-host pcef.corelab.test "${COMMON[@]}" --connect "127.0.0.1:$PORT" \
  --requests "$T/gx-session.toml" --wait-requests 1 --answers "$EX/answers.toml" >"$T/client-gx.log" 2>&1 || rc=$?
check "3: our Gx client -> python-diameter: CCR-I/U/T -> CCA 2001, its RAR answered, DPR/DPA (exit 0)" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || tail -20 "$T/client-gx.log"
rc=0
timeout 30 "$DIAMETER_PEER" client --origin-host pcef.corelab.test "${COMMON[@]}" --connect "127.0.0.1:$PORT" \
  --requests "$T/rx-session.toml" --wait-requests 1 --answers "$EX/answers.toml" >"$T/client-rx.log" 2>&1 || rc=$?
check "3: our Rx client -> python-diameter: AAR -> AAA 2001, its RAR answered, STR -> STA 2001 (exit 0)" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || tail -20 "$T/client-rx.log"

rc=0
reap "$PYSERVER" || rc=$?
sed -n 's/^\(PASS\|FAIL\): /  python-diameter server: \1: /p' "$T/pyserver.log"
check "3: python-diameter server: 5 requests answered, both RAAs 2001, DPR seen (exit 0)" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || grep -av "^\(received\|sent\)" "$T/pyserver.log" | tail -8

finish
