#!/usr/bin/env bash
# Interop: corelab's diameter-peer against freeDiameter 1.2.1 (freeDiameterd, Debian), over TCP on
# loopback. freeDiameter's own message log (dbg_msg_dumps 0x2222: one line per message) is the oracle.
#  A. freeDiameter connects to our `server`: CER/CEA, freeDiameter's DWR (Tw 6 s, its minimum) answered
#     DWA, then SIGINT makes freeDiameter send DPR (REBOOTING), answered DPA.
#  B. freeDiameter as a relay (rt_default: everything to our server): our `client` connects to it
#     (CER/CEA, freeDiameter advertises the Relay application), a Gx CCR-I goes client -> freeDiameter
#     -> server and the CCA 2001 comes back; our server's RAR after the CCR-I goes server ->
#     freeDiameter -> client (routed on Destination-Host) and the RAA comes back; the client ends
#     with DPR/DPA to freeDiameter; our server's DWR (Tw 3 s) answered DWA by freeDiameter.
# Env: DIAMETER_PEER (default target/debug/diameter-peer). Prints PASS/FAIL per check; exit 1 on any FAIL.
set -uo pipefail
# shellcheck source=../diameter/lib.sh
source "$(dirname "$0")/../diameter/lib.sh"
need_binary
command -v freeDiameterd >/dev/null || { echo "FAIL: freeDiameterd missing (scripts/install-peers.sh)"; exit 1; }

EX="$REPO/crates/diameter-peer/examples"
OUR_REALM=epc.mnc001.mcc001.3gppnetwork.org
FD_REALM=fd.interop.test
SERVER_ID=pcrf.corelab.test
CLIENT_ID=pcef.corelab.test
FD_ID=dra.fd.interop.test
COMMON=(--origin-realm "$OUR_REALM" --host-ip 127.0.0.1 --app gx --app rx --app gxx --app s9)

# ---------------------------------------------------------------- A: freeDiameter -> our server
SPORT=$(free_port)
FPORT=$(free_port)
start server 60 "$DIAMETER_PEER" server --origin-host "$SERVER_ID" "${COMMON[@]}" --tw-secs 30 \
  --listen "127.0.0.1:$SPORT" --answers "$EX/answers.toml"
SERVER=$LAST_PID
if ! wait_for "$T/server.log" "listening on" 15; then
  fail "our server starts" "$(tail -3 "$T/server.log")"
  finish; exit 1
fi
fd_conf fdA "$FD_ID" "$FD_REALM" "$FPORT" \
  "TwTimer = 6;" \
  "LoadExtension = \"$FD_EXT/dbg_msg_dumps.fdx\" : \"0x2222\";" \
  "ConnectPeer = \"$SERVER_ID\" { ConnectTo = \"127.0.0.1\"; No_TLS; Port = $SPORT; Realm = \"$OUR_REALM\"; };"
start fdA 40 freeDiameterd -c "$T/fdA.conf"
FDA=$LAST_PID
L="$T/fdA.log"
if wait_for "$L" "STATE_WAITCEA'.*-> 'STATE_OPEN'.*'$SERVER_ID'" 10; then
  pass "A: freeDiameter CER -> our CEA, connection OPEN"
else
  fail "A: freeDiameter CER -> our CEA, connection OPEN" "$(grep -aE 'ERROR|CEA|CLOSED' "$L" | tail -3)"
fi
# RFC 3539: any message received resets the watchdog, so on one connection only the side whose
# Tw runs out first sends DWR. Here ours is 30 s: freeDiameter's (6 s +/- 2 s) runs out first.
# Our DWR is checked in B, where our server's Tw is 3 s (below freeDiameter's).
wait_for "$L" "RCV from '$SERVER_ID'.*0/280 f:----" 15
check_grep "A: freeDiameter DWR -> our DWA" "$L" "RCV from '$SERVER_ID'.*0/280 f:----"
# SIGINT (through timeout) makes freeDiameter send DPR with cause REBOOTING.
kill -INT "$FDA"
wait_for "$L" "RCV from '$SERVER_ID'.*0/282 f:----" 10
check_grep "A: freeDiameter DPR -> our DPA" "$L" "RCV from '$SERVER_ID'.*0/282 f:----"
reap "$FDA"
check "A: our server still running after freeDiameter left" kill -0 "$SERVER"

stop "$SERVER" INT >/dev/null 2>&1

