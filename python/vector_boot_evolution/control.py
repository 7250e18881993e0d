"""Client of the vector-boot control socket (docs/control-protocol.md). Standard library only.

The control tests run it as a non-root user. As a script, `python3 control.py [OPTIONS] OP [JSON-FIELDS]` or
`python3 -m vector_boot_evolution.control ...` runs its command line (control_cli.py: options, exit codes).
"""
import json
import math
import os
import socket
import sys
import time

try:
    from .unix_path import connect_unix
except ImportError:  # run as a script: its directory is on sys.path
    from unix_path import connect_unix

DEFAULT_SOCKET = "/run/vector-boot/control"


class ControlError(Exception):
    """The server answered ok=false; `code` is the protocol's error code (subclasses: no answer in time)."""

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ControlTimeout(ControlError, TimeoutError):
    """The request was sent but not answered within the client's timeout (code "timeout"): a request that
    changes something (stop, restart, mutate, reexec, ...) may still be carried out. Also a TimeoutError."""


class ControlProtocolError(ControlError):
    """The answer was not the control protocol (code "protocol_error"): not a JSON object, or another
    socket's greeting (the evolution socket's hello). The message names the socket."""


# Operations that change nothing: asking them again is harmless.
_READ_ONLY = ("ping", "status", "services", "logs", "stats", "pixels")


def reserved_fields(fields):
    """The names in `fields` a request keeps for itself ("id", "op"): a caller's "id" replaced the client's
    (its answer was skipped as someone else's and the call timed out), "op" was a TypeError."""
    return [k for k in ("id", "op") if k in fields]


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
        """The next answer line, decoded."""
        while b"\n" not in self._buf:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"{self.path}: connection closed by the server")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        # A line that was not JSON raised json's JSONDecodeError, naming no socket (the CLI: a traceback, exit 1).
        try:
            r = json.loads(line)
        except ValueError:
            r = None
        if not isinstance(r, dict):
            raise ControlProtocolError("protocol_error", "%s: the answer is not a JSON object (is it a control socket?): %r" % (self.path, line[:200]))
        if "ok" not in r and "v" in r:
            raise ControlProtocolError("protocol_error", "%s is not a control socket (it greeted with %s): is it the evolution socket?" % (self.path, line[:120].decode(errors="replace")))
        return r

    def request(self, op, /, **fields):
        """Sends {"op": op, ...fields}; returns `result` or raises ControlError (ControlTimeout: no answer in time).

        `fields` may not hold "id" or "op", the request's own (ValueError): a caller's "id" replaced the
        client's, its answer was skipped as someone else's and the call timed out; "op" (or "self")
        was a TypeError about the arguments.
        """
        reserved = reserved_fields(fields)
        if reserved:
            raise ValueError("%s: %s is the request's own, not a field (the op is the first argument, the id the client's)" % (self.path, " and ".join(repr(k) for k in reserved)))
        try:
            return self._request(op, fields)
        except socket.timeout:
            # It was a bare TimeoutError('timed out'), naming neither the socket nor the request.
            may = "" if op in _READ_ONLY else "; it was sent, so the instance may still carry it out (check before retrying)"
            raise ControlTimeout("timeout", '%s: "%s" not answered within %g s%s' % (self.path, op, self._sock.gettimeout() or 0, may)) from None

    def _request(self, op, fields):
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
            if not isinstance(err, dict):
                raise ControlProtocolError("protocol_error", "%s: the answer's error is not an object: %r" % (self.path, err))
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
        for name, v in (("confidence", confidence), ("offset", offset)):
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError("%s is %r: it must be finite (JSON has no NaN or Infinity)" % (name, v))
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


if __name__ == "__main__":  # the command line: control_cli.py
    try:
        from .control_cli import main
    except ImportError:  # run as a script
        from control_cli import main
    sys.exit(main(sys.argv[1:]))
