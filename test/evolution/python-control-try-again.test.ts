// The Python control CLI given the server's "timeout" (an idle or unfinished connection closed) or "busy": it exited 1 ("refused") where `vector-boot` exits 75 (not now, try again).
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { runAsync, shipped } from "../harness/artifact.ts";
import { python } from "../harness/python.ts";
import { shippedPython } from "../pid1/harness.ts";
import { removeDir, tempDir } from "./harness.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const env = { ...process.env, PYTHONPATH: shippedPython };
const ctl = (args: string[]) => runAsync([python, "-m", "vector_boot_evolution.control", ...args], { env, timeoutMs: 30_000 });

test("a server `timeout` error (the server closed an idle or unfinished connection) made the Python control CLI exit 1 ('refused') where the vector-boot CLI exits 75: it exits 75, as for `busy`, and --help says so", async () => {
  const d = tempDir("vb-pyctltryagain-");
  dirs.push(d);
  // A stand-in control socket that answers a request with the error line the shipped server sends
  // (peers.ts: id null) and closes the connection, as the server does for `timeout`.
  let error = {};
  const path = join(d, "control");
  const server = Bun.listen({
    unix: path,
    socket: {
      data(sock) {
        sock.write(JSON.stringify({ id: null, ok: false, error }) + "\n");
        sock.end();
      },
    },
  });
  try {
    for (const e of [
      { code: "timeout", message: "idle for 60000 ms; closing" },
      { code: "timeout", message: "request incomplete after 5000 ms; closing" },
      { code: "busy", message: "too many connections" },
    ]) {
      error = e;
      const r = await ctl(["--socket", path, "status"]);
      expect({ code: r.code, out: r.out, err: JSON.parse(r.err) }).toEqual({ code: 75, out: "", err: e });
      // The same as the shipped vector-boot CLI's.
      expect((await runAsync(shipped(["status", "--socket", path]), { timeoutMs: 30_000 })).code).toBe(75);
    }
    // Another refusal stays 1.
    error = { code: "unknown_service", message: 'no service "web"' };
    const refused = await ctl(["--socket", path, "restart", '{"name": "web"}']);
    expect({ code: refused.code, err: JSON.parse(refused.err) }).toEqual({ code: 1, err: error });
  } finally {
    server.stop(true);
  }
  const help = await ctl(["--help"]);
  expect(help.out).toContain('or the server\'s "busy" (too many\nconnections, a service still stopping, a shutdown under way) or "timeout" (the server closed an idle or\nunfinished connection: ask again on a new one)');
}, 60_000);
