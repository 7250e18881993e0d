// Runs Python against the shipped vector_boot_evolution with a stand-in for etcd's gateway (the FleetClient tests' set-up).
import { python } from "../harness/python.ts";
import { shippedPython } from "../pid1/harness.ts";

/**
 * Before the caller's script: FleetClient and FleetError imported, `json`, and a stand-in for etcd's
 * gateway at `url` that answers every txn "created" and records each txn's stored value in `stored`.
 */
const standIn = `
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
url = "http://127.0.0.1:%d" % srv.server_port
`;

/** Runs `script` (Python, after the stand-in above) with the shipped package on PYTHONPATH; its stdout and stderr. */
export function pythonWithFleetStandIn(script: string): { stdout: string; stderr: string } {
  const r = Bun.spawnSync([python, "-c", standIn + script], { env: { ...process.env, PYTHONPATH: shippedPython }, stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  return { stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}
