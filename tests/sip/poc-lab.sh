# The PoC lab of seed 002's figure as local processes, shared by tests/interop/sipp-poc.sh and
# scripts/bench-poc.sh: group-server (the group XDMS; documents created with curl over XCAP),
# poc-controlling (CF, serving lab.example) and two poc-participating (PF-A serving a.lab, PF-B
# serving b.lab), each on loopback ephemeral ports, each with its own store (SQLite files, or one
# PostgreSQL database with a schema per node).
#
# Source it after setting TMP (the run's directory) and BIN (where the binaries are); call
# poc_lab_start, then read GS_XCAP, CF_SIP, PFA_SIP, PFB_SIP (host:port, UDP and TCP alike);
# poc_lab_stop (or the caller's EXIT trap killing POC_PIDS) ends the processes.
# shellcheck shell=bash
# GS_XCAP, CF_SIP, PFA_SIP, PFB_SIP are for the caller.
# shellcheck disable=SC2034

POC_PIDS=()
POC_DOMAIN=lab.example
POC_CF_IDENTITY=sip:poc-controlling@lab.example

# shellcheck source=ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

# poc_ready_addr FILE KEY: an address of a node's ready file, once the file is there (<= 20 s).
poc_ready_addr() {
    local file=$1 key=$2
    for _ in $(seq 200); do
        [ -s "$file" ] && break
        sleep 0.1
    done
    [ -s "$file" ] || return 1
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$file" "$key"
}

# poc_start NAME BINARY ARGS...: a node in the background, its log in $TMP/NAME.log, its ready
# file $TMP/NAME.ready.json.
poc_start() {
    local name=$1 bin=$2
    shift 2
    NO_COLOR=1 "$BIN/$bin" "$@" --data-dir "$TMP/$name" --admin-listen 127.0.0.1:0 \
        --grpc-listen 127.0.0.1:0 --ready-file "$TMP/$name.ready.json" >"$TMP/$name.log" 2>&1 &
    POC_PIDS+=($!)
}

# poc_group_xml URI OWNER MAX MEMBER...: a poc-groups document (docs/group-server.md).
poc_group_xml() {
    local uri=$1 owner=$2 max=$3 m
    shift 3
    printf '<?xml version="1.0" encoding="UTF-8"?>\n<group xmlns="urn:oma:xml:poc:list-service">\n'
    printf '  <list-service uri="%s">\n    <owner>%s</owner>\n    <join-type>join</join-type>\n' "$uri" "$owner"
    printf '    <max-participant-count>%s</max-participant-count>\n    <list>\n' "$max"
    for m in "$@"; do printf '      <entry uri="%s"/>\n' "$m"; done
    printf '    </list>\n  </list-service>\n</group>\n'
}

# poc_put_group FILE URI OWNER: create the document with curl (If-None-Match: *), read it back
# and compare: 201 with a strong ETag, then GET 200 with the same ETag and the same members,
# then GET If-None-Match ETag 304. Prints what is wrong; fails if anything is.
poc_put_group() {
    local file=$1 uri=$2 owner=$3
    local url="http://$GS_XCAP/xcap/org.openmobilealliance.poc-groups/users/$uri/index"
    local h code etag
    h="$TMP/xcap-$(basename "$file").h"
    code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -D "$h.put" -X PUT \
        -H "X-XCAP-Asserted-Identity: $owner" -H 'Content-Type: application/vnd.oma.poc.groups+xml' \
        -H 'If-None-Match: *' --data-binary @"$file" "$url") || { echo "curl PUT failed"; return 1; }
    [ "$code" = 201 ] || { echo "PUT $uri: $code, want 201"; return 1; }
    etag=$(tr -d '\r' <"$h.put" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
    grep -Eq '^"[^"]+"$' <<<"$etag" || { echo "PUT $uri: ETag $etag is not a strong entity tag"; return 1; }
    code=$(curl -sS --max-time 5 -o "$file.got" -w '%{http_code}' -D "$h.get" \
        -H "X-XCAP-Asserted-Identity: $owner" "$url") || { echo "curl GET failed"; return 1; }
    [ "$code" = 200 ] || { echo "GET $uri: $code, want 200"; return 1; }
    tr -d '\r' <"$h.get" | grep -qiF "etag: $etag" || { echo "GET $uri: not the PUT's ETag $etag"; return 1; }
    python3 - "$file" "$file.got" <<'EOF' || return 1
import sys
import xml.etree.ElementTree as ET
NS = "{urn:oma:xml:poc:list-service}"
put, got = (ET.parse(f).getroot() for f in sys.argv[1:])
members = lambda r: [e.get("uri") for e in r.iter(NS + "entry")]
if members(put) != members(got):
    print(f"GET returned members {members(got)}, PUT {members(put)}")
    sys.exit(1)
EOF
    code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" \
        -H "X-XCAP-Asserted-Identity: $owner" "$url") || { echo "curl GET failed"; return 1; }
    [ "$code" = 304 ] || { echo "GET If-None-Match $etag: $code, want 304"; return 1; }
}

