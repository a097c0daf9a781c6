#!/usr/bin/env python3
"""Read `tshark -T json --no-duplicate-keys` output on stdin; print one line per occurrence of the
AVP CODE (of vendor VENDOR, 0 for none) at the top level of a Diameter PDU:

    <frame> <tcp destination port> <AVP flags, hex> <value as tshark shows it>

Usage: tshark_avp.py CODE VENDOR
"""
import json
import sys


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def main():
    code, vendor = sys.argv[1], sys.argv[2]
    for frame in json.load(sys.stdin):
        layers = frame["_source"]["layers"]
        number = layers.get("frame", {}).get("frame.number", "?")
        dport = layers.get("tcp", {}).get("tcp.dstport", "?")
        for pdu in as_list(layers.get("diameter")):
            for avp in as_list(pdu.get("diameter.avp_tree")):
                if avp.get("diameter.avp.code") != code:
                    continue
                if avp.get("diameter.avp.vendorId", "0") != vendor:
                    continue
                value = next((v for k, v in avp.items()
                              if not k.startswith("diameter.avp") and isinstance(v, str)), "?")
                print(number, dport, avp.get("diameter.avp.flags", "?"), value)


if __name__ == "__main__":
    main()
