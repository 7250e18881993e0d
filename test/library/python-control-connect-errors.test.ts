// Library nature, Python: ControlClient's connect errors name the socket they could not reach (its class stays the OSError connect raised).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { python } from "../harness/python.ts";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vb-library-py-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const root = resolve(import.meta.dir, "../..");
const env = { ...process.env, PYTHONPATH: join(root, "python"), PYTHONDONTWRITEBYTECODE: "1" };
const py = (argv: string[]) => {
  const r = Bun.spawnSync([python, ...argv], { env, stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  return { code: r.exitCode, out: r.stdout.toString().trim(), err: r.stderr.toString().trim() };
};

test("ControlClient of a missing socket or one nothing listens on said only '[Errno 2] No such file or directory' / '[Errno 111] Connection refused', naming no path: the error names the socket", () => {
  const missing = join(dir, "no-such-dir/control");
  const stale = join(dir, "stale.sock"); // a socket file whose listener is gone
  const script = [
    "import socket, sys",
    "from vector_boot_evolution import ControlClient",
    "s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[2]); s.close()",
    "for path in sys.argv[1:]:",
    "    try: ControlClient(path, timeout=5)",
    "    except OSError as e: print(type(e).__name__, e)",
  ].join("\n");
  const r = py(["-c", script, missing, stale]);
  expect(r.err).toBe("");
  expect(r.out.split("\n")).toEqual([
    `FileNotFoundError [Errno 2] No such file or directory: '${missing}'`,
    `ConnectionRefusedError [Errno 111] Connection refused: '${stale}'`,
  ]);
  // The script form prints the same message in its JSON error line.
  const cli = py(["-m", "vector_boot_evolution.control", "--socket", missing, "status"]);
  expect(cli.code).toBe(2);
  expect(JSON.parse(cli.err)).toEqual({ code: "os_error", message: `[Errno 2] No such file or directory: '${missing}'` });
}, 60_000);
