#!/usr/bin/env bash
# Interop (issue 10 §4): Wireshark's Diameter dissector (tshark 4.0) over every embodiment's
# capture. For each row that tests/tests/dra_embodiments.rs plays (specs/dra-roaming.md's table,
# plus proxy/proxy, proxy_variant and binding_cleanup = false), the real four nodes — vDRA and hDRA
# (`dra`), vPCRF and hPCRF (`pcrf`) — on ports chosen up front, with `pcc-emulator run` playing the
# row's clients (BBERF, PCEF, AF), while tshark captures on lo. Then every node port is decoded as
# Diameter (S9 included: application 16777267) and each row fails on any malformed frame, any
# expert Warning, or any TCP payload tshark could not dissect as Diameter; the row's applications
# (Gx/Gxx/Rx, S9) must show up as dissected requests and answers.
# Our vendor AVP Corelab-Client-Session-Id (vendor 32473, code 1, M clear) is unknown to Wireshark's
# dictionary, and tshark flags an unknown vendor and AVP as expert Warnings ("Unknown AVP 1
# (vendor=...), if you know what this is you can add it to dictionary.xml"). So the captures are
# dissected with tests/diameter/wireshark/Custom.xml added to Wireshark's dictionary (lib.sh
# use_corelab_dictionary): tshark then names the AVP and checks its flags like any other;
# TSHARK_PLAIN=1 dissects with the stock dictionary (and fails on those Warnings).
# Env: CORELAB_BIN (default target/debug). PASS/FAIL per check; exit 1 on any FAIL.
# shellcheck disable=SC2034 # DIAMETER_PORT, DRA_BINDING_CLEANUP: read by lib.sh's dra_conf, pcrf_conf
set -uo pipefail
# shellcheck source=../diameter/lib.sh
source "$(dirname "$0")/../diameter/lib.sh"
need_bins dra pcrf pcc-emulator
command -v tshark >/dev/null || { echo "FAIL: tshark missing (scripts/install-peers.sh)"; exit 1; }

UE='ue = { nai = "001010000000001", ip = "10.45.10.1", apn = "internet" }'

