#!/usr/bin/env bash
# Interop (issue 14 §5): `labctl probe dra --target` against a DRA no one here wrote: freeDiameter
# 1.2.1 (freeDiameterd with rt_default, a stateless relay) routing the realm "lab" to the probe's
# two PCRFs (pcrf1.lab, pcrf2.lab: our `pcrf`, started by the probe on the ports freeDiameter's
# ConnectPeer names). The probe plays the PCEF (Gx) and the AF (Rx) of 16 UEs through freeDiameter.
# freeDiameter keeps no binding and spreads requests of equal score over its peers at random, so
# the verdict, step by step, is:
#   1 SHOWS  every Gx CCR-I is answered 2001 by one of the PCRFs;
#   2 LACKS  an Rx AAR goes to either PCRF, not the one holding the UE's Gx session (5065 from the
#            other): with 16 UEs the chance that all land right is 2^-16;
#   3 LACKS  a CCR-T or STR can reach the PCRF that does not hold the session (5002), which then
#            keeps it: a relay has no session stickiness;
#   4 SHOWS  once UE1's PCRF is stopped (its DPR closes the connection), freeDiameter routes around
#            it: the new AF session of UE1 reaches the other PCRF (5065: no IP-CAN session there),
#            nothing is aimed at the stopped one. There is no stale binding because there is no
#            binding at all.
# Exit 2 from the probe (one step lacks). freeDiameter's message log (dbg_msg_dumps) backs steps 2
# and 4: AARs forwarded to both PCRFs; after the stopped PCRF's DPR, nothing sent to it.
# Env: CORELAB_BIN (default target/debug). PASS/FAIL per check; exit 1 on any FAIL.
set -uo pipefail
# shellcheck source=../diameter/lib.sh
source "$(dirname "$0")/../diameter/lib.sh"
command -v freeDiameterd >/dev/null || { echo "FAIL: freeDiameterd missing (bash scripts/install-peers.sh)"; exit 1; }
need_bins pcrf pcc-emulator
[ -x "$CORELAB_BIN/labctl" ] || { echo "FAIL: $CORELAB_BIN/labctl not built (cargo build -p labctl)"; exit 1; }

FD_ID=relay.fd.interop.test
{ read -r fport; read -r p1; read -r p2; } < <(reserved_ports 3)
printf 'ALLOW_IPSEC pcc-probe.lab\n' >"$T/acl.conf"
printf 'dr="lab" : "pcrf1.lab" += 100 ;\ndr="lab" : "pcrf2.lab" += 100 ;\n' >"$T/rt.conf"
fd_conf fd "$FD_ID" fd.interop.test "$fport" \
  "TwTimer = 30;" \
  "TcTimer = 1;" \
  "LoadExtension = \"$FD_EXT/acl_wl.fdx\" : \"$T/acl.conf\";" \
  "LoadExtension = \"$FD_EXT/dbg_msg_dumps.fdx\" : \"0x2222\";" \
  "LoadExtension = \"$FD_EXT/dict_nasreq.fdx\";" \
  "LoadExtension = \"$FD_EXT/dict_dcca.fdx\";" \
  "LoadExtension = \"$FD_EXT/dict_dcca_3gpp.fdx\";" \
  "LoadExtension = \"$FD_EXT/rt_default.fdx\" : \"$T/rt.conf\";" \
  "ConnectPeer = \"pcrf1.lab\" { ConnectTo = \"127.0.0.1\"; No_TLS; Port = $p1; Realm = \"lab\"; };" \
  "ConnectPeer = \"pcrf2.lab\" { ConnectTo = \"127.0.0.1\"; No_TLS; Port = $p2; Realm = \"lab\"; };"

# The probe first (its PCRFs must listen before freeDiameter connects to them); --settle-s gives
# freeDiameter the time to start and open both connections before the first request.
start probe 180 "$CORELAB_BIN/labctl" probe dra --target "127.0.0.1:$fport" --target-realm lab \
  --pcrf "pcrf1.lab=127.0.0.1:$p1" --pcrf "pcrf2.lab=127.0.0.1:$p2" --mode proxy --ues 16 --settle-s 8
probe=$LAST_PID
P="$T/probe.log" L="$T/fd.log"
if ! wait_for "$P" "PCRF pcrf2.lab listening" 60; then
  fail "the probe starts its two PCRFs" "$(tail -5 "$P")"; finish; exit 1
fi
pass "the probe starts its two PCRFs (pcrf1.lab on $p1, pcrf2.lab on $p2)"
start fd 120 freeDiameterd -c "$T/fd.conf"
fd=$LAST_PID
check "freeDiameter CER/CEA with pcrf1.lab" wait_for "$L" "-> 'STATE_OPEN'.*'pcrf1.lab'" 8
check "freeDiameter CER/CEA with pcrf2.lab" wait_for "$L" "-> 'STATE_OPEN'.*'pcrf2.lab'" 8

rc=0; reap "$probe" || rc=$?
kill -INT "$fd"; reap "$fd"
echo "---- labctl probe dra"; cat "$P"; echo "----"
check "labctl probe dra exits 2 (a step lacks) (rc $rc)" [ "$rc" -eq 2 ]

# verdict N: the word after step N's number in the report.
verdict() { awk -v n="$1" '$1 == n {print $2; exit}' "$P"; }
check "step 1 SHOWS: every Gx CCR-I through freeDiameter answered 2001 by a PCRF" [ "$(verdict 1)" = SHOWS ]
check "step 2 LACKS: AARs reach a PCRF that does not hold the UE's Gx session" [ "$(verdict 2)" = LACKS ]
check "step 3 LACKS: terminations reach the wrong PCRF (5002), sessions left" [ "$(verdict 3)" = LACKS ]
check "step 4 SHOWS: with UE1's PCRF stopped, UE1's new AF session goes to the other" [ "$(verdict 4)" = SHOWS ]
check_grep "the stale step's detail: answered by the PCRF in service" "$P" "^ 4 SHOWS .*by pcrf[12]\.lab$"

# freeDiameter's own log: why.
check_grep "freeDiameter forwarded Rx AARs to pcrf1.lab" "$L" "SND to 'pcrf1.lab':.*16777236/265 f:RP--"
check_grep "freeDiameter forwarded Rx AARs to pcrf2.lab" "$L" "SND to 'pcrf2.lab':.*16777236/265 f:RP--"
stopped=$(sed -n "s/.*with UE1's PCRF \(pcrf[12]\.lab\) out of service.*/\1/p" "$P" | head -1)
if [ -n "$stopped" ] && grep -aq "RCV from '$stopped':.*0/282 f:R---" "$L"; then
  pass "the stopped PCRF ($stopped) sent freeDiameter DPR"
  after=$(awk -v s="RCV from '$stopped':" 'index($0, s) && /0\/282 f:R---/ {seen = 1; next} seen' "$L" |
    grep -ac "SND to '$stopped':.*f:RP--")
  check "after its DPR freeDiameter sent no request to $stopped ($after)" [ "$after" -eq 0 ]
else
  fail "the stopped PCRF (${stopped:-?}) sent freeDiameter DPR"
fi
if grep -aq "ROUTING ERROR\|No remaining suitable candidate" "$L"; then
  fail "no routing error in freeDiameter" "$(grep -a 'ROUTING ERROR\|No remaining' "$L" | head -2)"
else
  pass "no routing error in freeDiameter"
fi
finish
