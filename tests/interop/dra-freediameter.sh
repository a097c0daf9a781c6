#!/usr/bin/env bash
# Interop (issue 10 §4): freeDiameter 1.2.1 (freeDiameterd with rt_default, a stateless relay no one
# here wrote) relaying between our PCC nodes, both legs of a roaming UE's sessions:
#   pcc-emulator (BBERF) -> freeDiameter -> vDRA (proxy) -> vPCRF -> freeDiameter -> hDRA -> hPCRF
# One freeDiameterd routes on Destination-Realm (rt_default: "lab" -> the vDRA, "home.lab" -> the
# hDRA); the vPCRF's s9.hdra is freeDiameter. Two runs: hDRA redirect (embodiment 7: its 3006 travels
# back through freeDiameter and the vPCRF follows it to the hPCRF) and hDRA proxy (proxy/proxy).
# Each run: the BBERF's Gxx CCR-I answered 2001 through both relays; the hDRA has recorded the
# BBERF's Session-Id, which only our vendor AVP Corelab-Client-Session-Id (vendor 32473, M bit
# clear, unknown to freeDiameter) carries to it: freeDiameter passed it on untouched; freeDiameter's
# message log shows the Gxx and S9 requests forwarded; then CCR-T answered 2001, and GET /bindings
# (both DRAs) and GET /sessions (both PCRFs) are empty; no routing error in freeDiameter's log.
# tshark captures the two S9 legs (vPCRF -> freeDiameter, freeDiameter -> hDRA): the vendor AVP of
# every S9 request arrives at the hDRA with the value and flags (V, no M) the vPCRF sent.
# Env: CORELAB_BIN (default target/debug). PASS/FAIL per check; exit 1 on any FAIL.
# shellcheck disable=SC2034 # DIAMETER_PORT: read by lib.sh's dra_conf
set -uo pipefail
# shellcheck source=../diameter/lib.sh
source "$(dirname "$0")/../diameter/lib.sh"
need_bins dra pcrf pcc-emulator
command -v freeDiameterd >/dev/null || { echo "FAIL: freeDiameterd missing (scripts/install-peers.sh)"; exit 1; }
command -v tshark >/dev/null || { echo "FAIL: tshark missing (scripts/install-peers.sh)"; exit 1; }

FD_ID=relay.fd.interop.test
UE_NAI=001010000000042
UE_IP=10.45.42.1

