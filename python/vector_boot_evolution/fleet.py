"""Publishes fleet-wide mutations to etcd (see docs/fleet.md) through etcd's v3 HTTP/JSON gateway. Standard library only.

A mutation is written once under /vector-boot/FLEET/mutations/ID by a create-only transaction: repeating
the write after a failure (no quorum, a leader change, a timeout whose outcome is unknown) can never
make a second one, so publish() retries the same ID until the deadline; etcd's refusal (HTTP 4xx other
than 429: permission denied, a request too large) is final, a FleetRefusedError at once. Every node then runs it
through its own CTRM gate and journal and acks it under /vector-boot/FLEET/acks/ID/NODE.
"""
import base64
import http.client
import json
import os
import ssl
import time
import urllib.error
import urllib.request
import uuid

from .fleet_checks import checked_mutation

class FleetError(Exception):
    """etcd refused, did not answer in time, or answered something unusable; the message names the call and the endpoint."""


class FleetRefusedError(FleetError):
    """etcd refused the request for good: HTTP 4xx other than 429 with etcd's own error (permission denied, a
    request too large, credentials refused). Sending it again cannot succeed: raised at once, never retried by
    publish or wait_acked (as the TypeScript client's FleetRefusedError, exit 71). `status` is the HTTP status,
    `etcd_message` etcd's error text; the message names the call, the endpoint and both."""

    def __init__(self, message, status, etcd_message):
        super().__init__(message)
        self.status = status
        self.etcd_message = etcd_message


def _etcd_error(text):
    """etcd's error text from an error answer ({"error", "message", "code"}), or None when the body is not one."""
    try:
        body = json.loads(text)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    said = body.get("error") or body.get("message")
    return said if isinstance(said, str) else None


class FleetLocalError(FleetError):
    """A problem on this side, no endpoint's fault (the password file cannot be read): raised at once, never retried
    by publish or wait_acked, and the next call stays on the same endpoint. The message names the file."""


def _b64(s):
    return base64.b64encode(s.encode("utf-8")).decode("ascii")


def _unb64(s):
    return base64.b64decode(s).decode("utf-8") if s else ""


def _prefix_end(prefix):
    b = bytearray(prefix.encode("utf-8"))
    for i in range(len(b) - 1, -1, -1):
        if b[i] < 0xFF:
            b[i] += 1
            return base64.b64encode(bytes(b[: i + 1])).decode("ascii")
    return base64.b64encode(b"\0").decode("ascii")


