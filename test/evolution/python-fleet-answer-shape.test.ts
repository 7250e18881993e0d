// FleetClient: an etcd answer of an unexpected shape raised IndexError, KeyError, ValueError or AttributeError (no FleetError, naming no endpoint) out of publish's retry, acks() and wait_acked, and out of the authentication.
import { expect, test } from "bun:test";
import { pythonWithFleetStandIn } from "./python-fleet-stand-in.ts";

test("FleetClient: an empty txn `responses` (IndexError), an ack value that is not JSON (ValueError) or has no node (KeyError), an authenticate answer with no token (KeyError) or an answer that is no object (AttributeError) escaped as Python errors naming no endpoint, past publish's retry and wait_acked: each is a FleetError naming the call and the endpoint, and publish fails over to the next endpoint", () => {
  // Stand-ins for etcd's gateway (as the other fleet client tests), each answering every call on a
  // path with the object the test gives it; "good" answers every txn "created".
  const script = `
def b64(s):
    return base64.b64encode(s.encode()).decode()
def by_path(answers):
    return gateway(lambda handler, raw: answers[handler.path])
good = by_path({"/v3/kv/txn": CREATED})
empty = by_path({"/v3/kv/txn": {"header": {"revision": "7"}, "responses": []}})
ack = lambda value: {"kvs": [{"key": b64("/vector-boot/f/acks/m1/n1"), "value": b64(value)}]}
notjson = by_path({"/v3/kv/range": ack("not json")})
nonode = by_path({"/v3/kv/range": ack(json.dumps({"status": "applied"}))})
listed = by_path({"/v3/kv/range": [1, 2]})
notoken = by_path({"/v3/auth/authenticate": {"header": {}}})
import os, tempfile
pw = os.path.join(tempfile.mkdtemp(), "pw")
open(pw, "w").write("secret\\n")
publish = lambda eps, wait, **kw: attempt(lambda: FleetClient(eps, "f", call_timeout=5, **kw).publish("pixel.1.bias", 0, [0.5], 0.9, mutation_id="m1", wait=wait)["created"])
print(json.dumps({
    "urls": {"empty": empty, "notjson": notjson, "nonode": nonode, "listed": listed, "notoken": notoken},
    "publish": [publish([empty], 0.05), publish([empty, good], 30), publish([notoken], 0.05, user="u", password_file=pw)],
    "acks": [attempt(lambda: FleetClient([u], "f").acks("m1")) for u in (notjson, nonode, listed)],
    "wait_acked": attempt(lambda: FleetClient([nonode], "f").wait_acked("m1", ["n1"], timeout=0.2)),
}))
`;
  const r = pythonWithFleetStandIn(script);
  expect(r.stderr).toBe("");
  const out = JSON.parse(r.stdout.trim());
  const u = out.urls;
  expect(out.publish).toEqual([
    ["FleetError", `etcd /v3/kv/txn at ${u.empty}: an answer of another shape (IndexError: list index out of range): {"header": {"revision": "7"}, "responses": []}`],
    ["ok", true],
    ["FleetError", `etcd /v3/auth/authenticate at ${u.notoken}: the answer holds no token (is authentication enabled on the cluster?): {"header": {}}`],
  ]);
  expect(out.acks).toEqual([
    ["FleetError", `etcd /v3/kv/range at ${u.notjson}: the ack /vector-boot/f/acks/m1/n1 is not an ack (JSONDecodeError: Expecting value: line 1 column 1 (char 0))`],
    ["FleetError", `etcd /v3/kv/range at ${u.nonode}: the ack /vector-boot/f/acks/m1/n1 is not an ack (KeyError: 'node')`],
    ["FleetError", `etcd /v3/kv/range at ${u.listed}: the answer is not a JSON object: [1, 2]`],
  ]);
  expect(out.wait_acked).toEqual(["FleetError", `mutation m1: no ack from (etcd: etcd /v3/kv/range at ${u.nonode}: the ack /vector-boot/f/acks/m1/n1 is not an ack (KeyError: 'node')) within 0 s`]);
});