# run_row TAG HDRA_MODE
run_row() {
  local tag=$1 hmode=$2 fport hport probe
  { read -r fport; read -r hport; read -r probe; } < <(reserved_ports 3)
  # The S9 legs vPCRF -> freeDiameter and freeDiameter -> hDRA, to compare our vendor AVP on both.
  capture_start "$tag-cap" "tcp and (port $fport or port $hport or port $probe)" "$probe" \
    || { fail "$tag: tshark captures on lo" "$(tail -3 "$T/$tag-cap.log")"; return; }
  node_start "$tag-hpcrf" pcrf "$(pcrf_conf hpcrf.home.lab home.lab home)" || { fail "$tag: hPCRF starts"; return; }
  DIAMETER_PORT=$hport
  node_start "$tag-hdra" dra "$(dra_conf hdra.home.lab home.lab home "$hmode" hpcrf.home.lab "$(addr_of "$tag-hpcrf" diameter)")" \
    || { fail "$tag: hDRA starts"; return; }
  unset DIAMETER_PORT
  node_start "$tag-vpcrf" pcrf "$(pcrf_conf vpcrf.lab lab visited \
    "$(printf '[s9]\nhome_realm = "home.lab"\nhdra = "127.0.0.1:%s"\n' "$fport")")" || { fail "$tag: vPCRF starts"; return; }
  node_start "$tag-vdra" dra "$(dra_conf vdra.lab lab visited proxy vpcrf.lab "$(addr_of "$tag-vpcrf" diameter)")" \
    || { fail "$tag: vDRA starts"; return; }

  printf 'ALLOW_IPSEC pcc.lab\nALLOW_IPSEC vpcrf.lab\n' >"$T/$tag-acl.conf"
  printf 'dr="lab" : "vdra.lab" += 100 ;\ndr="home.lab" : "hdra.home.lab" += 100 ;\n' >"$T/$tag-rt.conf"
  fd_conf "$tag-fd" "$FD_ID" fd.interop.test "$fport" \
    "TwTimer = 30;" \
    "LoadExtension = \"$FD_EXT/acl_wl.fdx\" : \"$T/$tag-acl.conf\";" \
    "LoadExtension = \"$FD_EXT/dbg_msg_dumps.fdx\" : \"0x2222\";" \
    "LoadExtension = \"$FD_EXT/dict_nasreq.fdx\";" \
    "LoadExtension = \"$FD_EXT/dict_dcca.fdx\";" \
    "LoadExtension = \"$FD_EXT/dict_dcca_3gpp.fdx\";" \
    "LoadExtension = \"$FD_EXT/rt_default.fdx\" : \"$T/$tag-rt.conf\";" \
    "ConnectPeer = \"vdra.lab\" { ConnectTo = \"127.0.0.1\"; No_TLS; Port = $(port_of "$tag-vdra"); Realm = \"lab\"; };" \
    "ConnectPeer = \"hdra.home.lab\" { ConnectTo = \"127.0.0.1\"; No_TLS; Port = $(port_of "$tag-hdra"); Realm = \"home.lab\"; };"
  start "$tag-fd" 120 freeDiameterd -c "$T/$tag-fd.conf"
  local fd=$LAST_PID L="$T/$tag-fd.log"
  check "$tag: freeDiameter CER/CEA with our vDRA" wait_for "$L" "-> 'STATE_OPEN'.*'vdra.lab'" 15
  check "$tag: freeDiameter CER/CEA with our hDRA" wait_for "$L" "-> 'STATE_OPEN'.*'hdra.home.lab'" 15

  start "$tag-pcc" 120 "$CORELAB_BIN/pcc-emulator" serve --origin-host pcc.lab --origin-realm lab \
    --dra "127.0.0.1:$fport" --mode proxy --grpc-listen 127.0.0.1:0
  local pcc=$LAST_PID
  if ! wait_for "$T/$tag-pcc.log" "control listening on" 15; then
    fail "$tag: pcc-emulator connects to freeDiameter" "$(tail -3 "$T/$tag-pcc.log")"; return
  fi
  pass "$tag: pcc-emulator connects to freeDiameter (CER/CEA)"
  local control sid rc out
  control="http://$(sed -n 's/.*control listening on \([0-9.:]*\).*/\1/p' "$T/$tag-pcc.log" | head -1)"

  out=$(timeout 30 "$CORELAB_BIN/pcc-emulator" establish --control "$control" --role bberf --nai "$UE_NAI" \
    --ip "$UE_IP" 2>&1); rc=$?
  sid=${out%% *}
  check "$tag: BBERF Gxx CCR-I -> freeDiameter -> vDRA -> vPCRF (S9 via freeDiameter to home): 2001" \
    [ "$rc" -eq 0 -a "${out##* }" = 2001 ]
  [ "$rc" -eq 0 ] || echo "  $out"

  # The hDRA learns Session-Id 1 only from Corelab-Client-Session-Id in the S9 CCR-I.
  local s1
  s1=$(admin_get "$tag-hdra" /bindings | python3 -c 'import json,sys
print(" ".join(s["session_id"] for b in json.load(sys.stdin) for s in b["sessions"] if s["interface"] == "s9-client"))' 2>/dev/null)
  check "$tag: hDRA recorded S1 from Corelab-Client-Session-Id relayed by freeDiameter (M clear, unknown to freeDiameter, passed on)" \
    [ -n "$sid" -a "$s1" = "$sid" ]
  [ "$s1" = "$sid" ] || echo "  BBERF Session-Id '$sid', hDRA s9-client sessions '$s1'"
  check_grep "$tag: freeDiameter forwarded the Gxx CCR to the vDRA" "$L" "SND to 'vdra.lab':.*16777266/272 f:RP--"
  check_grep "$tag: freeDiameter forwarded the S9 CCR to the hDRA" "$L" "SND to 'hdra.home.lab':.*16777267/272 f:RP--"
  check_grep "$tag: freeDiameter forwarded the S9 CCA to the vPCRF" "$L" "SND to 'vpcrf.lab':.*16777267/272 f:-P"

  out=$(timeout 30 "$CORELAB_BIN/pcc-emulator" terminate --control "$control" --session-id "$sid" 2>&1); rc=$?
  check "$tag: BBERF Gxx CCR-T through freeDiameter: 2001" [ "$rc" -eq 0 -a "${out##* }" = 2001 ]
  [ "$rc" -eq 0 ] || echo "  $out"
  local n
  n=$(metric_of "$tag-vpcrf" 'corelab_pcrf_s9_requests_total{kind="termination"')
  check "$tag: the vPCRF's S9 termination answered 2xxx through freeDiameter ($n)" [ "${n%.*}" -eq 1 ]
  if [ "$hmode" = redirect ]; then
    n=$(metric_of "$tag-hdra" corelab_dra_redirects_total)
    check "$tag: the hDRA's 3006 went back through freeDiameter and was followed ($n redirects)" [ "${n%.*}" -ge 2 ]
  fi
  check_empty "$tag-vdra" /bindings "$tag: vDRA GET /bindings empty"
  check_empty "$tag-vpcrf" /sessions "$tag: vPCRF GET /sessions empty"
  check_empty "$tag-hdra" /bindings "$tag: hDRA GET /bindings empty"
  check_empty "$tag-hpcrf" /sessions "$tag: hPCRF GET /sessions empty"
  if grep -aq "ROUTING ERROR\|No remaining suitable candidate" "$L"; then
    fail "$tag: no routing error in freeDiameter" "$(grep -a 'ROUTING ERROR\|No remaining' "$L" | head -2)"
  else
    pass "$tag: no routing error in freeDiameter"
  fi
  stop "$pcc" INT >/dev/null 2>&1
  kill -INT "$fd"; reap "$fd"
  capture_stop

  # Corelab-Client-Session-Id in every S9 request, as sent to freeDiameter and as freeDiameter
  # sent it on to the hDRA: same values, flags 0x80 (V set, M clear) on both legs.
  chmod a+r "$T/$tag-cap.pcapng"
  "${TSHARK[@]}" -r "$T/$tag-cap.pcapng" -d "tcp.port==$fport,diameter" -d "tcp.port==$hport,diameter" \
    -Y 'diameter.applicationId == 16777267 && diameter.flags.request == 1' -T json --no-duplicate-keys 2>/dev/null |
    python3 "$DDIR/tshark_avp.py" 1 32473 >"$T/$tag-avp.txt"
  local sent relayed
  sent=$(awk -v p="$fport" '$2 == p {print $3, $4}' "$T/$tag-avp.txt" | sort)
  relayed=$(awk -v p="$hport" '$2 == p {print $3, $4}' "$T/$tag-avp.txt" | sort)
  if [ -n "$sent" ] && [ "$sent" = "$relayed" ] && ! awk '{print $3}' "$T/$tag-avp.txt" | grep -qv '^0x80$'; then
    pass "$tag: Corelab-Client-Session-Id relayed untouched by freeDiameter (tshark: $(wc -l <<<"$sent") S9 request(s), same values, flags 0x80 on both legs)"
  else
    fail "$tag: Corelab-Client-Session-Id relayed untouched by freeDiameter" "to freeDiameter: [$sent] to the hDRA: [$relayed]"
  fi
}

use_corelab_dictionary # tshark names our vendor AVP (lib.sh)
run_row R7 redirect
run_row PP proxy
finish
