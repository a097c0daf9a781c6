#!/usr/bin/env bash
# Interop: XCAP clients nobody here wrote — Python's http.client and curl — drive group-server
# (issue 11 §1). curl creates the group document with If-None-Match: * and reads it back with
# its ETag; Python's http.client then adds a member by node selector under If-Match, gets 412
# with the stale ETag and 304 with the current one, reads the member, and Python's own XML
# parser (xml.etree) checks the document and the RFC 4825 <xcap-error> body of a 409.
# Prints PASS/FAIL per check and "N passed, M failed"; exit status 1 on any failure.
#   usage: tests/interop/xcap-python-curl.sh        (KEEP=1 keeps the temp dir for debugging)
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${CORELAB_BIN:-$ROOT/target/debug}
DEADLINE=$((SECONDS + 40))
TMP=$(mktemp -d /tmp/corelab-xcap.XXXXXX)
PIDS=()
LOGS=(group-server.log python.out)
# shellcheck source=../sip/lib.sh
source "$ROOT/tests/sip/lib.sh"

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ALICE=sip:alice@lab.example
DOC_PATH=/xcap/org.openmobilealliance.poc-groups/users/sip:team@lab.example/index
cat >"$TMP/team.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<group xmlns="urn:oma:xml:poc:list-service">
  <list-service uri="sip:team@lab.example">
    <owner>sip:alice@lab.example</owner>
    <join-type>join</join-type>
    <list>
      <entry uri="sip:alice@lab.example"/>
    </list>
  </list-service>
</group>
EOF

timeout 60 "$BIN/group-server" --data-dir "$TMP" --xcap-listen 127.0.0.1:0 \
    --admin-listen 127.0.0.1:0 --grpc-listen 127.0.0.1:0 --ready-file "$TMP/ready.json" \
    >"$TMP/group-server.out" 2>"$TMP/group-server.log" &
PIDS+=($!)
check "group-server ready" wait_for 20 test -s "$TMP/ready.json"
XCAP=$(json_get "$TMP/ready.json" xcap)
URL="http://$XCAP$DOC_PATH"

# curl: create (201, strong ETag), then the same create again is refused (412).
code=$(curl -sS -o /dev/null -w '%{http_code}' -D "$TMP/put.h" -X PUT \
    -H "X-XCAP-Asserted-Identity: $ALICE" -H 'Content-Type: application/vnd.oma.poc.groups+xml' \
    -H 'If-None-Match: *' --data-binary @"$TMP/team.xml" "$URL")
check "curl PUT document -> 201" test "$code" = 201
ETAG=$(tr -d '\r' <"$TMP/put.h" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
check "curl sees a strong quoted ETag" grep -Eq '^"[^"]+"$' <<<"$ETAG"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT \
    -H "X-XCAP-Asserted-Identity: $ALICE" -H 'Content-Type: application/vnd.oma.poc.groups+xml' \
    -H 'If-None-Match: *' --data-binary @"$TMP/team.xml" "$URL")
check "curl PUT If-None-Match: * on an existing document -> 412" test "$code" = 412
code=$(curl -sS -o "$TMP/got.xml" -w '%{http_code}' -D "$TMP/get.h" \
    -H "X-XCAP-Asserted-Identity: $ALICE" "$URL")
check "curl GET -> 200 with the same ETag" \
    sh -c "test '$code' = 200 && tr -d '\r' <'$TMP/get.h' | grep -qi '^etag: $ETAG\$'"

# Python's http.client and xml.etree.
python3 - "$XCAP" "$DOC_PATH" "$ALICE" "$ETAG" >"$TMP/python.out" 2>&1 <<'EOF'
import http.client, sys, urllib.parse
import xml.etree.ElementTree as ET

host, doc, alice, etag = sys.argv[1:]
NS = "{urn:oma:xml:poc:list-service}"
ERR = "{urn:ietf:params:xml:ns:xcap-error}"
failures = 0

def req(method, path, body=None, headers=None):
    c = http.client.HTTPConnection(host, timeout=10)
    h = {"X-XCAP-Asserted-Identity": alice}
    h.update(headers or {})
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    out = (r.status, r.getheader("ETag"), r.getheader("Content-Type"), r.read().decode())
    c.close()
    return out

def check(name, ok):
    global failures
    print(("PASS " if ok else "FAIL ") + name)
    failures += 0 if ok else 1

sel = doc + "/~~/" + urllib.parse.quote('group/list-service/list/entry[@uri="sip:bob@lab.example"]', safe="/:@")
status, new_tag, _, _ = req("PUT", sel, b'<entry uri="sip:bob@lab.example"/>',
                            {"Content-Type": "application/xcap-el+xml", "If-Match": etag})
check("python PUT member under If-Match -> 201 and a new ETag", status == 201 and new_tag not in (None, etag))
status, _, _, _ = req("PUT", doc + "/~~/group/list-service/list/entry[3]", b'<entry uri="sip:carol@lab.example"/>',
                      {"Content-Type": "application/xcap-el+xml", "If-Match": etag})
check("python PUT with the stale ETag -> 412", status == 412)
status, tag, _, body = req("GET", doc, headers={"If-None-Match": new_tag})
check("python GET If-None-Match current ETag -> 304", status == 304 and tag == new_tag and body == "")
status, tag, ctype, body = req("GET", sel)
check("python GET member -> 200 application/xcap-el+xml",
      status == 200 and ctype == "application/xcap-el+xml" and tag == new_tag
      and ET.fromstring(body).get("uri") == "sip:bob@lab.example")
status, _, ctype, body = req("GET", doc)
root = ET.fromstring(body)
members = [e.get("uri") for e in root.iter(NS + "entry")]
check("xml.etree reads both members from the document",
      ctype == "application/vnd.oma.poc.groups+xml" and members == ["sip:alice@lab.example", "sip:bob@lab.example"])
status, _, ctype, body = req("PUT", doc + "/~~/group/list-service/join-type", b"<join-type>maybe</join-type>",
                             {"Content-Type": "application/xcap-el+xml"})
err = ET.fromstring(body) if ctype == "application/xcap-error+xml" else None
check("python bad join-type -> 409 <xcap-error><schema-validation-error/>",
      status == 409 and err is not None and err.tag == ERR + "xcap-error"
      and err.find(ERR + "schema-validation-error") is not None)
status, _, _, _ = req("PUT", doc, b"<group", {"Content-Type": "application/vnd.oma.poc.groups+xml"})
check("python not well-formed -> 409", status == 409)
status, _, _, _ = req("PUT", doc, b"<x/>", {"Content-Type": "text/plain"})
check("python wrong Content-Type -> 415", status == 415)
status, _, _, _ = req("DELETE", doc, headers={"If-Match": new_tag})
check("python DELETE under If-Match -> 200", status == 200)
status, _, _, _ = req("GET", doc)
check("python GET after DELETE -> 404", status == 404)
sys.exit(1 if failures else 0)
EOF
py=$?
cat "$TMP/python.out"
passed=$((passed + $(grep -c '^PASS' "$TMP/python.out")))
failed=$((failed + $(grep -c '^FAIL' "$TMP/python.out")))
[ "$py" -eq 0 ] || [ "$(grep -c '^FAIL' "$TMP/python.out")" -gt 0 ] || failed=$((failed + 1))
finish
