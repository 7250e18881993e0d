"""The command line of the control client: `python3 -m vector_boot_evolution.control [OPTIONS] OP [JSON-FIELDS]`.

As a script (`python3 control.py ...`) too. It prints the result as JSON (exit 0), or an error as JSON
{"code", "message"} on stderr: the server's refusal (exit 1); the socket unreachable, the connection lost
("os_error") or no answer within --timeout ("timeout": it may still be carried out), exit 2; a stop or restart
whose service is still stopping when --timeout runs out ("not_now", exit 75: the stop goes on, as
`vector-boot stop --timeout MS`; a stop found done by then prints the service's entry, exit 0); the server's
"busy" or "timeout" (not now: too many connections, a service still stopping, a shutdown under way; or the
server closed an idle or unfinished connection), exit 75 as `vector-boot`'s (it was 1, "refused"); an answer
that is not the control protocol ("protocol_error", exit 76, sysexits' EX_PROTOCOL: not JSON, or another
socket's greeting); bad arguments ("usage", an unknown option or a word after JSON-FIELDS among them, or a
usage line with no OP: exit 64). `-h`/`--help` prints the usage, `--version` the package's version (version.py, as vb-evolve's):
exit 0, connecting to nothing.
"""
import json
import math
import sys

try:
    from .control import DEFAULT_SOCKET, ControlClient, ControlError, ControlProtocolError, ControlTimeout, reserved_fields
    from .version import __version__
except ImportError:  # run as a script: its directory is on sys.path
    from control import DEFAULT_SOCKET, ControlClient, ControlError, ControlProtocolError, ControlTimeout, reserved_fields
    from version import __version__

# As `vector-boot stop|restart|reexec --timeout MS` (30000): a stop waits out the service's grace period.
DEFAULT_TIMEOUT = 30.0

# The server's error codes that mean "not now, try again": exit 75, as `vector-boot`'s (docs/control-protocol.md).
TRY_AGAIN = ("busy", "timeout")

USAGE = """usage: python3 -m vector_boot_evolution.control [--socket PATH] [--timeout S] OP [JSON-FIELDS]

Sends one request to the vector-boot control socket (docs/control-protocol.md) and prints its result as JSON.
  --socket PATH  the control socket, also --socket=PATH (default: $VECTOR_BOOT_CONTROL, else %s)
  --timeout S    seconds to wait for the answer, also --timeout=S (default %g, as `vector-boot stop`; a stop
                 or restart waits out the service's grace period, a reexec the new image's start)
  --version      prints the version of the package (vector_boot_evolution) and exits
  OP             ping, status, services, stats, logs, pixels, start, stop, restart, mutate, checkpoint,
                 poweroff, reboot, reexec
  JSON-FIELDS    the request's other fields, one JSON object: e.g. restart '{"name": "web"}'
Exit status: 0 the result (stdout), 1 the server refused, 2 the socket unreachable, the connection lost or
no answer within --timeout ("timeout": the request was sent and may still be carried out), 64 bad arguments,
75 not now, try again (as `vector-boot`'s 75): a stop or restart whose service was still stopping when
--timeout ran out ("not_now": the stop goes on; ask again later), or the server's "busy" (too many
connections, a service still stopping, a shutdown under way) or "timeout" (the server closed an idle or
unfinished connection: ask again on a new one), 76 the answer was not the control protocol ("protocol_error":
not a JSON object, or another socket's greeting such as the evolution socket's); errors are JSON
{"code", "message"} on stderr.""" % (DEFAULT_SOCKET, DEFAULT_TIMEOUT)


def _usage_error(message):
    print(json.dumps({"code": "usage", "message": message + " (see --help)"}), file=sys.stderr)
    return 64


def _fail(code, message, status):
    print(json.dumps({"code": code, "message": message}), file=sys.stderr)
    return status


