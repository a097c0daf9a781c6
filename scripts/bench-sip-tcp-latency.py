#!/usr/bin/env python3
"""SUBSCRIBE -> NOTIFY latency over SIP/TCP against a presence-server (issue 9 section 3).

Starts the given presence-server binary on a free loopback port (SQLite store in a temporary
directory), registers one user over one TCP connection and then, `--samples` times, subscribes
to its own presence and times the SUBSCRIBE -> 200 and SUBSCRIBE -> first NOTIFY on that
connection (the server writes the NOTIFY right after the 200: without TCP_NODELAY the second
small write waits for the client's delayed ACK). Prints percentiles in milliseconds.

    python3 scripts/bench-sip-tcp-latency.py --server target/debug/presence-server --samples 200

Not a test: timing is reported, never asserted.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    while True:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket()
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            pass
        finally:
            t.close()
            u.close()


class Stream:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def message(self, timeout):
        """One whole SIP message (headers + Content-Length body) as text."""
        deadline = time.monotonic() + timeout
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                head = self.buf[:end].decode("utf-8", "replace")
                length = 0
                for line in head.split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() in ("content-length", "l"):
                        length = int(value.strip())
                total = end + 4 + length
                if len(self.buf) >= total:
                    msg, self.buf = self.buf[:total], self.buf[total:]
                    return msg.decode("utf-8", "replace")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no SIP message in time")
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("server closed the connection")
            self.buf += data


def header(msg, name):
    for line in msg.split("\r\n")[1:]:
        n, _, v = line.partition(":")
        if n.strip().lower() == name.lower():
            return v.strip()
    return None


def ok_for(req):
    lines = ["SIP/2.0 200 OK"]
    for line in req.split("\r\n")[1:]:
        n = line.partition(":")[0].strip().lower()
        if n in ("via", "from", "to", "call-id", "cseq"):
            lines.append(line)
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True, help="presence-server binary")
    ap.add_argument("--samples", type=int, default=200)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="sip-tcp-lat-")
    port = free_port()
    cfg = os.path.join(tmp, "presence.toml")
    with open(cfg, "w") as f:
        f.write(f'[sip]\nlisten = "127.0.0.1:{port}"\n[log]\nlevel = "warn"\n')
    log = open(os.path.join(tmp, "presence-server.log"), "w")
    server = subprocess.Popen(
        [args.server, "--config", cfg, "--store-url", f"sqlite://{tmp}/presence.db"],
        stdout=log, stderr=log,
    )
    try:
        sock = None
        for _ in range(200):
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        if sock is None:
            sys.exit("presence-server did not start")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        local = "%s:%d" % sock.getsockname()
        s = Stream(sock)
        aor = "sip:lat@lab.example"
        contact = f"<sip:lat@{local};transport=tcp>"

        def request(method, call_id, cseq, branch, extra):
            return (
                f"{method} {aor} SIP/2.0\r\nVia: SIP/2.0/TCP {local};branch=z9hG4bK{branch}\r\n"
                f"Max-Forwards: 70\r\nFrom: <{aor}>;tag=t{branch}\r\nTo: <{aor}>\r\n"
                f"Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nContact: {contact}\r\n"
                f"{extra}Content-Length: 0\r\n\r\n"
            ).encode()

        sock.sendall(request("REGISTER", "reg-lat", 1, "reg", "Expires: 3600\r\n"))
        reply = s.message(5)
        if not reply.startswith("SIP/2.0 200"):
            sys.exit("REGISTER refused: " + reply.split("\r\n")[0])

        to_ok, to_notify = [], []
        for i in range(args.samples):
            call_id = f"lat-{i}-{port}"
            t0 = time.perf_counter()
            sock.sendall(request("SUBSCRIBE", call_id, 1, f"s{i}", "Event: presence\r\nExpires: 600\r\n"))
            got_ok = got_notify = None
            while got_ok is None or got_notify is None:
                msg = s.message(5)
                now = time.perf_counter()
                if msg.startswith("SIP/2.0 "):
                    if header(msg, "Call-ID") == call_id and not msg.startswith("SIP/2.0 1"):
                        got_ok = now
                elif msg.startswith("NOTIFY "):
                    sock.sendall(ok_for(msg))
                    if header(msg, "Call-ID") == call_id and got_notify is None:
                        got_notify = now
            to_ok.append((got_ok - t0) * 1000)
            to_notify.append((got_notify - t0) * 1000)

        for name, v in (("SUBSCRIBE->200", to_ok), ("SUBSCRIBE->NOTIFY", to_notify)):
            print(
                f"{name:18} n={len(v)} median={statistics.median(v):.2f} ms "
                f"p90={pct(v, 90):.2f} p99={pct(v, 99):.2f} max={max(v):.2f}"
            )
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