# scenario CLIENTS ENDS: pcc-emulator steps (as dra_embodiments.rs's Row::scenario): each client
# (comma-separated roles) established, then each end "session:terminate" or "session:await_end".
scenario() {
  local r e
  for r in ${1//,/ }; do
    printf '[[step]]\nrole = "%s"\n%s\naction = "establish"\nexpect = 2001\n' "$r" "$UE"
  done
  for e in ${2//,/ }; do
    printf '[[step]]\nsession = "%s"\naction = "%s"\n' "${e%%:*}" "${e##*:}"
    [ "${e##*:}" = terminate ] && printf 'expect = 2001\n'
  done
}

# The rows: TAG VDRA HDRA ORDERING CLEANUP CLIENTS ENDS.
ROWS=(
  "e1-after_redirect redirect redirect after_redirect true bberf bberf:terminate"
  "e1-at_once redirect redirect at_once true bberf bberf:terminate"
  "e4 redirect proxy after_redirect true bberf bberf:terminate"
  "e4-at_once redirect proxy at_once true bberf bberf:terminate"
  "e7 proxy redirect after_redirect true bberf bberf:terminate"
  "e1-cleanup_off redirect redirect after_redirect false bberf bberf:terminate"
  "e10 redirect redirect after_redirect true bberf,pcef bberf:terminate,pcef:terminate"
  "e10-at_once redirect redirect at_once true bberf,pcef bberf:terminate,pcef:terminate"
  "e2-e3 redirect redirect after_redirect true pcef,af af:terminate,pcef:terminate"
  "e5 redirect proxy after_redirect true pcef,af af:terminate,pcef:terminate"
  "e8 proxy redirect after_redirect true pcef,af af:terminate,pcef:terminate"
  "e6 redirect proxy after_redirect true pcef,af pcef:terminate,af:await_end"
  "e9 proxy redirect after_redirect true pcef,af pcef:terminate,af:await_end"
  "proxy-proxy proxy proxy after_redirect true bberf bberf:terminate"
  "proxy_variant-proxy proxy_variant proxy after_redirect true bberf bberf:terminate"
)
[ -n "${DRA_TSHARK_ROWS:-}" ] && mapfile -t ROWS < <(printf '%s\n' "${ROWS[@]}" | grep -E "^(${DRA_TSHARK_ROWS// /|}) ")

# Four ports per row, chosen before the capture starts so its filter names them (below the
# ephemeral range, so that no other process's connection takes one meanwhile).
mapfile -t PORTS < <(reserved_ports $((${#ROWS[@]} * 4 + 1)))
PROBE=${PORTS[-1]}
filter="tcp and (port $PROBE"
for p in "${PORTS[@]}"; do filter+=" or port $p"; done
filter+=")"
capture_start dra "$filter" "$PROBE" || { fail "tshark captures on lo" "$(tail -3 "$T/dra.log")"; finish; exit 1; }
pass "capture is live before the test traffic"

i=0
declare -A ROW_PORTS=()
for row in "${ROWS[@]}"; do
  read -r tag vmode hmode ordering cleanup clients ends <<<"$row"
  hp=${PORTS[i]} hd=${PORTS[i + 1]} vp=${PORTS[i + 2]} vd=${PORTS[i + 3]}; i=$((i + 4))
  ROW_PORTS[$tag]="$hp $hd $vp $vd"
  ok=yes
  DRA_BINDING_CLEANUP=$cleanup
  DIAMETER_PORT=$hp; node_start "$tag-hpcrf" pcrf "$(pcrf_conf hpcrf.home.lab home.lab home)" || ok=no
  DIAMETER_PORT=$hd; node_start "$tag-hdra" dra \
    "$(dra_conf hdra.home.lab home.lab home "$hmode" hpcrf.home.lab "127.0.0.1:$hp")" || ok=no
  DIAMETER_PORT=$vp; node_start "$tag-vpcrf" pcrf "$(pcrf_conf vpcrf.lab lab visited \
    "$(printf '[s9]\nhome_realm = "home.lab"\nhdra = "127.0.0.1:%s"\n' "$hd")")" || ok=no
  DIAMETER_PORT=$vd; node_start "$tag-vdra" dra \
    "$(dra_conf vdra.lab lab visited "$vmode" vpcrf.lab "127.0.0.1:$vp")" || ok=no
  unset DIAMETER_PORT DRA_BINDING_CLEANUP
  if [ "$ok" = no ]; then fail "$tag: the four nodes start"; continue; fi
  scenario "$clients" "$ends" >"$T/$tag-scenario.toml"
  rc=0
  timeout 60 "$CORELAB_BIN/pcc-emulator" run --origin-host pcc.lab --origin-realm lab --dra "127.0.0.1:$vd" \
    --mode "$vmode" --ordering "$ordering" --pcrf "vpcrf.lab=127.0.0.1:$vp" --scenario "$T/$tag-scenario.toml" \
    >"$T/$tag-pcc.out" 2>"$T/$tag-pcc.log" || rc=$?
  check "$tag: pcc-emulator played the row ($vmode vDRA / $hmode hDRA / $ordering / cleanup $cleanup: $clients)" [ "$rc" -eq 0 ]
  [ "$rc" -eq 0 ] || tail -5 "$T/$tag-pcc.out"
  for n in hpcrf hdra vpcrf vdra; do stop "${NODE_PIDS[$tag-$n]}" INT >/dev/null 2>&1; done
done
capture_stop
[ -n "${TSHARK_PLAIN:-}" ] || use_corelab_dictionary

# apps_seen PDUS: "app:R/A" pairs dissected.
for row in "${ROWS[@]}"; do
  read -r tag vmode hmode ordering cleanup clients ends <<<"$row"
  [ -n "${ROW_PORTS[$tag]:-}" ] || continue
  read -ra ports <<<"${ROW_PORTS[$tag]}"
  filter_row="tcp.port in {$(IFS=,; echo "${ports[*]}")}"
  tshark -r "$T/dra.pcapng" -Y "$filter_row" -w "$T/$tag.pcapng" 2>/dev/null
  tshark_decode_checks "$tag" "$T/$tag.pcapng" "${ports[@]}"
  if [ -z "${TSHARK_PLAIN:-}" ]; then
    decode=()
    for p in "${ports[@]}"; do decode+=(-d "tcp.port==$p,diameter"); done
    n=$("${TSHARK[@]}" -r "$T/$tag.pcapng" "${decode[@]}" -Y 'diameter.Corelab-Client-Session-Id' 2>/dev/null | wc -l)
    check "$tag: S9 requests carry Corelab-Client-Session-Id, dissected by name ($n frames)" [ "$n" -gt 0 ]
  fi
  for app in $( (case ",$clients," in *,bberf,*) echo 16777266;; esac; case ",$clients," in *,pcef,*) echo 16777238;; esac;
               case ",$clients," in *,af,*) echo 16777236;; esac; echo 16777267)); do
    if awk -v a="$app" '$4==a && $3=="R" {r=1} $4==a && $3=="A" && $5 ~ /^(2001|3006)$/ {s=1} END {exit !(r && s)}' "$T/$tag.pcapng.pdus"; then
      pass "$tag: application $app requests and 2001/3006 answers dissected"
    else
      fail "$tag: application $app requests and 2001/3006 answers dissected" "$(awk -v a="$app" '$4==a' "$T/$tag.pcapng.pdus" | head -3)"
    fi
  done
done
finish
