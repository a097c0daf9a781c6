#!/usr/bin/env bash
# Interop (issue 10 §4): python-diameter 0.9 (PyPI), a Diameter stack no one here wrote, as PCEF (Gx)
# and AF (Rx) of one roaming UE through our vDRA to our vPCRF, whose S9 goes through our hDRA to our
# hPCRF. Real processes: `dra` (visited and home), `pcrf` (visited and home), python-diameter
# (tests/diameter/py/pcc_client.py). Two runs:
#  R. vDRA and hDRA in redirect mode: python-diameter follows each 3006 itself (the logic is in
#     pcc_client.py: connect to the Redirect-Host, learn the PCRF's identity from its CEA, resend).
#  P. vDRA and hDRA in proxy mode: every request through the vDRA, the vPCRF's RARs back through it.
# Each run: CCR-I/CCA-I 2001; AAR bound by UE IP, AAA 2001; the vPCRF's Gx RAR (media rule) answered
# by python; STR/STA 2001 and the RAR removing the rule; CCR-T/CCA-T 2001; DPR/DPA. Then
# GET /bindings on both DRAs and GET /sessions on both PCRFs are empty.
# python-diameter sends Origin-Host/Origin-Realm/Destination-Host without the M bit; our endpoints
# answer that 3009 (RFC 6733 §7.1.3), so pcc_client.py sets it (shared PEERS.md).
# Env: CORELAB_BIN (default target/debug). PASS/FAIL per check; exit 1 on any FAIL.
set -uo pipefail
# shellcheck source=../diameter/lib.sh
source "$(dirname "$0")/../diameter/lib.sh"
need_bins dra pcrf
python3 -c 'import diameter.node' 2>/dev/null || { echo "FAIL: python-diameter missing (scripts/install-peers.sh)"; exit 1; }

# run_mode TAG MODE: the four nodes in MODE, python-diameter through them, the stores afterwards.
run_mode() {
  local tag=$1 mode=$2
  node_start "$tag-hpcrf" pcrf "$(pcrf_conf hpcrf.home.lab home.lab home)" || { fail "$tag: hPCRF starts"; return; }
  node_start "$tag-hdra" dra "$(dra_conf hdra.home.lab home.lab home "$mode" hpcrf.home.lab "$(addr_of "$tag-hpcrf" diameter)")" \
    || { fail "$tag: hDRA starts"; return; }
  node_start "$tag-vpcrf" pcrf "$(pcrf_conf vpcrf.lab lab visited \
    "$(printf '[s9]\nhome_realm = "home.lab"\nhdra = "%s"\n' "$(addr_of "$tag-hdra" diameter)")")" \
    || { fail "$tag: vPCRF starts"; return; }
  node_start "$tag-vdra" dra "$(dra_conf vdra.lab lab visited "$mode" vpcrf.lab "$(addr_of "$tag-vpcrf" diameter)")" \
    || { fail "$tag: vDRA starts"; return; }

  local rc=0
  timeout 90 python3 "$DDIR/py/pcc_client.py" --dra "$(addr_of "$tag-vdra" diameter)" --dra-host vdra.lab \
    --pcrf-realm lab --realm lab --mode "$mode" >"$T/$tag-py.log" 2>"$T/$tag-py.err" || rc=$?
  sed -n "s/^\(PASS\|FAIL\): /  python-diameter: \1: /p" "$T/$tag-py.log"
  check "$tag: python-diameter PCEF+AF through the $mode vDRA: every answer 2001, both RARs answered, DPR/DPA (exit 0)" \
    [ "$rc" -eq 0 ]
  [ "$rc" -eq 0 ] || { tail -5 "$T/$tag-py.err"; grep -a "WARN\|ERROR" "$T"/"$tag"-*.log | tail -10; }

  local n
  n=$(metric_of "$tag-vdra" corelab_dra_bindings_created_total)
  check "$tag: the vDRA bound the UE (bindings created $n)" [ "${n%.*}" -ge 1 ]
  if [ "$mode" = redirect ]; then
    n=$(metric_of "$tag-vdra" corelab_dra_redirects_total)
    check "$tag: the vDRA redirected CCR-I, AAR, STR, CCR-T ($n redirects)" [ "${n%.*}" -ge 4 ]
  else
    n=$(metric_of "$tag-vdra" corelab_dra_proxied_requests_total)
    check "$tag: the vDRA proxied CCR-I, AAR, STR, CCR-T ($n proxied)" [ "${n%.*}" -ge 4 ]
  fi
  n=$(metric_of "$tag-hdra" corelab_dra_bindings_created_total)
  check "$tag: the vPCRF's S9 reached home (hDRA bindings created $n)" [ "${n%.*}" -ge 1 ]
  n=$(metric_of "$tag-vpcrf" 'corelab_pcrf_rar_sent_total{reason="media_rule_')
  check "$tag: the vPCRF sent the media rule RARs ($n)" [ "${n%.*}" -ge 2 ]
  check_empty "$tag-vdra" /bindings "$tag: vDRA GET /bindings empty"
  check_empty "$tag-vpcrf" /sessions "$tag: vPCRF GET /sessions empty"
  check_empty "$tag-hdra" /bindings "$tag: hDRA GET /bindings empty"
  check_empty "$tag-hpcrf" /sessions "$tag: hPCRF GET /sessions empty"
  local node
  for node in vdra vpcrf hdra hpcrf; do
    check "$tag: $node still running" kill -0 "${NODE_PIDS[$tag-$node]}"
  done
}

run_mode R redirect
run_mode P proxy
finish