# poc_users USER@DOMAIN=PORT...: a TOML array of participating.users, contacts on 127.0.0.1.
poc_users() {
    local out="" u aor
    for u in "$@"; do
        aor=${u%%=*}
        out+="{ uri = \"sip:$aor\", contact = \"sip:${aor%%@*}@127.0.0.1:${u#*=}\" },"
    done
    echo "[${out%,}]"
}

# poc_lab_start STORE T1_MS PFA_USERS PFB_USERS: the four nodes, ready. STORE is `sqlite` or a
# postgres:// URL (one database; every node its own schema). PFx_USERS are TOML arrays
# (poc_users). The groups are not created here: poc_put_group after this. Prints what failed.
poc_lab_start() {
    local store=$1 t1=$2 pfa_users=$3 pfb_users=$4 url
    mkdir -p "$TMP/group-server" "$TMP/cf" "$TMP/pf-a" "$TMP/pf-b"
    store_of() { if [ "$store" = sqlite ]; then echo "sqlite://$TMP/$1/$1.db"; else echo "$store"; fi; }

    cat >"$TMP/group-server.toml" <<EOF
[xcap]
readers = ["$POC_CF_IDENTITY"]
EOF
    poc_start group-server group-server --config "$TMP/group-server.toml" \
        --store-url "$(store_of group-server)" --xcap-listen 127.0.0.1:0
    GS_XCAP=$(poc_ready_addr "$TMP/group-server.ready.json" xcap) || { echo "group-server did not start"; return 1; }

    cat >"$TMP/cf.toml" <<EOF
[sip]
t1_ms = $t1

[groups]
served = ["$POC_DOMAIN"]

[xcap]
root = "http://$GS_XCAP/xcap"
identity = "$POC_CF_IDENTITY"

[media]
address = "127.0.0.1"
EOF
    poc_start cf poc-controlling --config "$TMP/cf.toml" --store-url "$(store_of cf)" \
        --sip-listen 127.0.0.1:0
    CF_SIP=$(poc_ready_addr "$TMP/cf.ready.json" sip) || { echo "poc-controlling did not start"; return 1; }

    local pf users
    for pf in pf-a pf-b; do
        if [ "$pf" = pf-a ]; then users=$pfa_users; else users=$pfb_users; fi
        cat >"$TMP/$pf.toml" <<EOF
[sip]
listen = "127.0.0.1:0"
tcp = true
max_connections = 512
tcp_idle_timeout_ms = 60000
tcp_message_timeout_ms = 10000
t1_ms = $t1

[store]
schema = "${pf//-/_}"

[proxy]
max_pending = 4096
max_transaction_ms = 30000

[participating]
# Terminals talk to their PF directly: the identity is the From of a user sending from its
# contact's host, and the PF asserts it towards the CF.
trusted_sources = []
controlling = [{ domain = "$POC_DOMAIN", uri = "sip:$CF_SIP" }]
users = $users
EOF
        poc_start "$pf" poc-participating --config "$TMP/$pf.toml" --store-url "$(store_of "$pf")"
    done
    PFA_SIP=$(poc_ready_addr "$TMP/pf-a.ready.json" sip) || { echo "poc-participating (PF-A) did not start"; return 1; }
    PFB_SIP=$(poc_ready_addr "$TMP/pf-b.ready.json" sip) || { echo "poc-participating (PF-B) did not start"; return 1; }
}

# poc_lab_stop: every node started by poc_lab_start, by its PID.
poc_lab_stop() {
    local pid
    for pid in "${POC_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${POC_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    POC_PIDS=()
}
