// A refused peer connecting as fast as it can wrote one warning line per connection: the init's log (console, /dev/kmsg) flooded.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync } from "node:fs";
import { join } from "node:path";
import { createSystemUser } from "../harness/system-user.ts";
import { bun, tempDir } from "./harness.ts";

const user = `vbrefl-${process.pid % 100000}`;
let uid = -1;
let gid = -1;
let removeUser = () => {};

beforeAll(() => {
  ({ uid, gid, remove: removeUser } = createSystemUser(user));
});
afterAll(() => removeUser());

// Not root, not the server's uid, not in its control group (0): refused at every connect. 400 connects, each closed at once.
const flood = [
  "import socket, sys",
  "made = 0",
  "for i in range(400):",
  "    s = socket.socket(socket.AF_UNIX)",
  "    try:",
  "        s.connect(sys.argv[1]); made += 1",
  "    except OSError:",
  "        pass",
  "    s.close()",
  "print(made, flush=True)",
].join("\n");

test("a peer refused at connect, connecting 400 times, wrote 400 'control connection refused' warnings: now 5 one by one and one line counting the rest", async () => {
  const dir = tempDir("vb-refusal-log-");
  chmodSync(dir, 0o755);
  const server = Bun.spawn([bun, join(import.meta.dir, "fd-probe-server.ts"), dir, "0", "8"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => server.kill(9), 40_000);
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
    const made = Number((await new Response(member.stdout).text()).trim());
    expect(await member.exited).toBe(0);
    expect(made).toBeGreaterThan(100);
    // Let the server take every connection that reached it, then end it (its close says what it left out).
    await Bun.sleep(300);
    server.stdin.end();
    const err = await new Response(server.stderr).text();
    await server.exited;
    while (!out.includes("}\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += dec.decode(value);
    }
    const report = JSON.parse(out.split("\n")[1]!) as { refused: number };
    expect(report.refused).toBeGreaterThan(100);
    const each = err.split("\n").filter((l) => l.includes("control connection refused"));
    expect(each.length).toBe(5);
    const summary = err.split("\n").filter((l) => l.includes("control connections refused, not logged one by one"));
    expect(summary).toHaveLength(1);
    expect(summary[0]).toContain(`count=${report.refused - 5}`);
    expect(summary[0]).toContain(`uids=${uid}`);
  } finally {
    clearTimeout(timer);
    server.kill(9);
  }
}, 60_000);
