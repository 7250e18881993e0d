// FleetClient("http://host:2379"), one URL as a string instead of a list, took each character as an endpoint ("h", "t", ...): every publish failed with "unknown url type".
import { expect, test } from "bun:test";
import { python } from "../harness/python.ts";
import { shippedPython } from "../pid1/harness.ts";

test("FleetClient(\"http://host:2379\") took each character of the string as an endpoint and publish failed with 'unknown url type': one string is one endpoint (or several, comma-separated), and a non-string endpoint is a TypeError naming it", () => {
  // A stand-in for etcd's gateway: answers every txn "created".
  const script = `
import json, threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from vector_boot_evolution import FleetClient
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["content-length"]))
        out = json.dumps({"header": {"revision": "7"}, "succeeded": True}).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *a):
        pass
srv = HTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
url = "http://127.0.0.1:%d" % srv.server_port
def attempt(f):
    try:
        return ["ok", f()]
    except Exception as e:
        return [type(e).__name__, str(e)]
one = FleetClient(url, "f", call_timeout=5)
print(json.dumps({
    "url": url,
    "endpoints": one.endpoints,
    "published": attempt(lambda: one.publish("pixel.1.bias", 0, [0.5], 0.9, mutation_id="one", wait=1)["created"]),
    "several": attempt(lambda: FleetClient(url + "/, http://127.0.0.2:2379", "f").endpoints),
    "bad": [attempt(lambda: FleetClient(b"http://h:2379", "f")), attempt(lambda: FleetClient([url, 2379], "f")), attempt(lambda: FleetClient(2379, "f"))],
}))
`;
  const r = Bun.spawnSync([python, "-c", script], { env: { ...process.env, PYTHONPATH: shippedPython }, stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  expect(r.stderr.toString()).toBe("");
  const out = JSON.parse(r.stdout.toString().trim());
  expect(out.endpoints).toEqual([out.url]);
  expect(out.published).toEqual(["ok", true]);
  expect(out.several).toEqual(["ok", [out.url, "http://127.0.0.2:2379"]]);
  expect(out.bad).toEqual([
    ["TypeError", "endpoints must be a list of URLs or one string, got bytes"],
    ["TypeError", "endpoints[1] must be a URL string, got 2379"],
    ["TypeError", "endpoints must be a list of URLs or one string, got int"],
  ]);
});