def _options(argv):
    """(socket path or None, timeout in s, the words after the options), or the usage error's message."""
    path, timeout = None, DEFAULT_TIMEOUT
    while argv and argv[0].startswith("--") and argv[0].split("=", 1)[0] in ("--socket", "--timeout"):
        name, eq, value = argv[0].partition("=")
        if not eq:
            if len(argv) < 2:
                return "%s needs a %s" % (name, "PATH" if name == "--socket" else "number of seconds")
            value, argv = argv[1], argv[2:]
        else:
            argv = argv[1:]
        if name == "--socket":
            if value == "":  # not silently $VECTOR_BOOT_CONTROL or the default socket
                return "--socket needs a PATH"
            path = value
        else:
            try:
                timeout = float(value)
            except ValueError:
                timeout = -1.0
            if not (math.isfinite(timeout) and timeout > 0):
                return "--timeout must be a positive number of seconds, got %r" % value
    return path, timeout, argv


def _entry_after(path, op, fields, timeout):
    """After a stop or restart was not answered in time: the service's entry on a new connection, or None."""
    if op not in ("stop", "restart") or not isinstance(fields.get("name"), str):
        return None
    try:
        with ControlClient(path, timeout=min(timeout, 5.0)) as c:
            entries = c.services()
    except (ControlError, OSError):
        return None
    for e in entries if isinstance(entries, list) else []:
        if isinstance(e, dict) and e.get("name") == fields["name"]:
            return e
    return None


def main(argv):
    # "--help" went to the server as an operation (after connecting: "os_error" when no init ran);
    # "--version" was an unknown option. The first of them wins, as argparse's actions.
    for word in argv:
        if word in ("-h", "--help"):
            print(USAGE)
            return 0
        if word == "--version":
            print("vector_boot_evolution.control %s" % __version__)
            return 0
    parsed = _options(argv)
    if isinstance(parsed, str):
        return _usage_error(parsed)
    path, timeout, argv = parsed
    if argv and argv[0].startswith("-"):
        return _usage_error("unknown option %r" % argv[0])
    if not argv:
        print("usage: control.py [--socket PATH] [--timeout S] OP [JSON-FIELDS]", file=sys.stderr)
        return 64
    # A word after JSON-FIELDS was dropped: `restart '{"name": "web"}' now` restarted web, exit 0.
    if len(argv) > 2:
        return _usage_error("unexpected argument %r after JSON-FIELDS (one JSON object holds every field)" % argv[2])
    try:
        fields = json.loads(argv[1]) if len(argv) > 1 else {}
    except ValueError as e:
        fields = e
    if not isinstance(fields, dict):
        # Not a traceback: the same JSON error line as every other failure.
        problem = "not JSON (%s)" % fields if isinstance(fields, ValueError) else "must be a JSON object"
        return _fail("usage", "JSON-FIELDS %s" % problem, 64)
    reserved = reserved_fields(fields)
    if reserved:
        # Checked before connecting, as every usage error: a caller's "id" had been a timeout (exit 2),
        # "op" a Python traceback (exit 1).
        return _usage_error("JSON-FIELDS may not hold %s: the op is OP and the id the client's" % " or ".join('"%s"' % k for k in reserved))
    op = argv[0]
    try:
        with ControlClient(path, timeout=timeout) as c:
            print(json.dumps(c.request(op, **fields)))
        return 0
    except ControlTimeout as e:
        # As `vector-boot stop --timeout MS`: a service still stopping is a stop under way (75), not a failure.
        entry = _entry_after(path, op, fields, timeout) or {}
        if entry.get("state") == "stopping":
            return _fail("not_now", "%s: still stopping after %g s (its stop signal was sent; the grace period, then SIGKILL, ends it): "
                         "the %s goes on; wait with a longer --timeout, or ask again later" % (fields["name"], timeout, op), 75)
        if op == "stop" and entry.get("state") in ("stopped", "exited", "failed", "done"):
            print(json.dumps(entry))  # done since: the stop's answer had not come in time
            return 0
        return _fail(e.code, e.message, 2)
    except ControlProtocolError as e:
        return _fail(e.code, e.message, 76)
    except ControlError as e:
        # The server's timeout (an idle or unfinished connection closed) exited 1, "refused", where vector-boot exits 75.
        return _fail(e.code, e.message, 75 if e.code in TRY_AGAIN else 1)
    except OSError as e:
        return _fail("os_error", str(e), 2)
