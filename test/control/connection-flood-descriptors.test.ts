// A control group member opening connections as fast as it can: each one over the limit was kept open (our side shut
// down) for 200 ms so the peer could read its `busy`, with no bound on how many: PID 1 ran out of file descriptors.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync } from "node:fs";
import { join } from "node:path";
import { createSystemUser } from "../harness/system-user.ts";
import { bun, roundTrip, tempDir } from "./harness.ts";

const user = `vbflood-${process.pid % 100000}`;
let uid = -1;
let gid = -1;
let removeUser = () => {};

beforeAll(() => {
  ({ uid, gid, remove: removeUser } = createSystemUser(user));
});
afterAll(() => removeUser());

// The member: connects for 2 s as fast as it can, holding up to 400 connections (never reading), then prints how many it
// made and what its last connection was told (refused at once now: the line is still there to read before the close).
// It keeps its first 8 connections (the ones served) open throughout: closing them with the oldest let the server
// serve the next 8, and a flood that ended among those read no line in 5 s (exit 1, once in CI).
const flood = [
  "import socket, sys, time",
  "held, made, end = [], 0, time.time() + 2.0",
  "while time.time() < end:",
  "    s = socket.socket(socket.AF_UNIX)",
  "    try:",
  "        s.connect(sys.argv[1]); held.append(s); made += 1",
  "    except OSError:",
  "        s.close(); time.sleep(0.001)",
  "    if len(held) > 400:",
  "        for x in held[8:108]: x.close()",
  "        del held[8:108]",
  "held[-1].settimeout(5)",
  "print(made, held[-1].recv(4096).decode().strip(), flush=True)",
].join("\n");

test("a control group member opening connections as fast as it can ran PID 1 out of file descriptors (each refused one was kept 200 ms for its busy line, without bound): the init could open no file; the refused connections are now bounded", async () => {
  const dir = tempDir("vb-flood-");
  chmodSync(dir, 0o755);
  // 8 connections per class: at most 16 held for members (8 served, 8 lingering) and 8 for root, within 64 descriptors.
  const server = Bun.spawn(["/bin/sh", "-c", 'ulimit -n 64 && exec "$@"', "sh", bun, join(import.meta.dir, "fd-probe-server.ts"), dir, String(gid), "8"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => server.kill(9), 30_000);
  try {
    const reader = server.stdout.getReader();
    const dec = new TextDecoder();
    let out = "";
    while (!out.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the server exited: ${await new Response(server.stderr).text()}`);
      out += dec.decode(value);
    }
    const path = out.split("\n")[0]!;
    const member = Bun.spawn(["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "/usr/bin/python3", "-c", flood, path], { stdout: "pipe", stderr: "pipe" });
    // Root asks once the member stopped (it could not even be accepted while the init was out of descriptors).
    const [madeText, ...told] = (await new Response(member.stdout).text()).trim().split(" ");
    const made = Number(madeText);
    expect(await member.exited).toBe(0);
    expect(made).toBeGreaterThan(100); // the flood happened
    expect(JSON.parse(told.join(" "))).toMatchObject({ id: null, ok: false, error: { code: "busy", message: expect.stringContaining("control group members") } });
    expect(await roundTrip(path, { id: "root-after", op: "status" })).toMatchObject({ id: "root-after", ok: true });
    server.stdin.end();
    while (!out.includes("}\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += dec.decode(value);
    }
    const report = JSON.parse(out.split("\n")[1]!) as { openFailures: number; peakConnections: number; refused: number };
    expect(report.refused).toBeGreaterThan(50);
    expect(report.openFailures).toBe(0);
    expect(report.peakConnections).toBeLessThanOrEqual(8 * 2 + 8);
  } finally {
    clearTimeout(timer);
    server.kill(9);
  }
}, 40_000);
