"""vb-evolve: submit mutations to a running vector-boot from the command line."""
import argparse
import json
import re
import sys

from .client import Client
from .errors import ChannelError


# Decimal numbers, or float()'s nan and inf (the CTRM gate answers NON_FINITE for those): not float()'s
# "1_0" or "0x10"-like text.
_NUMBER = re.compile(r"^[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|nan|inf|infinity)$", re.IGNORECASE)


def _values(text):
    # An empty element is an error: dropping it ("1,,2" as 1,2) moved every later value one element early.
    parts = [x.strip() for x in text.split(",")]
    bad = [x for x in parts if not _NUMBER.match(x)]
    if bad:
        raise argparse.ArgumentTypeError("%r is not a decimal number (values: comma-separated, e.g. 0.5,-1.25)" % bad[0])
    return [float(x) for x in parts]


def main(argv=None):
    p = argparse.ArgumentParser(prog="vb-evolve", description="Submit weight mutations to a running vector-boot.")
    p.add_argument("--socket", default="/run/vector-boot/evolution.sock", help="session socket of the init")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the consumer")
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("mutate", help="one mutation; prints its completion as JSON")
    m.add_argument("tensor")
    m.add_argument("offset", type=int, help="first element to overwrite")
    m.add_argument("values", type=_values, help="comma-separated floats, e.g. 0.5,-1.25")
    m.add_argument("--confidence", type=float, required=True, help="must be > 0.8 to pass the CTRM gate")
    b = sub.add_parser("batch", help="JSON lines {tensor, offset, values, confidence} from a file or -; one completion per line")
    b.add_argument("file")
    sub.add_parser("info", help="print the channel geometry")
    a = p.parse_args(argv)
    try:
        with Client(a.socket, a.timeout) as c:
            if a.cmd == "info":
                print(json.dumps({"ring": c.ring, "rings": c.rings, "slots": c.slots, "max_values": c.max_values, "max_name_bytes": c.max_name}))
                return 0
            if a.cmd == "mutate":
                done = [c.mutate(a.tensor, a.offset, a.values, a.confidence)]
            else:
                src = sys.stdin if a.file == "-" else open(a.file)
                with src:
                    muts = [json.loads(line) for line in src if line.strip()]
                done = c.submit_batch([(x["tensor"], int(x["offset"]), x["values"], float(x["confidence"])) for x in muts])
            for d in done:
                print(json.dumps({"status": d.status_name, "journal_seq": d.journal_seq, "text": d.text}))
            return 0 if all(d.accepted for d in done) else 1
    except ChannelError as e:
        print("vb-evolve: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
