#!/usr/bin/env bash
# Interop: Wireshark's Diameter dissector (tshark 4.0) as an independent decoder of what corelab's
# diameter-peer puts on the wire. Captures on loopback while our `client` talks to our `server`:
# CER/CEA, Gx, Gxx and S9 CCR/CCA, Rx AAR/AAA and STR/STA, the server's RAR (after a CCR) and ASR
# (after the AAR) answered by the client, DPR/DPA. Then dissects the capture and fails on any
# malformed or Warning frame, on any TCP payload tshark could not read as Diameter (a broken header
# or first AVP shows as "Continuation", not as malformed), and on any expected command (request and
# answer, per application) that is missing or answered with a Result-Code other than 2001.
# Env: DIAMETER_PEER (default target/debug/diameter-peer). PASS/FAIL per check; exit 1 on any FAIL.
set -uo pipefail
# shellcheck source=../diameter/lib.sh
source "$(dirname "$0")/../diameter/lib.sh"
need_binary
command -v tshark >/dev/null || { echo "FAIL: tshark missing (scripts/install-peers.sh)"; exit 1; }

EX="$REPO/crates/diameter-peer/examples"
REALM=epc.mnc001.mcc001.3gppnetwork.org
COMMON=(--origin-realm "$REALM" --host-ip 127.0.0.1 --app gx --app gxx --app s9 --app rx)
PORT=${TSHARK_TEST_PORT:-$(free_port)}

if capture_start diameter "tcp port $PORT" "$PORT"; then live=yes; else live=no; fi
check "capture is live before the test traffic" [ "$live" = yes ]
[ "$live" = yes ] || { tail -3 "$T/diameter.log"; finish; exit 1; }

start server 60 "$DIAMETER_PEER" server --origin-host pcrf.corelab.test "${COMMON[@]}" \
  --listen "127.0.0.1:$PORT" --answers "$EX/answers.toml" \
  --send-after-answer "Credit-Control=$EX/rar.toml" --send-after-answer "AA=$EX/asr.toml"
SERVER=$LAST_PID
wait_for "$T/server.log" "listening on" 15 || { fail "our server starts" "$(tail -3 "$T/server.log")"; finish; exit 1; }

# One client run: every request file in order (the sample files), then the server's requests.
cat "$EX/gx-ccr-i.toml" "$EX/gxx-ccr.toml" "$EX/s9-ccr.toml" "$EX/rx-aar.toml" "$EX/rx-str.toml" >"$T/requests.toml"
rc=0
timeout 30 "$DIAMETER_PEER" client --origin-host pcef.corelab.test "${COMMON[@]}" --connect "127.0.0.1:$PORT" \
  --requests "$T/requests.toml" --wait-requests 4 --answers "$EX/answers.toml" >"$T/client.log" 2>&1 || rc=$?
check "our client: every answer 2xxx, server requests answered (exit 0)" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || tail -20 "$T/client.log"

stop "$SERVER" INT >/dev/null 2>&1
capture_stop

tshark_decode_checks capture "$T/diameter.pcapng" "$PORT"
rst=$(tshark -r "$T/diameter.pcapng" -d "tcp.port==$PORT,diameter" -Y 'tcp.flags.reset == 1' 2>/dev/null | wc -l)
echo "info: $rst TCP RST frame(s)"
cp "$T/diameter.pcapng.pdus" "$T/pdus.txt"
echo "info: $(wc -l <"$T/pdus.txt") Diameter PDUs dissected"
# expect NAME CODE APP: a request and an answer with Result-Code 2001.
expect() {
  local name=$1 code=$2 app=$3
  if awk -v c="$code" -v a="$app" '$2==c && $3=="R" && $4==a {f=1} END {exit !f}' "$T/pdus.txt"; then
    pass "$name request dissected (cmd $code, app $app)"
  else
    fail "$name request dissected (cmd $code, app $app)"
  fi
  local rcs
  rcs=$(awk -v c="$code" -v a="$app" '$2==c && $3=="A" && $4==a {print $5}' "$T/pdus.txt" | sort -u | tr '\n' ' ')
  if [ "$rcs" = "2001 " ]; then
    pass "$name answer dissected, Result-Code 2001"
  else
    fail "$name answer dissected, Result-Code 2001" "Result-Code(s): ${rcs:-none}"
  fi
}
expect CER/CEA 257 0
expect "Gx CCR/CCA" 272 16777238
expect "Gxx CCR/CCA" 272 16777266
expect "S9 CCR/CCA" 272 16777267
expect "Rx AAR/AAA" 265 16777236
expect "Rx STR/STA" 275 16777236
expect "Gx RAR/RAA" 258 16777238
expect "Rx ASR/ASA" 274 16777236
expect DPR/DPA 282 0

finish
