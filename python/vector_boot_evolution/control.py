"""Client of the vector-boot control socket (docs/control-protocol.md). Standard library only.

The control tests run it as a non-root user. As a script, `python3 control.py [--socket PATH] OP [JSON-FIELDS]`
or `python3 -m vector_boot_evolution.control ...` (`--socket=PATH` too), it prints the result as JSON (exit 0),
or an error as JSON {"code", "message"} on stderr: the server's refusal (exit 1), the socket unreachable or
the connection lost ("os_error", exit 2), or bad arguments ("usage", an unknown option or a word after
JSON-FIELDS among them, or a usage line with no OP: exit 64). `-h`/`--help` prints the usage, `--version`
the package's version (version.py, as vb-evolve's): exit 0, connecting to nothing.
"""
import json
import math
import os
import socket
import sys
import time

try:
    from .unix_path import connect_unix
    from .version import __version__
except ImportError:  # run as a script: its directory is on sys.path
    from unix_path import connect_unix
    from version import __version__

DEFAULT_SOCKET = "/run/vector-boot/control"


class ControlError(Exception):
    """The server answered ok=false; `code` is the protocol's error code."""

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ControlClient:
    """One connection to the control socket; requests are answered in order."""

    def __init__(self, path=None, timeout=30.0):
        self.path = path or os.environ.get("VECTOR_BOOT_CONTROL") or DEFAULT_SOCKET
        self._sock = self._connect(timeout)
        self._buf = b""
        self._next_id = 1

    def _connect(self, timeout):
        # With a timeout the socket is nonblocking inside, and a listener whose backlog is full (a flood
        # of connections) failed connect at once with EAGAIN: BlockingIOError "[Errno 11] Resource
        # temporarily unavailable", naming nothing, long before `timeout`. It is tried again until then,
        # and is the server's own "busy" (try again) after it.
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.01
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                connect_unix(sock, self.path)
                return sock
            except BlockingIOError:
                sock.close()
                if deadline is None or time.monotonic() + pause >= deadline:
                    raise ControlError("busy", "%s: the instance is not taking connections (its queue stayed full for %g s: "
                                       "a flood of connections?); try again" % (self.path, timeout or 0))
            except OSError as e:
                sock.close()
                # connect(2)'s error names no path: a wrong path or a stopped instance was "[Errno 2] No
                # such file or directory" or "[Errno 111] Connection refused", saying nothing of which socket.
                if e.filename is None and os.fsdecode(self.path) not in (e.strerror or ""):
                    e.filename = self.path
                raise
            except BaseException:
                sock.close()
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.2)

    def close(self):
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _line(self):
        while b"\n" not in self._buf:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"{self.path}: connection closed by the server")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def request(self, op, **fields):
        """Sends {"op": op, ...fields}; returns `result` or raises ControlError."""
        rid = self._next_id
        self._next_id += 1
        try:
            self._sock.sendall((json.dumps({"id": rid, "op": op, **fields}) + "\n").encode())
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may have refused us already: its error line is still readable
        while True:
            r = self._line()
            if r.get("id") not in (rid, None):
                continue
            if r.get("ok"):
                return r.get("result")
            err = r.get("error") or {}
            raise ControlError(err.get("code", "unknown"), err.get("message", ""))

    def ping(self):
        return self.request("ping")

    def status(self):
        return self.request("status")

    def services(self):
        return self.request("services")

    def logs(self, name, after=None, limit=None):
        """A service's recent output: {"lines": [{"seq", "t", "line"}], "next": seq} (lines after `after`)."""
        args = {"name": name}
        if after is not None:
            args["after"] = after
        if limit is not None:
            args["limit"] = limit
        return self.request("logs", **args)

    def start(self, name):
        return self.request("start", name=name)

    def stop(self, name):
        return self.request("stop", name=name)

    def restart(self, name):
        return self.request("restart", name=name)

    def stats(self):
        return self.request("stats")

    def pixels(self, pixels):
        return self.request("pixels", pixels=[list(p) for p in pixels])

    def mutate(self, tensor, offset, values, confidence):
        # Text or bytes would go as one value per character or byte (packed floats as their bytes).
        if isinstance(values, str):
            raise ValueError("values must be a sequence of numbers, got str")
        if isinstance(values, (bytes, bytearray)) or (isinstance(values, memoryview) and values.format in ("B", "b", "c")):
            raise ValueError("values must be a sequence of numbers, got %s (unpack packed floats first, e.g. with array('f', data))" % type(values).__name__)
        values = list(values)
        # JSON has no NaN or Infinity: json.dumps wrote them as bare words and the init answered that the line was not JSON.
        for i, v in enumerate(values):
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError("values[%d] is %r: a mutation's values must be finite (JSON has no NaN or Infinity)" % (i, v))
        return self.request("mutate", tensor=tensor, offset=offset, values=values, confidence=confidence)

    def checkpoint(self):
        return self.request("checkpoint")

    def poweroff(self):
        return self.request("poweroff")

    def reboot(self):
        return self.request("reboot")

    def reexec(self, path=None):
        """Re-executes the init: the running image when `path` is None, else the absolute `path`."""
        if path is not None and not (isinstance(path, str) and path.startswith("/")):
            raise ValueError("PATH must be absolute, got %r" % (path,))
        return self.request("reexec", **({} if path is None else {"path": path}))


USAGE = """usage: python3 -m vector_boot_evolution.control [--socket PATH] OP [JSON-FIELDS]

Sends one request to the vector-boot control socket (docs/control-protocol.md) and prints its result as JSON.
  --socket PATH  the control socket, also --socket=PATH (default: $VECTOR_BOOT_CONTROL, else %s)
  --version      prints the version of the package (vector_boot_evolution) and exits
  OP             ping, status, services, stats, logs, pixels, start, stop, restart, mutate, checkpoint,
                 poweroff, reboot, reexec
  JSON-FIELDS    the request's other fields, one JSON object: e.g. restart '{"name": "web"}'
Exit status: 0 the result (stdout), 1 the server refused, 2 the socket unreachable or the connection lost,
64 bad arguments; errors are JSON {"code", "message"} on stderr.""" % DEFAULT_SOCKET


def _usage_error(message):
    print(json.dumps({"code": "usage", "message": message + " (see --help)"}), file=sys.stderr)
    return 64


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
    path = None
    if argv[:1] == ["--socket"]:
        if len(argv) < 2:
            return _usage_error("--socket needs a PATH")
        path, argv = argv[1], argv[2:]
    elif argv[:1] and argv[0].startswith("--socket="):  # GNU/argparse's form: "unknown option" before
        path, argv = argv[0][len("--socket="):], argv[1:]
    if path == "":  # not silently $VECTOR_BOOT_CONTROL or the default socket
        return _usage_error("--socket needs a PATH")
    if argv and argv[0].startswith("-"):
        return _usage_error("unknown option %r" % argv[0])
    if not argv:
        print("usage: control.py [--socket PATH] OP [JSON-FIELDS]", file=sys.stderr)
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
        print(json.dumps({"code": "usage", "message": "JSON-FIELDS %s" % problem}), file=sys.stderr)
        return 64
    try:
        with ControlClient(path, timeout=10.0) as c:
            print(json.dumps(c.request(argv[0], **fields)))
        return 0
    except ControlError as e:
        print(json.dumps({"code": e.code, "message": e.message}), file=sys.stderr)
        return 1
    except OSError as e:
        print(json.dumps({"code": "os_error", "message": str(e)}), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
