#!/usr/bin/env python3
"""python-diameter as a Gx/Rx server (PCRF role) that a Diameter client under test talks to.

Answers CCR (CCA, CC-Request-Type/Number echoed), AAR (AAA) and STR (STA) with Result-Code 2001. With
--send-rar, after answering a Gx CCR-I or an Rx AAR it sends a Re-Auth-Request for that session back to the
client over the same connection and checks the RAA is 2001. Prints `listening on HOST:PORT` when ready,
every message, one PASS/FAIL line per check, and exits after --count application requests were answered
and the client disconnected (0 when every RAA was 2001, 1 otherwise, 3 on timeout).

Run under `timeout`: python-diameter's threads are non-daemon.
"""
from __future__ import annotations

import argparse
import sys
import threading
import time

from diameter.message.commands import ReAuthRequest
from diameter.message.constants import (
    E_CC_REQUEST_TYPE_INITIAL_REQUEST, E_RE_AUTH_REQUEST_TYPE_AUTHORIZE_ONLY,
)

from common import APPS, SUCCESS, Checks, describe, make_app, make_node, parse_hostport, say, setup_logging


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", required=True, help="HOST:PORT")
    ap.add_argument("--origin-host", default="pcrf.py.example.net")
    ap.add_argument("--realm", default="py.example.net")
    ap.add_argument("--peer-host", required=True, help="the client's Origin-Host (must be known before its CER)")
    ap.add_argument("--peer-realm", required=True)
    ap.add_argument("--apps", default="gx,rx", help="comma-separated: gx, rx, gxx, s9")
    ap.add_argument("--send-rar", action="store_true", help="RAR after each Gx CCR-I / Rx AAR")
    ap.add_argument("--count", type=int, required=True, help="exit after this many application requests")
    ap.add_argument("--no-dpr-check", action="store_true", help="the client (e.g. a relay) stays connected")
    ap.add_argument("--wait", type=float, default=20, help="seconds to wait for them")
    args = ap.parse_args()
    setup_logging()
    checks = Checks()

    answered = 0
    lock = threading.Lock()
    rar_threads: list[threading.Thread] = []
    dpr_seen = threading.Event()
    done = threading.Event()

    def send_rar(app, request):
        rar = ReAuthRequest()
        rar.header.application_id = app.application_id
        rar.session_id = request.session_id
        rar.origin_host = args.origin_host.encode()
        rar.origin_realm = args.realm.encode()
        rar.destination_realm = args.peer_realm.encode()
        rar.destination_host = request.origin_host
        rar.auth_application_id = app.application_id
        rar.re_auth_request_type = E_RE_AUTH_REQUEST_TYPE_AUTHORIZE_ONLY
        time.sleep(0.2)  # let the answer go out first
        say("sent", describe(rar))
        try:
            raa = app.send_request(rar, timeout=5)
        except Exception as e:  # noqa: BLE001
            checks.check("RAR -> RAA", False, f"no answer: {e}")
            return
        checks.answer("RAR -> RAA", raa)

    def on_request(app, msg):
        nonlocal answered
        say("received", describe(msg))
        answer = app.generate_answer(msg, result_code=SUCCESS)
        code = msg.header.command_code
        if code == 272:
            answer.cc_request_type = msg.cc_request_type
            answer.cc_request_number = msg.cc_request_number
        say("sent", describe(answer))
        rar_now = args.send_rar and ((code == 272 and msg.cc_request_type == E_CC_REQUEST_TYPE_INITIAL_REQUEST)
                                     or code == 265)
        if rar_now:
            t = threading.Thread(target=send_rar, args=(app, msg))
            rar_threads.append(t)
            t.start()
        with lock:
            answered += 1
            if answered >= args.count:
                done.set()
        return answer

    host, port = parse_hostport(args.listen)
    node = make_node(args.origin_host, args.realm, listen=(host, port))
    peer = node.add_peer(f"aaa://{args.peer_host};transport=tcp", args.peer_realm)
    for name in args.apps.split(","):
        node.add_application(make_app(name, on_request), [peer], realms=[args.realm])

    orig_dpr = node.receive_dpr

    def on_dpr(conn, msg):
        say("received", describe(msg))
        dpr_seen.set()
        orig_dpr(conn, msg)

    node.receive_dpr = on_dpr
    node.start()
    say(f"listening on {host}:{port}")

    ok = done.wait(args.wait)
    checks.check(f"{args.count} application requests answered", ok, f"got {answered}")
    for t in rar_threads:
        t.join(6)
    # The client ends with DPR; wait for it and for the connection to go away.
    if not args.no_dpr_check:
        deadline = time.time() + 5
        while time.time() < deadline and (node.connections or not dpr_seen.is_set()):
            time.sleep(0.1)
        checks.check("client sent DPR (answered DPA)", dpr_seen.is_set())
    node.stop(wait_timeout=2, force=bool(node.connections))
    say(f"server: {checks.failed} check(s) failed")
    if not ok:
        return 3
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
