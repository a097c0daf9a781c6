#!/usr/bin/env python3
"""Read `tshark -T json --no-duplicate-keys` output on stdin; print one line per Diameter PDU:

    <frame> <command code> <R|A> <application id> <Result-Code or Experimental-Result-Code or ->

Several PDUs in one TCP segment come out as several lines (tshark's field mode mixes their values up).
"""
import json
import sys


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def result_code(pdu):
    for avp in as_list(pdu.get("diameter.avp_tree")):
        if "diameter.Result-Code" in avp:
            return avp["diameter.Result-Code"]
        if "diameter.Experimental-Result" in avp or avp.get("diameter.avp.code") == "297":
            for inner in as_list(avp.get("diameter.avp_tree")):
                if "diameter.Experimental-Result-Code" in inner:
                    return inner["diameter.Experimental-Result-Code"]
    return "-"


def main():
    frames = json.load(sys.stdin)
    for frame in frames:
        layers = frame["_source"]["layers"]
        number = layers.get("frame", {}).get("frame.number", "?")
        for pdu in as_list(layers.get("diameter")):
            flags = int(pdu.get("diameter.flags", "0"), 16)
            kind = "R" if flags & 0x80 else "A"
            print(number, pdu.get("diameter.cmd.code", "?"), kind, pdu.get("diameter.applicationId", "?"),
                  result_code(pdu))


if __name__ == "__main__":
    main()
