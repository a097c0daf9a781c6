#!/usr/bin/env bash
# NAS-5GS codec benchmark, ours (criterion, release) and pycrate on the same octets in the same run,
# with the ratio per operation. Never a pass/fail test; numbers go to docs/benchmarks.md.
# Usage: bash scripts/bench-nas.sh        (needs python3 + pycrate: bash scripts/install-peers.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
NAS_BENCH_SAMPLES="$out/samples.tsv" cargo bench -q -p corelab-nas --bench codec -- --noplot 2>&1 \
    | tee "$out/criterion.txt" | grep -E '^[a-z_]+ +time:|^[a-z_]+$|time:' || true
python3 scripts/bench-nas.py < "$out/samples.tsv" > "$out/pycrate.tsv"
# criterion prints "name\n  time: [low mean high]" (or on one line for short names); take the mean.
python3 - "$out/criterion.txt" "$out/pycrate.tsv" <<'PY'
import re, sys
units = {"ps": 1e-12, "ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}
ours, name = {}, None
for line in open(sys.argv[1]):
    m = re.match(r"^(\w+)\s*(time:.*)?$", line.strip())
    if m and m.group(1) != "time":
        name = m.group(1)
    t = re.search(r"time:\s*\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", line)
    if t and name:
        ours[name] = float(t.group(1)) * units[t.group(2)]
print(f"{'operation':48} {'corelab-nas':>12} {'pycrate':>12} {'ratio':>8}")
for line in open(sys.argv[2]):
    op, secs = line.split()
    mine = ours.get(op)
    if mine is None:
        sys.exit(f"no criterion number for {op}")
    print(f"{op:48} {mine*1e9:10.0f}ns {float(secs)*1e9:10.0f}ns {float(secs)/mine:7.0f}x")
PY
