#!/usr/bin/env bash
# Interop (issue 11 §5): SIPp plays PoC terminals A and B through the real participating and
# controlling functions (seed 002's figure, shared/specs/poc-join.md) over UDP and over TCP, on
# SQLite and (when $CORELAB_TEST_PG_URL is set) PostgreSQL; curl creates and reads the group
# documents over XCAP; tshark decodes the SIP capture. Builds nothing.
#
#   bash tests/interop/sipp-poc.sh          (CORELAB_BIN=target/debug by default; KEEP=1 keeps logs)
#
# Processes per backend: group-server, poc-controlling (CF, lab.example), poc-participating PF-A
# (alice, eve: a.lab) and PF-B (bob: b.lab); tests/sip/poc-lab.sh starts them. Per transport:
#   - curl PUTs the group sip:team-TR@lab.example (alice, bob) with If-None-Match: *, 201 and a
#     strong ETag, GET gives it back with that ETag, If-None-Match gives 304;
#   - A (tests/sipp/poc/join.xml) joins via PF-A with its own ids, gets them back in its 200 OK
#     (multipart SDP + CPIM), ACKs along the Record-Route and sends RTP; while A is in, B joins
#     via PF-B with its own ids and its 200 OK carries A's Conversation-ID and Contribution-ID
#     (logged by the scenario, compared here); both leave with BYE; A rejoins: A's ids again;
#   - RTP from A reaches B's media port (from the relay, counted in the capture);
#   - refused (tests/sipp/poc/refused.xml): eve (PF-A's user, not a member) 403 from the CF;
#     mallory (unknown to PF-A) 403 from the PF; alice to sip:nosuch@lab.example 404.
# tshark (dumpcap on lo, the SIP ports of the four nodes): no malformed or Warning frame; INVITE,
# ACK, BYE, 200, 403 and 404 present over UDP and over TCP.
# Needs root (or CAP_NET_RAW): dumpcap on lo, and SIPp's play_pcap_audio sends RTP on a raw socket.
# Prints PASS/FAIL per check and "N passed, M failed"; exits non-zero on any failure.
# SC2317 (unreachable command) misreads functions called only through a trap.
# shellcheck disable=SC2317
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${CORELAB_BIN:-$ROOT/target/debug}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
SCENARIOS=$ROOT/tests/sipp/poc
PG_URL=${CORELAB_TEST_PG_URL:-}
# DEADLINE bounds lib.sh's wait_for; LOGS is lib.sh's list of logs to show on failure.
# shellcheck disable=SC2034
DEADLINE=$((SECONDS + 240))
WORK=$(mktemp -d /tmp/corelab-sipp-poc.XXXXXX)
TMP=$WORK
# shellcheck disable=SC2034
LOGS=()
export PGCONNECT_TIMEOUT=5
# shellcheck source=../sip/lib.sh
source "$ROOT/tests/sip/lib.sh"
# shellcheck source=../sip/poc-lab.sh
source "$ROOT/tests/sip/poc-lab.sh"