# ---------------------------------------------------------------- B: freeDiameter as relay
# Our server sends a RAR after answering the CCR-I; it travels back through the relay.
SPORT=$(free_port)
RPORT=$(free_port)
start server2 60 "$DIAMETER_PEER" server --origin-host "$SERVER_ID" "${COMMON[@]}" --tw-secs 3 \
  --listen "127.0.0.1:$SPORT" --answers "$EX/answers.toml" --send-after-answer "CCR-I=$EX/rar.toml"
SERVER=$LAST_PID
if ! wait_for "$T/server2.log" "listening on" 15; then
  fail "B: our server (with RAR) starts" "$(tail -3 "$T/server2.log")"
  finish; exit 1
fi
echo "ALLOW_IPSEC $CLIENT_ID" >"$T/acl.conf"
# rt_default: any request -> our server (score +100). Gx AVPs in freeDiameter's dictionary come from
# dict_dcca + dict_dcca_3gpp (it has no Gx application object, it relays on Auth-Application-Id).
echo "* : \"$SERVER_ID\" += 100 ;" >"$T/rt.conf"
fd_conf fdB "$FD_ID" "$FD_REALM" "$RPORT" \
  "TwTimer = 6;" \
  "LoadExtension = \"$FD_EXT/acl_wl.fdx\" : \"$T/acl.conf\";" \
  "LoadExtension = \"$FD_EXT/dbg_msg_dumps.fdx\" : \"0x2222\";" \
  "LoadExtension = \"$FD_EXT/dict_nasreq.fdx\";" \
  "LoadExtension = \"$FD_EXT/dict_dcca.fdx\";" \
  "LoadExtension = \"$FD_EXT/dict_dcca_3gpp.fdx\";" \
  "LoadExtension = \"$FD_EXT/rt_default.fdx\" : \"$T/rt.conf\";" \
  "ConnectPeer = \"$SERVER_ID\" { ConnectTo = \"127.0.0.1\"; No_TLS; Port = $SPORT; Realm = \"$OUR_REALM\"; };"
start fdB 60 freeDiameterd -c "$T/fdB.conf"
FDB=$LAST_PID
L="$T/fdB.log"
check "B: freeDiameter relay connects to our server" wait_for "$L" "-> 'STATE_OPEN'.*'$SERVER_ID'" 10

rc=0
timeout 30 "$DIAMETER_PEER" client --origin-host "$CLIENT_ID" "${COMMON[@]}" --connect "127.0.0.1:$RPORT" \
  --requests "$EX/gx-ccr-i.toml" --wait-requests 1 --answers "$EX/answers.toml" >"$T/client.log" 2>&1 || rc=$?
check "B: our client through freeDiameter: CER/CEA, CCR-I -> CCA 2001, RAR <- answered, DPR/DPA (exit 0)" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || tail -20 "$T/client.log"
check_grep "B: freeDiameter accepted our client's CER" "$L" "STATE_OPEN'.*'$CLIENT_ID'"
check_grep "B: freeDiameter forwarded the CCR to our server" "$L" "SND to '$SERVER_ID':.*16777238/272 f:RP--"
check_grep "B: freeDiameter forwarded the CCA to our client" "$L" "SND to '$CLIENT_ID':.*16777238/272 f:-P--"
check_grep "B: freeDiameter forwarded our server's RAR to our client" "$L" "SND to '$CLIENT_ID':.*16777238/258 f:RP--"
check_grep "B: freeDiameter forwarded the RAA to our server" "$L" "SND to '$SERVER_ID':.*16777238/258 f:-P--"
check_grep "B: our server got RAA 2001 back through freeDiameter" "$T/server2.log" "recv Re-Auth-Answer.*Result-Code=2001"
check_grep "B: our client DPR -> freeDiameter DPA" "$L" "Peer '$CLIENT_ID' sent a DPR"
if grep -aq "ROUTING ERROR\|ERROR.*16777238" "$L"; then
  fail "B: no routing errors in freeDiameter" "$(grep -a 'ROUTING ERROR' "$L" | head -2)"
else
  pass "B: no routing errors in freeDiameter"
fi
wait_for "$L" "SND to '$SERVER_ID': 'Device-Watchdog-Answer'" 8
check_grep "B: our DWR (Tw 3 s) -> freeDiameter DWA" "$L" "SND to '$SERVER_ID': 'Device-Watchdog-Answer'"
kill -INT "$FDB"
reap "$FDB"
stop "$SERVER" INT >/dev/null 2>&1

finish
