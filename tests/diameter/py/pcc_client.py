#!/usr/bin/env python3
"""python-diameter as PCEF (Gx) and AF (Rx) of one UE through a DRA (redirect or proxy) to a PCRF.

Two python-diameter nodes in one process, both connected to the DRA:
  1. PCEF CCR-I (Subscription-Id, Framed-IP-Address, Called-Station-Id) -> CCA-I 2001
  2. AF AAR (Framed-IP-Address: the DRA and the PCRF bind it to the PCEF's IP-CAN session) -> AAA 2001;
     the PCRF's Gx RAR installing the media rule reaches the PCEF, answered RAA 2001
  3. AF STR -> STA 2001; the PCRF's Gx RAR removing the media rule answered RAA 2001
  4. PCEF CCR-T -> CCA-T 2001
  5. DPR/DPA on every connection.

Redirect mode (TS 29.213 §7.3, RFC 6733 §6.1.7/§6.13): a 3006 DIAMETER_REDIRECT_INDICATION answer names
the PCRF in Redirect-Host (`aaa://ip:port;transport=tcp`); this script connects to that address,
learns the PCRF's identity from its CEA, and sends the request again there (new hop-by-hop, same
Session-Id, Destination-Host = the PCRF). The DRA's 3006 is followed for every request, so the
termination goes to the DRA first (which deletes its binding, docs/dra.md) and then to the PCRF.
python-diameter has no redirect handling of its own: this is that logic.

One PASS/FAIL line per check; exit 0 only when every check passed. Run under `timeout`.
"""
from __future__ import annotations

import argparse
import ipaddress
import sys
import threading
import time

from diameter.message.commands import (
    AaRequest, CreditControlRequest, SessionTerminationRequest,
)
from diameter.message.avp.grouped import SubscriptionId
from diameter.message.constants import (
    E_CC_REQUEST_TYPE_INITIAL_REQUEST, E_CC_REQUEST_TYPE_TERMINATION_REQUEST,
    E_SUBSCRIPTION_ID_TYPE_END_USER_IMSI, E_TERMINATION_CAUSE_DIAMETER_LOGOUT,
)
from diameter.node._helpers import parse_diameter_uri
from diameter.node.peer import PEER_READY_STATES

from common import APPS, SUCCESS, Checks, describe, make_app, make_node, parse_hostport, result_code, say, setup_logging

REDIRECT_INDICATION = 3006
AVP_REDIRECT_HOST = 292
# RFC 6733 §6.3/§6.5/§6.6: Origin-Host, Origin-Realm, Destination-Host, Destination-Realm must have M set;
# python-diameter 0.9 sends them clear (shared PEERS.md), which our endpoints answer 3009.
M_MUST = {264, 296, 293, 283}


def set_m_bits(msg):
    """Freeze msg's AVPs with the M bit on the base AVPs that must carry it."""
    avps = msg.avps
    for a in avps:
        if a.code in M_MUST and not a.vendor_id:
            a.is_mandatory = True
    msg._avps = avps
    return msg


