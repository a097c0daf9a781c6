# shellcheck shell=bash
# udp_tcp_free_port: a port free for both UDP and TCP on 127.0.0.1 (SIPp and the SIP nodes listen
# on both with one port). Sourced by tests/interop/sipp-presence.sh and tests/sip/poc-lab.sh.
udp_tcp_free_port() {
    python3 - <<'EOF'
import socket
for _ in range(100):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        t.close()
        continue
    u.close()
    t.close()
    print(port)
    break
EOF
}