class FleetClient:
    """A small etcd gateway client: a deadline on every call, failover between endpoints.

    endpoints: list of client URLs, or one string of them (comma-separated, as VB_ETCD_ENDPOINTS).
    tls: dict with optional "ca", "cert", "key" file paths.
    user/password_file: etcd authentication (the password is read from the file, never an argument, at each
    authentication; a file that cannot be read is a FleetLocalError naming it, raised at once).
    """

    def __init__(self, endpoints, fleet="default", tls=None, user=None, password_file=None, call_timeout=3.0):
        # One string was iterated as one endpoint per character ("h", "t", "t", "p", ...): every call then
        # failed with "unknown url type", naming none of the URL.
        if isinstance(endpoints, str):
            endpoints = [e for e in endpoints.split(",") if e.strip()]
        elif endpoints is not None and (isinstance(endpoints, (bytes, bytearray, memoryview)) or not hasattr(endpoints, "__iter__")):
            raise TypeError("endpoints must be a list of URLs or one string, got %s" % type(endpoints).__name__)
        endpoints = list(endpoints or ())
        for i, e in enumerate(endpoints):
            if not isinstance(e, str):
                raise TypeError("endpoints[%d] must be a URL string, got %r" % (i, e))
        if not endpoints:
            raise FleetError("no etcd endpoints given")
        self.endpoints = [e.strip().rstrip("/") for e in endpoints]
        self.fleet = fleet
        self.call_timeout = call_timeout
        self._current = 0
        self._answered_by = self.endpoints[0]  # the endpoint of the last call answered, for the errors about its answer
        self._token = None
        self._user, self._password_file = user, password_file
        self._ctx = None
        if tls:
            self._ctx = ssl.create_default_context(cafile=tls.get("ca"))
            if tls.get("cert"):
                self._ctx.load_cert_chain(tls["cert"], tls.get("key"))

    def _post(self, endpoint, path, body, timeout):
        headers = {"content-type": "application/json"}
        if self._token:
            headers["authorization"] = self._token
        req = urllib.request.Request(endpoint + path, data=json.dumps(body).encode(), headers=headers, method="POST")
        with urllib.request.urlopen(req, timeout=timeout, context=self._ctx) as r:
            answer = json.loads(r.read() or b"{}")
        if not isinstance(answer, dict):  # a list or a number had no .get: AttributeError past call()
            raise ValueError("the answer is not a JSON object: %s" % json.dumps(answer)[:200])
        return answer

    def _password(self):
        """The password file's text, read at each authentication (a rotated password is picked up); a FleetLocalError naming it."""
        try:
            with open(self._password_file, "r", encoding="utf-8") as f:
                return f.read().rstrip("\r\n")
        except (OSError, ValueError, TypeError) as e:
            # It was an OSError caught as the endpoint's failure: "etcd /v3/kv/txn at URL: [Errno 2] ...", the next
            # endpoint tried, and publish retrying every endpoint until its deadline.
            why = e.strerror if isinstance(e, OSError) and e.strerror else "%s: %s" % (type(e).__name__, e)
            raise FleetLocalError("cannot read the etcd password file %r of user %r: %s" % (self._password_file, self._user, why)) from None

    def _authenticate(self, endpoint, timeout):
        password = self._password()
        self._token = None
        answer = self._post(endpoint, "/v3/auth/authenticate", {"name": self._user, "password": password}, timeout)
        # An answer without a token raised KeyError('token'), naming neither the endpoint nor the call.
        token = answer.get("token")
        if not isinstance(token, str) or not token:
            raise FleetError("etcd /v3/auth/authenticate at %s: the answer holds no token (is authentication enabled on the cluster?): %s" % (endpoint, json.dumps(answer)[:300]))
        self._token = token

    def call(self, path, body, timeout=None):
        """One call on the current endpoint; on a connection failure the next call goes to the next one.

        etcd's refusal (HTTP 4xx other than 429, with etcd's error) is a FleetRefusedError, final; an expired
        token (401) is renewed once first. A 4xx that is not etcd's error (another server at that address) and
        a 5xx move the next call to the next endpoint.
        """
        endpoint = self.endpoints[self._current % len(self.endpoints)]
        timeout = timeout or self.call_timeout
        reauthenticated = False
        while True:
            try:
                return self._call_once(endpoint, path, body, timeout)
            except urllib.error.HTTPError as e:
                text = e.read().decode("utf-8", "replace")
                if e.code == 401 and self._user and self._token is not None and not reauthenticated:
                    # An expired token: the request was refused, so it may be sent again with a new one (once).
                    self._token = None
                    reauthenticated = True
                    continue
                raise self._http_error(path, endpoint, e, text) from e
            except http.client.HTTPException as e:
                # An endpoint that is not HTTP (BadStatusLine) or cut its answer short (IncompleteRead):
                # raised past publish's retry, naming no endpoint, and never failed over.
                self._current += 1
                name, text = type(e).__name__, str(e)  # IncompleteRead's text names itself, BadStatusLine's is the line
                raise FleetError("etcd %s at %s: no usable HTTP answer (%s)" % (path, endpoint, text if text.startswith(name) else "%s %r" % (name, text))) from e
            except (OSError, ValueError) as e:
                self._current += 1
                raise FleetError("etcd %s at %s: %s" % (path, endpoint, e)) from e

    def _call_once(self, endpoint, path, body, timeout):
        if self._user and self._token is None:
            self._authenticate(endpoint, timeout)
        answer = self._post(endpoint, path, body, timeout)
        self._answered_by = endpoint
        return answer

    def _http_error(self, path, endpoint, e, text):
        """The FleetError for an HTTP error answer (the endpoint moved on where another member may do better)."""
        if e.code == 401:
            self._token = None
        said = _etcd_error(text)
        if 400 <= e.code < 500 and said is None:
            # Not etcd's answer (a member's peer port, a proxy's page): the request never reached etcd.
            self._current += 1
            return FleetError("etcd %s at %s: HTTP %d: %s (not an etcd answer)" % (path, endpoint, e.code, text[:300]))
        message = "etcd %s at %s: HTTP %d: %s" % (path, endpoint, e.code, (said or text)[:300])
        if 400 <= e.code < 500 and e.code != 429:
            # Retried, it stayed refused until publish's wait ran out (the TypeScript client stops at once).
            return FleetRefusedError("%s (refused by etcd: not retried)" % message, e.code, said)
        if e.code >= 500:
            self._current += 1
        return FleetError(message)

    def _unusable(self, path, what, failover):
        """A FleetError about the last answer (from the endpoint that gave it); `failover`: the next call goes to the next endpoint."""
        if failover:
            self._current += 1
        return FleetError("etcd %s at %s: %s" % (path, self._answered_by, what))

    def _txn_outcome(self, r, mid, value):
        """publish's result from a create-only txn's answer; an answer of another shape is a FleetError (the write is retried)."""
        try:
            rev = int((r.get("header") or {}).get("revision", 0))
            if r.get("succeeded"):
                return {"id": mid, "revision": rev, "created": True}
            # An empty `responses` raised IndexError, and one of another shape AttributeError or ValueError, out of the retry loop.
            kvs = r["responses"][0]["response_range"].get("kvs") or []
            # Ours when it holds exactly this value: an earlier attempt landed though its answer was lost.
            mine = bool(kvs) and _unb64(kvs[0].get("value")) == value
            return {"id": mid, "revision": int(kvs[0].get("mod_revision", rev)) if kvs else rev, "created": mine}
        except (LookupError, TypeError, AttributeError, ValueError) as e:
            raise self._unusable("/v3/kv/txn", "an answer of another shape (%s: %s): %s" % (type(e).__name__, e, json.dumps(r)[:300]), True) from e

    def _key(self, *parts):
        return "/vector-boot/%s/%s" % (self.fleet, "/".join(parts))

    def publish(self, tensor, offset, values, confidence, mutation_id=None, wait=120.0):
        """Publishes one mutation once; retries the same create-only write until `wait` seconds pass
        (5xx answers, unreachable or silent members: the next endpoint); etcd's refusal is raised at once
        (FleetRefusedError, naming the HTTP status and etcd's message).

        Returns {"id", "revision", "created"}: created is True when this call's mutation is the one
        stored (also when an earlier attempt of this call landed and its answer was lost), False when
        that ID already held another publication.
        """
        mid = mutation_id or "%015d-%s" % (int(time.time() * 1000), uuid.uuid4().hex[:8])
        problem, vals = checked_mutation(mid, tensor, offset, values, confidence)
        if problem is not None:
            raise FleetError(problem)
        key = self._key("mutations", mid)
        value = json.dumps({"tensor": tensor, "offset": offset, "values": vals, "confidence": float(confidence), "published_at": int(time.time() * 1000)})
        txn = {
            "compare": [{"key": _b64(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"}],
            "success": [{"request_put": {"key": _b64(key), "value": _b64(value)}}],
            "failure": [{"request_range": {"key": _b64(key)}}],
        }
        deadline = time.monotonic() + wait
        backoff = 0.1
        while True:
            try:
                r = self.call("/v3/kv/txn", txn, timeout=max(1.0, min(10.0, deadline - time.monotonic())))
                return self._txn_outcome(r, mid, value)
            except (FleetLocalError, FleetRefusedError):
                raise  # retrying cannot help
            except FleetError:
                if time.monotonic() + backoff >= deadline:
                    raise
                time.sleep(backoff)
                backoff = min(2.0, backoff * 2)

    def acks(self, mutation_id):
        """The acks written so far for one mutation: {node: {status, accepted, journal_seq, revision, at}}."""
        prefix = self._key("acks", mutation_id) + "/"
        r = self.call("/v3/kv/range", {"key": _b64(prefix), "range_end": _prefix_end(prefix)})
        out = {}
        kvs = r.get("kvs") or []
        for kv in kvs if isinstance(kvs, list) else [kvs]:
            # A value that was not JSON, or an ack with no "node", raised ValueError / KeyError past wait_acked.
            try:
                ack = json.loads(_unb64(kv.get("value")))
                out[ack["node"]] = ack
            except (LookupError, TypeError, AttributeError, ValueError) as e:
                key = kv.get("key") if isinstance(kv, dict) else None
                try:
                    key = _unb64(key) if isinstance(key, str) else prefix + "?"
                except ValueError:
                    pass
                raise self._unusable("/v3/kv/range", "the ack %s is not an ack (%s: %s)" % (key, type(e).__name__, e), False) from e
        return out

    def wait_acked(self, mutation_id, nodes, timeout=60.0):
        """Waits until every node in `nodes` acked; returns the acks, or raises FleetError naming the missing ones."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                got = self.acks(mutation_id)
                missing = [n for n in nodes if n not in got]
                if not missing:
                    return got
            except (FleetLocalError, FleetRefusedError):
                raise  # waiting cannot help
            except FleetError as e:
                missing = ["(etcd: %s)" % e]
            if time.monotonic() >= deadline:
                raise FleetError("mutation %s: no ack from %s within %.0f s" % (mutation_id, ", ".join(missing), timeout))
            time.sleep(0.1)


def from_env():
    """A FleetClient from VB_ETCD_ENDPOINTS (comma-separated) and VB_FLEET (default "default")."""
    eps = [e for e in os.environ.get("VB_ETCD_ENDPOINTS", "").split(",") if e]
    return FleetClient(eps, os.environ.get("VB_FLEET", "default"))
