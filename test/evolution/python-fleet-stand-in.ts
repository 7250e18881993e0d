// Runs Python against the shipped vector_boot_evolution with a stand-in for etcd's gateway (the FleetClient tests' set-up).
import { python } from "../harness/python.ts";
import { shippedPython } from "../pid1/harness.ts";

/**
 * Before the caller's script: FleetClient and FleetError imported, `json` and `base64`; `gateway(answer)`, a stand-in
 * for etcd's gateway that answers each POST with `answer(handler, body_bytes)` as JSON (a `(status, body)` tuple: that
 * HTTP status, a str body sent as it is), resolving to its URL; `CREATED`,
 * a txn's "created" answer; `url`, a gateway that answers every call CREATED and records each txn's stored value in
 * `stored`; and `attempt(f)`: ["ok", f()], or the name and message of what f raised.
 */
const standIn = `
import base64, json, sys, threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from vector_boot_evolution import FleetClient, FleetError
def gateway(answer):
    class H(BaseHTTPRequestHandler):
        def do_POST(self):
            a = answer(self, self.rfile.read(int(self.headers["content-length"])))
            status, a = a if isinstance(a, tuple) else (200, a)
            out = (a if isinstance(a, str) else json.dumps(a)).encode()
            self.send_response(status)
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
        def log_message(self, *a):
            pass
    srv = HTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return "http://127.0.0.1:%d" % srv.server_port
CREATED = {"header": {"revision": "7"}, "succeeded": True}
stored = []
def record(handler, raw):
    body = json.loads(raw)
    stored.append(json.loads(base64.b64decode(body["success"][0]["request_put"]["value"]))) if "success" in body else None
    return CREATED
url = gateway(record)
def attempt(f):
    try:
        return ["ok", f()]
    except Exception as e:
        return [type(e).__name__, str(e)]
`;

/** Runs `script` (Python, after the stand-in above) with the shipped package on PYTHONPATH; its stdout and stderr. */
export function pythonWithFleetStandIn(script: string): { stdout: string; stderr: string } {
  const r = Bun.spawnSync([python, "-c", standIn + script], { env: { ...process.env, PYTHONPATH: shippedPython }, stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  return { stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}
