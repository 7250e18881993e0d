// FleetClient: an etcd answer of an unexpected shape raised IndexError, KeyError, ValueError or AttributeError (no FleetError, naming no endpoint) out of publish's retry, acks() and wait_acked, and out of the authentication.
import { expect, test } from "bun:test";
import { python } from "../harness/python.ts";
import { shippedPython } from "../pid1/harness.ts";

test("FleetClient: an empty txn `responses` (IndexError), an ack value that is not JSON (ValueError) or has no node (KeyError), an authenticate answer with no token (KeyError) or an answer that is no object (AttributeError) escaped as Python errors naming no endpoint, past publish's retry and wait_acked: each is a FleetError naming the call and the endpoint, and publish fails over to the next endpoint", () => {
  // Stand-ins for etcd's gateway (as the other fleet client tests), each answering every call on a
  // path with the object the test gives it; "good" answers every txn "created".
  const script = `
import base64, json, threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from vector_boot_evolution import FleetClient
def b64(s):
    return base64.b64encode(s.encode()).decode()
def gateway(answers):
    class H(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["content-length"]))
            out = json.dumps(answers[self.path]).encode()
            self.send_response(200)
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
        def log_message(self, *a):
            pass
    srv = HTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return "http://127.0.0.1:%d" % srv.server_port
def attempt(f):
    try:
        return ["ok", f()]
    except Exception as e:
        return [type(e).__name__, str(e)]
good = gateway({"/v3/kv/txn": {"header": {"revision": "7"}, "succeeded": True}})
empty = gateway({"/v3/kv/txn": {"header": {"revision": "7"}, "responses": []}})
ack = lambda value: {"kvs": [{"key": b64("/vector-boot/f/acks/m1/n1"), "value": b64(value)}]}
notjson = gateway({"/v3/kv/range": ack("not json")})
nonode = gateway({"/v3/kv/range": ack(json.dumps({"status": "applied"}))})
listed = gateway({"/v3/kv/range": [1, 2]})
notoken = gateway({"/v3/auth/authenticate": {"header": {}}})
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
  const r = Bun.spawnSync([python, "-c", script], { env: { ...process.env, PYTHONPATH: shippedPython }, stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  expect(r.stderr.toString()).toBe("");
  const out = JSON.parse(r.stdout.toString().trim());
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
