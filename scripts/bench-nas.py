#!/usr/bin/env python3
"""pycrate half of the NAS-5GS codec benchmark (scripts/bench-nas.sh runs it).

Reads `name<TAB>hex` lines (the octets crates/nas/benches/codec.rs measured, written through
NAS_BENCH_SAMPLES) and times, for each, pycrate's parse_NAS5G (decode) and to_bytes() of the
decoded message (encode), with timeit: the best of 5 repeats, each long enough to last ~0.5 s.
Prints one `name_decode|encode<TAB>seconds per call` line each.
"""
import logging
import sys
import timeit


from pycrate_mobile.NAS5G import parse_NAS5G  # noqa: E402

# pycrate logs (as WARNING) its own reading of the MBS container insides (specs/mbs-mobility.md);
# silence all logging so the timing measures decoding, not printing.
logging.disable(logging.CRITICAL)


def per_call(fn):
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    number = max(number, 1) * 2
    return min(timer.repeat(repeat=5, number=number)) / number


for line in sys.stdin:
    name, hexpdu = line.split()
    pdu = bytes.fromhex(hexpdu)
    msg, err = parse_NAS5G(pdu)
    # pycrate keeps the lab's QFI lists IE (0x7C) as a transparent `_T_7C` element that
    # to_bytes() leaves out; make it count, as crates/nas/tests/pycrate_check.py does.
    for ie in msg._content if err == 0 else []:
        if ie._name.startswith("_T_"):
            ie.set_trans(False)
    if err != 0 or msg.to_bytes() != pdu:
        sys.exit(f"{name}: pycrate does not read it back (err {err})")
    print(f"{name}_decode\t{per_call(lambda: parse_NAS5G(pdu)):.9f}")
    print(f"{name}_encode\t{per_call(msg.to_bytes):.9f}")
