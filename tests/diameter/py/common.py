"""Shared helpers for the python-diameter peers used by corelab's interop tests.

python-diameter (PyPI, MIT) is an independent Diameter implementation; these scripts drive it as a Gx/Rx
client or server against corelab's `diameter-peer`. Every script prints what it sends and receives and
exits non-zero when an expected answer is missing or carries a Result-Code other than 2001.
Pitfalls (see shared PEERS.md): it must know its peers before they connect, its request validation follows
the base RFCs (not 3GPP) so it is switched off, and its threads are non-daemon: always run under `timeout`.
"""
from __future__ import annotations

import logging
import os
import sys
import threading

from diameter.message import Message
from diameter.message.constants import (
    APP_3GPP_GX, APP_3GPP_RX, APP_3GPP_GXX, APP_3GPP_S9, AVP_RESULT_CODE,
    AVP_EXPERIMENTAL_RESULT, AVP_EXPERIMENTAL_RESULT_CODE,
)
from diameter.node import Node
from diameter.node.application import SimpleThreadingApplication

APPS = {"gx": APP_3GPP_GX, "rx": APP_3GPP_RX, "gxx": APP_3GPP_GXX, "s9": APP_3GPP_S9}
SUCCESS = 2001

_print_lock = threading.Lock()


def say(*parts) -> None:
    """One line to stdout, flushed (scripts are read line by line by the shell tests)."""
    with _print_lock:
        print(*parts, flush=True)


def setup_logging() -> None:
    level = logging.DEBUG if os.environ.get("PYDIAMETER_DEBUG") else logging.WARNING
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")


def describe(msg: Message) -> str:
    """Command name, R/A, application id, hop-by-hop, and the top-level AVPs in one line."""
    kind = "request" if msg.header.is_request else "answer"
    avps = "; ".join(_avp_text(a) for a in msg.avps)
    return (f"{msg.name} {kind} app={msg.header.application_id} "
            f"hbh=0x{msg.header.hop_by_hop_identifier:08x} [{avps}]")


def _avp_text(avp) -> str:
    try:
        value = avp.value
    except Exception:  # noqa: BLE001 - undecodable value: show that, do not crash the peer
        value = "(undecodable)"
    if isinstance(value, list):
        value = "{" + ", ".join(_avp_text(a) for a in value) + "}"
    elif isinstance(value, bytes):
        try:
            text = value.decode()
            value = text if text.isprintable() else "0x" + value.hex()
        except UnicodeDecodeError:
            value = "0x" + value.hex()
    name = getattr(avp, "name", None) or f"avp{avp.code}"
    return f"{name}={value}"


def result_code(msg: Message | None) -> int | None:
    """Result-Code, else Experimental-Result-Code, else None."""
    if msg is None:
        return None
    for avp in msg.avps:
        if avp.code == AVP_RESULT_CODE and not avp.vendor_id:
            return int(avp.value)
    for avp in msg.avps:
        if avp.code == AVP_EXPERIMENTAL_RESULT and not avp.vendor_id:
            for inner in avp.value:
                if inner.code == AVP_EXPERIMENTAL_RESULT_CODE:
                    return int(inner.value)
    return None


def make_node(origin_host: str, realm: str, listen: tuple[str, int] | None = None) -> Node:
    if listen:
        node = Node(origin_host, realm, ip_addresses=[listen[0]], tcp_port=listen[1])
    else:
        node = Node(origin_host, realm)
    # 3GPP Gx/Rx requests lack AVPs python-diameter's RFC 4006/7155 checks want (Service-Context-Id ...).
    node.validate_received_request_avps = False
    node.idle_timeout = 6   # DWR after 6 s idle (its timer granularity is wakeup_interval)
    node.wakeup_interval = 1
    return node


def make_app(app_name: str, handler=None) -> SimpleThreadingApplication:
    return SimpleThreadingApplication(APPS[app_name], is_auth_application=True, request_handler=handler)


class Checks:
    """Collects named checks; prints one PASS/FAIL line each."""

    def __init__(self) -> None:
        self.failed = 0
        self.lock = threading.Lock()

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        with self.lock:
            if not ok:
                self.failed += 1
        say(f"{'PASS' if ok else 'FAIL'}: {name}{(' (' + detail + ')') if detail else ''}")
        return ok

    def answer(self, name: str, answer: Message | None, expect: int = SUCCESS) -> bool:
        if answer is None:
            return self.check(name, False, "no answer")
        say("received", describe(answer))
        rc = result_code(answer)
        return self.check(name, rc == expect, f"Result-Code {rc}")


def parse_hostport(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)