CAPTURE_PID=
DATABASES=()
cleanup() {
    [ -n "$CAPTURE_PID" ] && kill "$CAPTURE_PID" 2>/dev/null && wait "$CAPTURE_PID" 2>/dev/null
    poc_lab_stop
    local db
    for db in "${DATABASES[@]}"; do
        psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1
    done
    if [ "${KEEP:-0}" = 1 ] || [ "$failed" -gt 0 ]; then echo "sipp-poc: logs in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail_now() { echo "FAIL $1"; failed=$((failed + 1)); echo "$passed passed, $failed failed"; exit 1; }
command -v sipp >/dev/null || fail_now "sipp missing (scripts/install-peers.sh)"
if ! command -v tshark >/dev/null || ! command -v dumpcap >/dev/null; then
    fail_now "tshark/dumpcap missing (scripts/install-peers.sh)"
fi
for b in group-server poc-controlling poc-participating; do
    [ -x "$BIN/$b" ] || fail_now "no $BIN/$b (cargo build --workspace --bins, or set CORELAB_BIN)"
done

[ -r /usr/share/sip-tester/g711a.pcap ] || fail_now "no /usr/share/sip-tester/g711a.pcap (Debian's sip-tester ships it)"

# sipp_run NAME SCENARIO PF TRANSPORT USER DOMAIN GROUP CONV HOLD_MS SIP_PORT MEDIA_PORT: one
# terminal, one call, in $TMP/NAME.*; its exit status.
sipp_run() {
    local name=$1 scenario=$2 pf=$3 tr=$4 user=$5 domain=$6 group=$7 conv=$8 hold=$9
    local port=${10} mp=${11} t=u1
    [ "$tr" = tcp ] && t=t1
    (
        cd "$WORK" && exec timeout -k 2 25 sipp "$pf" -t "$t" -sf "$SCENARIOS/$scenario" \
            -i 127.0.0.1 -p "$port" -mp "$mp" -s "$user" -key domain "$domain" -key group "$group" \
            -key conv "conv-$conv" -key contrib "contrib-$conv" -d "$hold" \
            -m 1 -nostdin -recv_timeout 10000 \
            -trace_msg -message_file "$TMP/$name.msg" -trace_err -error_file "$TMP/$name.err" \
            -trace_logs -log_file "$TMP/$name.log"
    ) >"$TMP/$name.out" 2>&1
}

# logged_ids NAME: "CONVERSATION CONTRIBUTION" from the join scenario's log line.
logged_ids() { sed -n 's/^.*ids \([^ ]*\) \([^ ]*\) relay.*$/\1 \2/p' "$TMP/$1.log" 2>/dev/null | head -1; }
joined() { [ -n "$(logged_ids "$1")" ]; }
# logged_refusal NAME: the status code of the refused scenario's log line.
logged_refusal() { sed -n 's/^.*refused \([0-9]*\) .*$/\1/p' "$TMP/$1.log" 2>/dev/null | head -1; }
# explain NAME: why a SIPp run failed (its errors and the nodes' last lines).
explain() {
    {
        echo "--- $1: SIPp errors"
        tr '\r' '\n' <"$TMP/$1.err" 2>/dev/null | grep -v '^$' | tail -n 6
        local n
        for n in pf-a pf-b cf; do echo "--- $n log"; tail -n 4 "$TMP/$n.log"; done
    } | sed 's/^/   /'
}

# expect_ids NAME WANT: the join passed and its 200 OK carried WANT.
expect_ids() {
    local name=$1 rc=$2 want=$3 text=$4 got
    got=$(logged_ids "$name")
    if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then
        echo "PASS $text"
        passed=$((passed + 1))
    else
        echo "FAIL $text (SIPp exit $rc, ids '$got', want '$want')"
        failed=$((failed + 1))
        explain "$name"
    fi
}

expect_refusal() {
    local name=$1 rc=$2 want=$3 text=$4 got
    got=$(logged_refusal "$name")
    if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then
        echo "PASS $text"
        passed=$((passed + 1))
    else
        echo "FAIL $text (SIPp exit $rc, status '$got', want $want)"
        failed=$((failed + 1))
        explain "$name"
    fi
}

# run_backend NAME STORE: the lab on one backend, every case over UDP and TCP, the capture decoded.
run_backend() {
    local backend=$1 store=$2
    TMP=$WORK/$backend
    mkdir -p "$TMP"
    local a_port b_port e_port m_port
    a_port=$(udp_tcp_free_port); b_port=$(udp_tcp_free_port); e_port=$(udp_tcp_free_port); m_port=$(udp_tcp_free_port)
    if ! poc_lab_start "$store" 100 "$(poc_users "alice@a.lab=$a_port" "eve@a.lab=$e_port")" \
        "$(poc_users "bob@b.lab=$b_port")" >"$TMP/lab.out"; then
        echo "FAIL $backend: the lab starts: $(cat "$TMP/lab.out")"
        failed=$((failed + 1))
        local n; for n in group-server cf pf-a pf-b; do tail -n 3 "$TMP/$n.log" 2>/dev/null; done
        poc_lab_stop
        return
    fi
    echo "sipp-poc: $backend: group-server $GS_XCAP, CF $CF_SIP, PF-A $PFA_SIP, PF-B $PFB_SIP"

    # RTP to B arrives on B's media port: one per transport (A's and B's SIPp runs overlap).
    local b_mp_udp b_mp_tcp a_mp
    b_mp_udp=$(udp_tcp_free_port); b_mp_tcp=$(udp_tcp_free_port); a_mp=$(udp_tcp_free_port)
    local ports="port ${PFA_SIP##*:} or port ${PFB_SIP##*:} or port ${CF_SIP##*:}"
    dumpcap -q -i lo -f "$ports or udp port $b_mp_udp or udp port $b_mp_tcp or udp port $a_mp" \
        -w "$TMP/poc.pcapng" >"$TMP/dumpcap.log" 2>&1 &
    CAPTURE_PID=$!
    # dumpcap starts before its filter is live: probe a SIP port until a packet shows up.
    local live=no
    for _ in $(seq 100); do
        python3 -c "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'\r\n\r\n', ('127.0.0.1', ${CF_SIP##*:}))"
        if [ "$(tshark -r "$TMP/poc.pcapng" 2>/dev/null | wc -l)" -gt 0 ]; then live=yes; break; fi
        sleep 0.1
    done
    check "$backend: capture on lo is live" [ "$live" = yes ]

    local tr group rc_a rc_b rc why a_ids
    for tr in udp tcp; do
        group=sip:team-$tr@$POC_DOMAIN
        poc_group_xml "$group" sip:alice@a.lab 8 sip:alice@a.lab sip:bob@b.lab >"$TMP/team-$tr.xml"
        if why=$(poc_put_group "$TMP/team-$tr.xml" "$group" sip:alice@a.lab); then
            echo "PASS $backend/$tr: curl PUT $group 201 + strong ETag, GET 200 same ETag and members, If-None-Match 304"
            passed=$((passed + 1))
        else
            echo "FAIL $backend/$tr: XCAP document of $group: $why"
            failed=$((failed + 1))
            continue
        fi
        local b_mp=$b_mp_udp
        [ "$tr" = tcp ] && b_mp=$b_mp_tcp

        # A joins and stays 4 s sending RTP; B joins once A is in, stays 1.5 s.
        sipp_run "a-$tr" join.xml "$PFA_SIP" "$tr" alice a.lab "$group" "A-$tr-$$" 4000 "$a_port" "$a_mp" &
        local a_pid=$!
        wait_for 10 joined "a-$tr"
        rc_b=0
        sipp_run "b-$tr" join.xml "$PFB_SIP" "$tr" bob b.lab "$group" "B-$tr-$$" 1500 "$b_port" "$b_mp" || rc_b=$?
        rc_a=0
        wait "$a_pid" || rc_a=$?
        a_ids="conv-A-$tr-$$ contrib-A-$tr-$$"
        expect_ids "a-$tr" "$rc_a" "$a_ids" "$backend/$tr: A joins via PF-A, its 200 OK echoes its own ids, ACK, RTP, BYE 200"
        expect_ids "b-$tr" "$rc_b" "$a_ids" "$backend/$tr: B joins via PF-B with its own ids, its 200 OK carries A's Conversation-ID and Contribution-ID, BYE 200"
        rc=0
        sipp_run "a2-$tr" join.xml "$PFA_SIP" "$tr" alice a.lab "$group" "A2-$tr-$$" 200 "$a_port" "$a_mp" || rc=$?
        expect_ids "a2-$tr" "$rc" "$a_ids" "$backend/$tr: A rejoins with new ids after everyone left, gets the first ids"

        rc=0
        sipp_run "eve-$tr" refused.xml "$PFA_SIP" "$tr" eve a.lab "$group" "E-$tr" 0 "$e_port" "$m_port" || rc=$?
        expect_refusal "eve-$tr" "$rc" 403 "$backend/$tr: eve (PF-A's user, not a member) gets 403"
        rc=0
        sipp_run "mallory-$tr" refused.xml "$PFA_SIP" "$tr" mallory a.lab "$group" "M-$tr" 0 "$e_port" "$m_port" || rc=$?
        expect_refusal "mallory-$tr" "$rc" 403 "$backend/$tr: mallory (unknown to PF-A) gets 403"
        rc=0
        sipp_run "nosuch-$tr" refused.xml "$PFA_SIP" "$tr" alice a.lab "sip:nosuch@$POC_DOMAIN" "N-$tr" 0 "$a_port" "$m_port" || rc=$?
        expect_refusal "nosuch-$tr" "$rc" 404 "$backend/$tr: a group nobody has gets 404"
    done

    sleep 0.3
    kill -INT "$CAPTURE_PID" 2>/dev/null
    wait "$CAPTURE_PID" 2>/dev/null
    CAPTURE_PID=
    poc_lab_stop

    # Wireshark's SIP dissector on our ports (nothing else is in the capture but B's RTP).
    local p ts=(tshark -r "$TMP/poc.pcapng")
    for p in ${PFA_SIP##*:} ${PFB_SIP##*:} ${CF_SIP##*:}; do ts+=(-d "udp.port==$p,sip" -d "tcp.port==$p,sip"); done
    ts+=(-d "udp.port==$b_mp_udp,rtp" -d "udp.port==$b_mp_tcp,rtp")
    local bad
    # Malformed frames, and expert warnings or errors of any protocol but TCP: TCP's own findings
    # are not SIP's (SIPp ends its connections with a reset and binds every run of a terminal to
    # the same port, -p, so tshark reports resets, reused ports, D-SACKs and segments it relates
    # to an earlier connection).
    bad=$("${ts[@]}" -Y '_ws.malformed' 2>/dev/null)
    bad+=$("${ts[@]}" -q -z expert,warn 2>/dev/null | awk '$1 ~ /^[0-9]+$/ && $3 != "TCP"')
    if [ -z "$bad" ]; then
        echo "PASS $backend: tshark decodes the capture: no malformed frame, no SIP/SDP/RTP warning"
        passed=$((passed + 1))
    else
        echo "FAIL $backend: tshark flags frames:"
        echo "$bad" | head -n 10 | sed 's/^/   /'
        failed=$((failed + 1))
    fi
    local proto want
    for proto in udp tcp; do
        local seen
        seen=$("${ts[@]}" -Y "sip && $proto" -T fields -e sip.Method -e sip.Status-Code 2>/dev/null | tr '\t' '\n' | sort -u | tr '\n' ' ')
        local missing=""
        for want in INVITE ACK BYE 200 403 404; do
            grep -qw "$want" <<<"$seen" || missing+=" $want"
        done
        if [ -z "$missing" ]; then
            echo "PASS $backend: tshark sees INVITE, ACK, BYE, 200, 403, 404 over ${proto^^}"
            passed=$((passed + 1))
        else
            echo "FAIL $backend: over ${proto^^} tshark misses$missing (saw: $seen)"
            failed=$((failed + 1))
        fi
    done
    for tr in udp tcp; do
        local b_mp=$b_mp_udp n
        [ "$tr" = tcp ] && b_mp=$b_mp_tcp
        n=$("${ts[@]}" -Y "rtp && udp.dstport == $b_mp && udp.srcport != $a_mp" 2>/dev/null | wc -l)
        check "$backend/$tr: RTP from A reaches B through the CF's relay ($n packets)" [ "$n" -gt 0 ]
    done
}

echo "sipp-poc: $(sipp -v 2>/dev/null | grep -o 'SIPp v[0-9.]*' | head -1), $(tshark --version 2>/dev/null | head -1); binaries in $BIN; work dir $WORK"
run_backend sqlite sqlite
if [ -n "$PG_URL" ]; then
    db="corelab_sipp_poc_$$"
    if psql -q "$PG_URL" -c "CREATE DATABASE \"$db\"" >/dev/null 2>&1; then
        DATABASES+=("$db")
        run_backend postgres "$(python3 - "$PG_URL" "$db" <<'EOF'
import sys
from urllib.parse import urlsplit, urlunsplit
u = urlsplit(sys.argv[1])
print(urlunsplit((u.scheme, u.netloc, "/" + sys.argv[2], u.query, u.fragment)))
EOF
)"
    else
        echo "FAIL postgres: CREATE DATABASE on $PG_URL"
        failed=$((failed + 1))
    fi
elif [ "${CORELAB_REQUIRE_PG:-}" = 1 ]; then
    echo "FAIL postgres (CORELAB_REQUIRE_PG=1 but CORELAB_TEST_PG_URL is not set)"
    failed=$((failed + 1))
fi
TMP=$WORK
finish
