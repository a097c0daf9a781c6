# Shell helpers shared by the load benchmarks (scripts/bench-presence.sh, scripts/bench-poc.sh).
# shellcheck shell=bash

# cpu_ticks PID...: CPU time (user+system, clock ticks) of these processes and their descendants.
cpu_ticks() {
    python3 - "$@" <<'EOF'
import os, sys
kids, ticks = {}, {}
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    kids.setdefault(int(f[1]), []).append(int(p))
    ticks[int(p)] = int(f[11]) + int(f[12])
todo, total = [int(a) for a in sys.argv[1:] if a.isdigit()], 0
while todo:
    p = todo.pop()
    total += ticks.get(p, 0)
    todo += kids.get(p, [])
print(total)
EOF
}
