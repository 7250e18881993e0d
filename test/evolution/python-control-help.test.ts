// `python3 -m vector_boot_evolution.control --help` sent "--help" to the control socket as an operation (and printed os_error when no init ran); an unknown option went the same way.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { runAsync } from "../harness/artifact.ts";
import { python } from "../harness/python.ts";
import { shippedPython } from "../pid1/harness.ts";
import { removeDir, tempDir } from "./harness.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

test("control --help / -h connected to the control socket and sent '--help' as an operation (os_error without an init), and an unknown option was sent as one too: help prints the usage, exit 0, and an unknown option is a usage error (exit 64), neither connecting", async () => {
  const d = tempDir("vb-pyctlhelp-");
  dirs.push(d);
  // A control socket that counts connections and answers every request line ok, echoing its op.
  const path = join(d, "control");
  const ops: string[] = [];
  let connections = 0;
  const server = Bun.listen({
    unix: path,
    socket: {
      open() {
        connections++;
      },
      data(sock, data) {
        for (const line of data.toString().split("\n").filter(Boolean)) {
          const req = JSON.parse(line);
          ops.push(req.op);
          sock.write(JSON.stringify({ id: req.id, ok: true, result: { op: req.op } }) + "\n");
        }
      },
    },
  });
  const ctl = (args: string[]) => runAsync([python, "-m", "vector_boot_evolution.control", ...args], { env: { ...process.env, PYTHONPATH: shippedPython, VECTOR_BOOT_CONTROL: path }, timeoutMs: 30_000 });
  try {
    for (const args of [["--help"], ["-h"], ["--socket", path, "--help"], ["status", "--help"]]) {
      const r = await ctl(args);
      expect({ args, code: r.code, err: r.err }).toEqual({ args, code: 0, err: "" });
      expect(r.out).toStartWith("usage: python3 -m vector_boot_evolution.control [--socket PATH] [--timeout S] OP [JSON-FIELDS]\n");
      expect(r.out).toContain("64 bad arguments");
    }
    for (const [args, message] of [
      [["--bogus", "ping"], "unknown option '--bogus' (see --help)"],
      [["--socket", path, "-v", "ping"], "unknown option '-v' (see --help)"],
      [["--socket"], "--socket needs a PATH (see --help)"],
    ] as const) {
      const r = await ctl([...args]);
      expect({ args, code: r.code, out: r.out }).toEqual({ args, code: 64, out: "" });
      expect(JSON.parse(r.err)).toEqual({ code: "usage", message });
    }
    expect({ connections, ops }).toEqual({ connections: 0, ops: [] });
    // The listener does see a real request (the checks above are not vacuous).
    const ping = await ctl(["ping"]);
    expect({ code: ping.code, out: JSON.parse(ping.out) }).toEqual({ code: 0, out: { op: "ping" } });
    expect({ connections, ops }).toEqual({ connections: 1, ops: ["ping"] });
  } finally {
    server.stop(true);
  }
}, 60_000);
