// The Python control client given the request's own field names ("id", "op", "self") as fields: a timeout or a traceback.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { runAsync } from "../harness/artifact.ts";
import { python } from "../harness/python.ts";
import { shippedPython } from "../pid1/harness.ts";
import { removeDir, tempDir } from "./harness.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));
const env = { ...process.env, PYTHONPATH: shippedPython };

/** A stand-in control socket that answers each request with the request itself (by its id); every request line it got. */
function echoServer(path: string) {
  const got: Record<string, unknown>[] = [];
  const server = Bun.listen({
    unix: path,
    socket: {
      data(sock, data) {
        for (const line of data.toString().split("\n").filter(Boolean)) {
          const req = JSON.parse(line) as Record<string, unknown>;
          got.push(req);
          sock.write(`${JSON.stringify({ id: req.id, ok: true, result: req })}\n`);
        }
      },
    },
  });
  return { got, stop: () => server.stop(true) };
}

test("JSON-FIELDS holding \"id\" replaced the client's id: the answer was skipped as another request's and the CLI timed out (exit 2), \"op\" was a Python traceback (exit 1): both are usage errors (64) and nothing is sent; the library refuses them with ValueError and takes \"self\" as a field", async () => {
  const d = tempDir("vb-pyctlreserved-");
  dirs.push(d);
  const path = join(d, "control");
  const s = echoServer(path);
  try {
    for (const fields of ['{"id": 5}', '{"op": "status"}']) {
      const r = await runAsync([python, "-m", "vector_boot_evolution.control", "--socket", path, "--timeout", "2", "ping", fields], { env, timeoutMs: 30_000 });
      expect({ fields, code: r.code, err: JSON.parse(r.err) }).toEqual({ fields, code: 64, err: { code: "usage", message: expect.stringContaining("JSON-FIELDS may not hold") } });
    }
    expect(s.got).toEqual([]);
    const lib = `import sys, json
from vector_boot_evolution import ControlClient
out = []
with ControlClient(sys.argv[1], timeout=5) as c:
    for kw in ({"id": 5}, {"op": "x"}):
        try:
            out.append(["returned", c.request("ping", **kw)])
        except Exception as e:
            out.append([type(e).__name__, str(e)])
    out.append(["returned", c.request("ping", self=1)])
print(json.dumps(out))
`;
    const r = await runAsync([python, "-c", lib, path], { env, timeoutMs: 30_000 });
    expect(r.err).toBe("");
    const out = JSON.parse(r.out) as [string, unknown][];
    expect(out[0]).toEqual(["ValueError", `${path}: 'id' is the request's own, not a field (the op is the first argument, the id the client's)`]);
    expect(out[1]).toEqual(["ValueError", `${path}: 'op' is the request's own, not a field (the op is the first argument, the id the client's)`]);
    expect(out[2]).toEqual(["returned", { id: 1, op: "ping", self: 1 }]);
  } finally {
    s.stop();
  }
}, 60_000);
