#!/usr/bin/env python3
"""Independent decoder check for corelab-nas (crates/nas/tests/pycrate.rs runs it).

Reads lines `name<TAB>flags<TAB>hex` on stdin: one NAS PDU that corelab-nas encoded each;
`flags` (comma-separated) has `mbs` when it carries an MBS container and `qfi-lists` when it
carries the lab's extension IE. pycrate's parse_NAS5G must decode each with err == 0,
msg.to_bytes() must give the same octets (pycrate returns 0 for trailing garbage and unknown
IEs too), and pycrate must log no WARNING. The inside of the MBS containers is excepted from
the WARNING rule: pycrate 0.8 lays it out differently from TS 24.501 §9.11.4.30/31 (MBS
session ID type 0 = TMGI, TMGI without its length octet; specs/mbs-mobility.md), so it is
checked on its outer TLV-E IE (recognised by its IEI, not kept as an unknown `_T_` element)
and on the re-encoded octets only. The 5GSM payload of a UL/DL NAS TRANSPORT, which pycrate
leaves as octets, is checked as a PDU of its own. Prints one line per PDU; exits 1 when any fails.
"""
import logging
import sys

records = []


class Collect(logging.Handler):
    def emit(self, record):
        records.append(record)


logging.getLogger("pycrate").addHandler(Collect(level=logging.WARNING))

from pycrate_mobile.NAS5G import parse_NAS5G  # noqa: E402

MBS_IES = {"RequestedMBSContainer", "ReceivedMBSContainer"}


def check(pdu, flags):
    """What is wrong with pycrate's reading of `pdu`: a list of problems, empty when none."""
    records.clear()
    msg, err = parse_NAS5G(pdu)
    if err != 0 or msg is None:
        return [f"parse_NAS5G error {err}"]
    problems = []
    # pycrate keeps an IE it does not know as a transparent `_T_<IEI>` element, which
    # to_bytes() leaves out. The lab's per-session QFI lists IE (0x7C) is unknown to any
    # standard decoder: it must be the one such element, and put back it gives our octets.
    hidden = [ie._name for ie in msg._content if ie._name.startswith("_T_")]
    if "qfi-lists" in flags:
        if hidden != ["_T_7C"]:
            problems.append(f"the QFI lists IE is not the one unknown IE: {hidden}")
        else:
            msg["_T_7C"].set_trans(False)
    elif hidden:
        problems.append(f"unknown IEs kept as {hidden}")
    again = msg.to_bytes()
    if again != pdu:
        problems.append(f"to_bytes() differs: {again.hex()}")
    warnings = [r.getMessage() for r in records if r.levelno >= logging.WARNING]
    present = {ie._name for ie in msg._content if not ie.get_trans()}
    # The 5GSM payload (N1 SM information) of a NAS transport, which pycrate decodes in place
    # or leaves as octets, is checked as a PDU of its own.
    if "PayloadContainer" in present and msg["PayloadContainerType"].get_val() in ([1], 1):
        inner = msg["PayloadContainer"][1].to_bytes()
        problems += [f"in its payload: {p}" for p in check(inner, flags)]
    elif "mbs" in flags and not present & MBS_IES:
        problems.append(f"no MBS container recognised among {sorted(present)}")
    if "mbs" in flags:
        # Only the MBS containers' insides may warn.
        warnings = [w for w in warnings if not any(ie in w for ie in MBS_IES)]
    if warnings:
        problems.append(f"WARNING: {warnings}")
    return problems


failed = 0
for line in sys.stdin:
    line = line.rstrip("\n")
    if not line:
        continue
    name, flags, hexa = line.split("\t")
    try:
        problems = check(bytes.fromhex(hexa), flags.split(","))
    except Exception as error:  # a decoder that raises disagrees too
        problems = [f"pycrate raised {error!r}"]
    if problems:
        failed += 1
        print(f"FAIL {name}: {'; '.join(problems)}")
    else:
        print(f"ok   {name}")
sys.exit(1 if failed else 0)
