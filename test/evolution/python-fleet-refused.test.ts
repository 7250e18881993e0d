// FleetClient.publish retried etcd's refusals (HTTP 4xx) until its wait ran out, where the TypeScript client stops at once (FleetRefusedError, exit 71).
import { expect, test } from "bun:test";
import { pythonWithFleetStandIn } from "./python-fleet-stand-in.ts";

test("FleetClient.publish and wait_acked refused by etcd (HTTP 403 permission denied) retried the same call until their wait ran out, then raised a FleetError: a FleetRefusedError at once (one call, no failover) naming the status and etcd's message; a 5xx, a 429, a 4xx that is not etcd's answer and an expired token are still retried", () => {
  // Stand-ins for etcd's gateway, each recording the paths it was asked: `denied` refuses every call as etcd does
  // for a user without permission; `good` answers every call; the others fail their first `fails` calls their way.
  const script = `
import os, tempfile
from vector_boot_evolution import FleetRefusedError
pw = tempfile.NamedTemporaryFile("w", suffix=".pw", delete=False)
pw.write("s3cret\\n")
pw.close()
DENIED = (403, {"error": "etcdserver: permission denied", "code": 7, "message": "etcdserver: permission denied"})
calls = {}
def stand_in(name, first=None, fails=0, then=None):
    def answer(handler, raw):
        calls.setdefault(name, []).append(handler.path)
        if handler.path == "/v3/auth/authenticate":
            return {"token": "tok-%d" % len(calls[name])}
        if first is not None and len(calls[name]) <= fails:
            return first
        return then if then is not None else (CREATED if handler.path == "/v3/kv/txn" else {"header": {"revision": "7"}})
    return gateway(answer)
denied = stand_in("denied", DENIED, 10**6)
good = stand_in("good")
def publish(endpoints, **kw):
    c = FleetClient(endpoints, "f", call_timeout=5, **kw)
    return attempt(lambda: c.publish("pixel.1.bias", 0, [0.5], 0.9, mutation_id="m1", wait=4)["created"])
def refusal(f):
    try:
        f()
    except FleetRefusedError as e:
        return [type(e).__name__, e.status, e.etcd_message, str(e), isinstance(e, FleetError)]
    except Exception as e:
        return [type(e).__name__, str(e)]
out = {
    "denied": refusal(lambda: FleetClient([denied, good], "f", call_timeout=5).publish("pixel.1.bias", 0, [0.5], 0.9, mutation_id="m1", wait=4)),
    "denied_wait": refusal(lambda: FleetClient([denied, good], "f", call_timeout=5).wait_acked("m1", ["n1"], timeout=4)),
    "denied_calls": list(calls.pop("denied")), "good_calls": list(calls.pop("good", [])),
    # Retried as before: a member without a leader (503: next endpoint), etcd's "too many requests" (429), another
    # server at the address (a 404 page: next endpoint), an expired token (401: authenticated again, once).
    "unavailable": publish([stand_in("unavailable", (503, {"error": "etcdserver: no leader", "code": 14}), 10**6), good]),
    "busy": publish([stand_in("busy", (429, {"error": "etcdserver: too many requests", "code": 8}), 2)]),
    "not_etcd": publish([stand_in("not_etcd", (404, "404 page not found\\n"), 10**6), good]),
    "expired": publish([stand_in("expired", (401, {"error": "etcdserver: invalid auth token", "code": 16}), 2)], user="vb", password_file=pw.name),
}
out["calls"] = calls
os.unlink(pw.name)
print(json.dumps(out))
`;
  const r = pythonWithFleetStandIn(script);
  expect(r.stderr).toBe("");
  const out = JSON.parse(r.stdout);
  // At once: one call, never sent on to the next endpoint, never retried (the old client went on for the 4 s).
  expect(out.denied).toEqual(["FleetRefusedError", 403, "etcdserver: permission denied", expect.stringContaining("HTTP 403: etcdserver: permission denied"), true]);
  expect(out.denied_wait).toEqual(["FleetRefusedError", 403, "etcdserver: permission denied", expect.stringContaining("etcd /v3/kv/range at http://127.0.0.1:"), true]);
  expect(out.denied_calls).toEqual(["/v3/kv/txn", "/v3/kv/range"]);
  expect(out.good_calls).toEqual([]);
  expect([out.unavailable, out.busy, out.not_etcd, out.expired]).toEqual([["ok", true], ["ok", true], ["ok", true], ["ok", true]]);
  expect(out.calls.unavailable).toEqual(["/v3/kv/txn"]);
  expect(out.calls.busy).toEqual(["/v3/kv/txn", "/v3/kv/txn", "/v3/kv/txn"]);
  expect(out.calls.not_etcd).toEqual(["/v3/kv/txn"]);
  expect(out.calls.good).toEqual(["/v3/kv/txn", "/v3/kv/txn"]);
  // The stale token refused once: a new one, the same txn again.
  expect(out.calls.expired).toEqual(["/v3/auth/authenticate", "/v3/kv/txn", "/v3/auth/authenticate", "/v3/kv/txn"]);
}, 60_000);
