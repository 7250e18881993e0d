// FleetClient.publish turned a fractional offset into a smaller one (int(2.5) = 2) and True into 1: every node then wrote the values one element off.
import { expect, test } from "bun:test";
import { python } from "../harness/python.ts";
import { shippedPython } from "../pid1/harness.ts";

test("FleetClient.publish(T, 2.5, ...) published offset 2, an offset of True published 1, bytes values one value per byte and [True] as 1.0: a FleetError now, and nothing reaches etcd", () => {
  // A stand-in for etcd's gateway: records each txn's stored value and answers "created".
  const script = `
import base64, json, sys, threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from vector_boot_evolution import FleetClient, FleetError
stored = []
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        stored.append(json.loads(base64.b64decode(body["success"][0]["request_put"]["value"]))) if "success" in body else None
        out = json.dumps({"header": {"revision": "7"}, "succeeded": True}).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *a):
        pass
srv = HTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
c = FleetClient(["http://127.0.0.1:%d" % srv.server_port], "f", call_timeout=5)
def error(f):
    try:
        r = f()
    except Exception as e:
        return [type(e).__name__, str(e)]
    return ["returned", r["created"]]
T = "pixel.1.bias"
cases = [(T, 2.5, [0.5], 0.9), (T, True, [0.5], 0.9), (T, -1, [0.5], 0.9), (T, "3", [0.5], 0.9),
         (T, 0, b"\\x00\\x00\\x00?", 0.9), (T, 0, [True], 0.9), (T, 0, [0.5], True)]
errors = [error(lambda: c.publish(*m, mutation_id="m-%d" % i, wait=1)) for i, m in enumerate(cases)]
good = c.publish(T, 2, [0.5, 1], 1, mutation_id="ok", wait=1)
print(json.dumps({"errors": errors, "stored": [[s["offset"], s["values"], s["confidence"]] for s in stored], "good": good["created"]}))
`;
  const r = Bun.spawnSync([python, "-c", script], { env: { ...process.env, PYTHONPATH: shippedPython }, stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  expect(r.stderr.toString()).toBe("");
  const out = JSON.parse(r.stdout.toString().trim());
  expect(out.errors).toEqual([
    ["FleetError", "offset must be a whole number >= 0, got 2.5"],
    ["FleetError", "offset must be a whole number >= 0, got True"],
    ["FleetError", "offset must be a whole number >= 0, got -1"],
    ["FleetError", "offset must be a whole number >= 0, got '3'"],
    ["FleetError", "values must be a sequence of numbers, got bytes"],
    ["FleetError", "values[0] must be a number, got True"],
    ["FleetError", "confidence must be a number from 0 to 1, got True"],
  ]);
  // Only the well-formed mutation was published, as given.
  expect(out.stored).toEqual([[2, [0.5, 1], 1]]);
  expect(out.good).toBe(true);
});
