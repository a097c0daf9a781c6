#!/usr/bin/env python3
"""python-diameter as a Gx or Rx client (PCEF / AF role) against a Diameter server under test.

Gx: CCR-I, CCR-U, CCR-T (TS 29.212 §4.5.1/§5.6.2). Rx: AAR, STR (TS 29.214 §4.4.1/§4.4.4). With
--answer-rars N it also expects N Re-Auth-Requests from the server (e.g. after the CCR-I / AAR) and
answers each with RAA 2001. Prints every message, one PASS/FAIL line per check; exit 0 only when every
answer arrived with Result-Code 2001 (or --expect) and echoes the request's identifiers.

Run under `timeout`: python-diameter's threads are non-daemon.
"""
from __future__ import annotations

import argparse
import sys
import threading
import time

from diameter.message.commands import (
    AaRequest, CreditControlRequest, ReAuthAnswer, SessionTerminationRequest,
)
from diameter.message.avp.grouped import SubscriptionId
from diameter.message.constants import (
    E_CC_REQUEST_TYPE_INITIAL_REQUEST, E_CC_REQUEST_TYPE_TERMINATION_REQUEST,
    E_CC_REQUEST_TYPE_UPDATE_REQUEST, E_SUBSCRIPTION_ID_TYPE_END_USER_IMSI,
    E_TERMINATION_CAUSE_DIAMETER_LOGOUT,
)

from common import APPS, SUCCESS, Checks, describe, make_app, make_node, parse_hostport, result_code, say, setup_logging


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connect", required=True, help="server HOST:PORT")
    ap.add_argument("--app", choices=["gx", "rx"], required=True)
    ap.add_argument("--origin-host", default="pcef.py.example.net")
    ap.add_argument("--realm", default="py.example.net")
    ap.add_argument("--peer-host", required=True, help="the server's Origin-Host (python-diameter needs it up front)")
    ap.add_argument("--peer-realm", required=True)
    ap.add_argument("--answer-rars", type=int, default=0, help="RARs the server sends us (answered RAA 2001)")
    ap.add_argument("--expect", type=int, default=SUCCESS, help="Result-Code expected in every answer")
    ap.add_argument("--imsi", default="001010000000001")
    args = ap.parse_args()
    setup_logging()
    host, port = parse_hostport(args.connect)
    checks = Checks()

    rars = []
    rar_done = threading.Event()
    dpa_seen = threading.Event()

    def on_request(app, msg):
        say("received", describe(msg))
        if msg.header.command_code != 258:
            return app.generate_answer(msg, result_code=3001)
        rars.append(msg)
        answer = app.generate_answer(msg, result_code=SUCCESS)
        say("sent", describe(answer))
        if len(rars) >= args.answer_rars:
            rar_done.set()
        return answer

    node = make_node(args.origin_host, args.realm)
    peer = node.add_peer(f"aaa://{args.peer_host}:{port};transport=tcp", args.peer_realm,
                         ip_addresses=[host], is_persistent=True)
    app = make_app(args.app, on_request)
    # realms=[our realm]: requests the server sends to us (RAR) are routed to this app.
    node.add_application(app, [peer], realms=[args.realm])

    orig_cea, orig_dpa = node.receive_cea, node.receive_dpa

    def on_cea(conn, msg):
        say("received", describe(msg))
        checks.check("CEA Result-Code 2001", result_code(msg) == SUCCESS, f"got {result_code(msg)}")
        orig_cea(conn, msg)

    def on_dpa(conn, msg):
        say("received", describe(msg))
        dpa_seen.set()
        orig_dpa(conn, msg)

    node.receive_cea, node.receive_dpa = on_cea, on_dpa
    node.start()
    try:
        app.wait_for_ready(10)
    except Exception as e:  # noqa: BLE001
        checks.check("connection and CER/CEA", False, str(e))
        node.stop(wait_timeout=2, force=True)
        return 2

    session = node.session_generator.next_id()
    app_id = APPS[args.app]

    def send(name, req, expect_type=None, expect_number=None):
        req.session_id = session
        req.origin_host = args.origin_host.encode()
        req.origin_realm = args.realm.encode()
        req.destination_realm = args.peer_realm.encode()
        req.auth_application_id = app_id
        say("sent", describe(req))
        try:
            answer = app.send_request(req, timeout=5)
        except Exception as e:  # noqa: BLE001 - a timeout is a failed check, not a crash
            checks.check(name, False, f"no answer: {e}")
            return None
        if checks.answer(name, answer, args.expect):
            checks.check(f"{name} Session-Id echoed", getattr(answer, "session_id", None) == session)
            if expect_type is not None:
                checks.check(f"{name} CC-Request-Type/Number echoed",
                             answer.cc_request_type == expect_type and answer.cc_request_number == expect_number,
                             f"{answer.cc_request_type}/{answer.cc_request_number}")
        return answer

    def ccr(req_type, number):
        req = CreditControlRequest()
        req.cc_request_type = req_type
        req.cc_request_number = number
        req.subscription_id = [SubscriptionId(subscription_id_type=E_SUBSCRIPTION_ID_TYPE_END_USER_IMSI,
                                              subscription_id_data=args.imsi)]
        return req

    if args.app == "gx":
        send("Gx CCR-I -> CCA", ccr(E_CC_REQUEST_TYPE_INITIAL_REQUEST, 0), E_CC_REQUEST_TYPE_INITIAL_REQUEST, 0)
    else:
        aar = AaRequest()
        aar.framed_ip_address = bytes([10, 45, 0, 7])
        send("Rx AAR -> AAA", aar)

    if args.answer_rars:
        checks.check(f"{args.answer_rars} RAR received and answered", rar_done.wait(10), f"got {len(rars)}")
        for rar in rars:
            checks.check("RAR Session-Id is our session", getattr(rar, "session_id", None) == session)

    if args.app == "gx":
        send("Gx CCR-U -> CCA", ccr(E_CC_REQUEST_TYPE_UPDATE_REQUEST, 1), E_CC_REQUEST_TYPE_UPDATE_REQUEST, 1)
        send("Gx CCR-T -> CCA", ccr(E_CC_REQUEST_TYPE_TERMINATION_REQUEST, 2), E_CC_REQUEST_TYPE_TERMINATION_REQUEST, 2)
    else:
        str_ = SessionTerminationRequest()
        str_.termination_cause = E_TERMINATION_CAUSE_DIAMETER_LOGOUT
        send("Rx STR -> STA", str_)

    # Node.stop sends DPR (cause REBOOTING) and waits for the DPA.
    node.stop(wait_timeout=5)
    checks.check("DPR -> DPA", dpa_seen.is_set())
    say(f"client: {checks.failed} check(s) failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