class Client:
    """One python-diameter node (PCEF or AF) with its DRA connection and the PCRFs it was redirected to."""

    def __init__(self, name, app_name, origin_host, realm, dra, dra_host, pcrf_realm, checks, rar_handler=None):
        self.name, self.app_name, self.origin_host, self.realm = name, app_name, origin_host, realm
        self.pcrf_realm, self.checks = pcrf_realm, checks
        self.node = make_node(origin_host, realm)
        host, port = parse_hostport(dra)
        self.dra_peer = self.node.add_peer(f"aaa://{dra_host}:{port};transport=tcp", pcrf_realm,
                                           ip_addresses=[host], is_persistent=True)
        self.app = make_app(app_name, rar_handler)
        self.node.add_application(self.app, [self.dra_peer], realms=[realm])
        self.pcrfs = {}      # "ip:port" -> Peer (keyed by the PCRF's identity once its CEA came)
        self.dpa = 0
        self.node.peer_route_select_func = self._select
        orig_cea, orig_dpa = self.node.receive_cea, self.node.receive_dpa

        def on_cea(conn, msg):
            # A PCRF reached through a redirect is known by address only: register it under the
            # identity its CEA gives, so python-diameter assigns the connection to the peer.
            ident = msg.origin_host.decode()
            if conn.node_name in self.node.peers and ident not in self.node.peers:
                peer = self.node.peers.pop(conn.node_name)
                peer.node_name = ident
                conn.node_name = ident
                self.node.peers[ident] = peer
            say(f"{self.name}: received", describe(msg))
            orig_cea(conn, msg)

        def on_dpa(conn, msg):
            say(f"{self.name}: received", describe(msg))
            self.dpa += 1
            orig_dpa(conn, msg)

        self.node.receive_cea, self.node.receive_dpa = on_cea, on_dpa

    def _select(self, node, app, message, peers):
        """Destination-Host set: the PCRF of that identity; else the DRA."""
        want = getattr(message, "destination_host", None)
        want = want.decode() if isinstance(want, bytes) else want
        for p in peers:
            if want and p.node_name == want:
                return p
        for p in peers:
            if p is self.dra_peer:
                return p
        return peers[0]

    def start(self):
        self.node.start()
        self.app.wait_for_ready(10)

    def stop(self):
        peers = 1 + len(self.pcrfs)
        self.node.stop(wait_timeout=5)
        return self.dpa >= peers, f"{self.dpa} DPA for {peers} connection(s)"

    def _pcrf_peer(self, uri_text):
        uri = parse_diameter_uri(uri_text)
        key = f"{uri.fqdn}:{uri.port}"
        peer = self.pcrfs.get(key)
        if peer is None:
            ipaddress.ip_address(uri.fqdn)  # the DRA names the PCRF by address (docs/dra.md)
            peer = self.node.add_peer(f"aaa://{uri.fqdn}:{uri.port};transport=tcp", self.pcrf_realm,
                                      ip_addresses=[uri.fqdn], is_persistent=True)
            for routes in self.node._peer_routes.values():
                if self.app in routes:
                    routes[self.app].append(peer)
            self.pcrfs[key] = peer
            self.node._connect_to_peer(peer)
        deadline = time.time() + 5
        while time.time() < deadline:
            if peer.connection and peer.connection.state in PEER_READY_STATES:
                return peer
            time.sleep(0.02)
        raise TimeoutError(f"no connection to the redirected PCRF {uri_text}")

    def send(self, what, build, session):
        """Send build() to the DRA; on 3006 follow the Redirect-Host to the PCRF. Returns the final answer."""
        req = self._prepare(build(), session, None)
        say(f"{self.name}: sent", describe(req))
        answer = self.app.send_request(req, timeout=5)
        if answer is not None:
            say(f"{self.name}: received", describe(answer))
        if answer is not None and result_code(answer) == REDIRECT_INDICATION:
            hosts = [a.value.decode() if isinstance(a.value, bytes) else str(a.value)
                     for a in answer.avps if a.code == AVP_REDIRECT_HOST and not a.vendor_id]
            self.checks.check(f"{what}: the DRA's 3006 names a Redirect-Host", bool(hosts), str(hosts))
            if not hosts:
                return None
            peer = self._pcrf_peer(hosts[0])
            req = self._prepare(build(), session, peer.node_name)
            say(f"{self.name}: sent (redirected to {peer.node_name})", describe(req))
            answer = self.app.send_request(req, timeout=5)
            if answer is not None:
                say(f"{self.name}: received", describe(answer))
            self.redirected = True
        return answer

    def _prepare(self, req, session, dest_host):
        req.session_id = session
        req.origin_host = self.origin_host.encode()
        req.origin_realm = self.realm.encode()
        req.destination_realm = self.pcrf_realm.encode()
        if dest_host:
            req.destination_host = dest_host.encode()
        req.auth_application_id = APPS[self.app_name]
        return set_m_bits(req)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dra", required=True, help="the DRA's HOST:PORT")
    ap.add_argument("--dra-host", required=True, help="the DRA's Origin-Host (python-diameter needs it up front)")
    ap.add_argument("--pcrf-realm", required=True, help="Destination-Realm of every request (the DRA's realm)")
    ap.add_argument("--mode", choices=["redirect", "proxy"], required=True,
                    help="the DRA's mode: redirect expects a 3006 for every request, proxy none")
    ap.add_argument("--realm", default="py.interop.test")
    ap.add_argument("--imsi", default="001010000000077")
    ap.add_argument("--ue-ip", default="10.45.77.7")
    ap.add_argument("--apn", default="internet")
    args = ap.parse_args()
    setup_logging()
    checks = Checks()
    ue_ip = bytes(ipaddress.IPv4Address(args.ue_ip).packed)

    rars = []
    rar_cv = threading.Condition()

    def on_pcef_request(app, msg):
        say("pcef: received", describe(msg))
        if msg.header.command_code != 258:
            return set_m_bits(app.generate_answer(msg, result_code=3001))
        with rar_cv:
            rars.append(msg)
            rar_cv.notify_all()
        answer = set_m_bits(app.generate_answer(msg, result_code=SUCCESS))
        say("pcef: sent", describe(answer))
        return answer

    def wait_rars(n):
        with rar_cv:
            return rar_cv.wait_for(lambda: len(rars) >= n, timeout=10)

    def on_af_request(app, msg):
        say("af: received", describe(msg))
        return set_m_bits(app.generate_answer(msg, result_code=SUCCESS))

    common = dict(realm=args.realm, dra=args.dra, dra_host=args.dra_host, pcrf_realm=args.pcrf_realm, checks=checks)
    pcef = Client("pcef", "gx", f"pcef.{args.realm}", rar_handler=on_pcef_request, **common)
    af = Client("af", "rx", f"af.{args.realm}", rar_handler=on_af_request, **common)
    try:
        pcef.start()
        af.start()
    except Exception as e:  # noqa: BLE001
        checks.check("CER/CEA with the DRA (PCEF and AF)", False, str(e))
        pcef.node.stop(wait_timeout=1, force=True)
        af.node.stop(wait_timeout=1, force=True)
        return 2
    checks.check("CER/CEA with the DRA (PCEF and AF)", True)
    gx_session = pcef.node.session_generator.next_id()
    rx_session = af.node.session_generator.next_id()

    def ccr(kind, number):
        def build():
            r = CreditControlRequest()
            r.cc_request_type = kind
            r.cc_request_number = number
            r.subscription_id = [SubscriptionId(subscription_id_type=E_SUBSCRIPTION_ID_TYPE_END_USER_IMSI,
                                                subscription_id_data=args.imsi)]
            r.framed_ip_address = ue_ip
            r.called_station_id = args.apn
            if kind == E_CC_REQUEST_TYPE_TERMINATION_REQUEST:
                r.termination_cause = E_TERMINATION_CAUSE_DIAMETER_LOGOUT
            return r
        return build

    def aar():
        r = AaRequest()
        r.framed_ip_address = ue_ip
        r.subscription_id = [SubscriptionId(subscription_id_type=E_SUBSCRIPTION_ID_TYPE_END_USER_IMSI,
                                            subscription_id_data=args.imsi)]
        r.called_station_id = args.apn
        return r

    def str_():
        r = SessionTerminationRequest()
        r.termination_cause = E_TERMINATION_CAUSE_DIAMETER_LOGOUT
        return r

    redirect = args.mode == "redirect"

    def step(what, client, build, session):
        client.redirected = False
        try:
            answer = client.send(what, build, session)
        except Exception as e:  # noqa: BLE001 - a failed step is a failed check, not a crash
            checks.check(what, False, str(e))
            return None
        if checks.answer(what, answer):
            checks.check(f"{what}: Session-Id echoed", getattr(answer, "session_id", None) == session)
            checks.check(f"{what}: {'followed the DRA' + chr(39) + 's 3006' if redirect else 'proxied, no 3006'}",
                         client.redirected == redirect)
            origin = answer.origin_host.decode() if getattr(answer, "origin_host", None) else ""
            checks.check(f"{what}: answered by the PCRF", origin != args.dra_host, f"Origin-Host {origin}")
        return answer

    step("PCEF Gx CCR-I -> CCA-I", pcef, ccr(E_CC_REQUEST_TYPE_INITIAL_REQUEST, 0), gx_session)
    step("AF Rx AAR -> AAA (bound to the PCEF's session by UE IP)", af, aar, rx_session)
    checks.check("PCRF's Gx RAR (media rule install) reached the PCEF, answered 2001", wait_rars(1), f"{len(rars)} RAR")
    step("AF Rx STR -> STA", af, str_, rx_session)
    checks.check("PCRF's Gx RAR (media rule removal) reached the PCEF, answered 2001", wait_rars(2), f"{len(rars)} RAR")
    for r in rars:
        checks.check("RAR names the PCEF's Gx session", getattr(r, "session_id", None) == gx_session)
    step("PCEF Gx CCR-T -> CCA-T", pcef, ccr(E_CC_REQUEST_TYPE_TERMINATION_REQUEST, 1), gx_session)

    for c in (af, pcef):
        ok, detail = c.stop()
        checks.check(f"{c.name}: DPR -> DPA on every connection", ok, detail)
    say(f"pcc_client: {checks.failed} check(s) failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
