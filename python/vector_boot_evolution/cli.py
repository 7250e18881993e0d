"""vb-evolve: submit mutations to a running vector-boot from the command line."""
import argparse
import json
import math
import re
import sys

from .client import Client
from .values import _checked
from .errors import ChannelError
from .layout import MAX_NAME_BYTES, MAX_VALUES
from .version import __version__


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


def _seconds(text):
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not 0 < v < math.inf:
        raise argparse.ArgumentTypeError("%r is not a positive number of seconds" % text)
    return v


def _offset(text):
    if not re.match(r"^\d+$", text):
        raise argparse.ArgumentTypeError("%r is not a whole number >= 0" % text)
    return int(text)


_EXIT_STATUS = """exit status: 0 every mutation accepted; 75 none refused, but some not taken now (NOT_TAKEN:
nothing journaled, nothing changed; send them again later, as vector-boot's 75 "try again"); 1 any
other answer (a refusal, JOURNAL_FAILED: the outcome unknown, APPLY_FAILED); 2 the channel or the
input failed (the message on stderr)."""

# As `vector-boot mutate`'s 75 (README "Exit codes"): not now, try again later.
EXIT_NOT_TAKEN = 75


def _exit_status(done):
    """0 when every completion is ACCEPTED, 75 when the others are all NOT_TAKEN, else 1."""
    if all(d.accepted for d in done):
        return 0
    return EXIT_NOT_TAKEN if all(d.accepted or d.not_taken for d in done) else 1


_BATCH_KEYS = {"tensor", "offset", "values", "confidence"}


def _batch_line(n, line):
    """One JSON line of a batch as (tensor, offset, values, confidence), or a ValueError naming the line."""
    try:
        x = json.loads(line)
    except ValueError as e:
        raise ValueError("line %d: not JSON (%s)" % (n, e))
    if not isinstance(x, dict):
        raise ValueError("line %d: expected an object {tensor, offset, values, confidence}" % n)
    missing, unknown = sorted(_BATCH_KEYS - x.keys()), sorted(x.keys() - _BATCH_KEYS)
    if missing or unknown:
        raise ValueError("line %d: %s" % (n, "; ".join(([("missing " + ", ".join(missing))] if missing else []) + ([("unknown " + ", ".join(unknown))] if unknown else []))))
    if not isinstance(x["tensor"], str):
        raise ValueError("line %d: tensor must be a string" % n)
    if not isinstance(x["values"], list):
        raise ValueError("line %d: values must be a list of numbers" % n)
    # The slot's limits, here too, with the line's number (the client's own error names no line).
    try:
        name = x["tensor"].encode("utf-8")
    except UnicodeEncodeError:  # "\udcff": a lone surrogate, which UTF-8 cannot hold
        raise ValueError("line %d: tensor name %r is not valid UTF-8 (a lone surrogate)" % (n, x["tensor"])) from None
    if not 0 < len(name) <= MAX_NAME_BYTES:
        raise ValueError("line %d: tensor name must be 1..%d UTF-8 bytes" % (n, MAX_NAME_BYTES))
    if not 0 < len(x["values"]) <= MAX_VALUES:
        raise ValueError("line %d: 1..%d values per mutation (split larger ones)" % (n, MAX_VALUES))
    try:
        offset, confidence, values = _checked(x["offset"], x["confidence"], x["values"])
    except ValueError as e:
        raise ValueError("line %d: %s" % (n, e))
    return x["tensor"], offset, values, confidence


def main(argv=None):
    p = argparse.ArgumentParser(prog="vb-evolve", description="Submit weight mutations to a running vector-boot.", epilog=_EXIT_STATUS)
    p.add_argument("--socket", default="/run/vector-boot/evolution.sock", help="session socket of the init")
    p.add_argument("--timeout", type=_seconds, default=10.0, help="seconds to wait for the consumer")
    p.add_argument("--version", action="version", version="%(prog)s " + __version__)
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("mutate", help="one mutation; prints its completion as JSON")
    m.add_argument("tensor")
    m.add_argument("offset", type=_offset, help="first element to overwrite")
    m.add_argument("values", type=_values, help="comma-separated floats, e.g. 0.5,-1.25 (a list that starts with '-' goes last, after '--': mutate T 0 --confidence 0.9 -- -0.5,1)")
    m.add_argument("--confidence", type=float, required=True, help="must be > 0.8 to pass the CTRM gate")
    b = sub.add_parser("batch", help="JSON lines {tensor, offset, values, confidence} from a file or -; one completion per line")
    b.add_argument("file")
    sub.add_parser("info", help="print the channel geometry")
    a = p.parse_args(argv)
    try:
        muts = None
        if a.cmd == "batch":
            # Read and checked whole before the session opens: a bad line submits nothing.
            src = sys.stdin if a.file == "-" else open(a.file)
            with src:
                muts = [_batch_line(n, line) for n, line in enumerate(src, 1) if line.strip()]
        with Client(a.socket, a.timeout) as c:
            if a.cmd == "info":
                print(json.dumps({"ring": c.ring, "rings": c.rings, "slots": c.slots, "max_values": c.max_values, "max_name_bytes": c.max_name}))
                return 0
            if a.cmd == "mutate":
                done = [c.mutate(a.tensor, a.offset, a.values, a.confidence)]
            else:
                done = c.submit_batch(muts)
            for d in done:
                print(json.dumps({"status": d.status_name, "journal_seq": d.journal_seq, "text": d.text}))
            return _exit_status(done)
    except ChannelError as e:
        print("vb-evolve: %s" % e, file=sys.stderr)
        return 2
    except (ValueError, OSError) as e:
        # A mutation the slot cannot hold (name or value count, a field of the wrong type), an
        # unreadable batch file: one line, not a traceback.
        print("vb-evolve %s: %s" % (a.cmd, e), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
