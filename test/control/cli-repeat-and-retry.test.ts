// Operator CLI: an option given twice (the last one silently won), and `logs -f` busy-looping on a lost instance after a page that said more was to come.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync, spawnShipped } from "../harness/artifact.ts";
import { waitFor } from "../harness/wait.ts";
import { answeringSocket } from "./answering-socket.ts";
import { tempDir } from "./harness.ts";

test("mutate --values x --values 1 passed (the last --values won: a value the operator did not mean could be journaled); a data option given twice with two values is a usage error (64); a connection option or a flag keeps the last one", async () => {
  const sock = join(tempDir(), "control"); // nothing listens: nothing may be sent anyway
  const twice = await runShippedAsync(["mutate", "cortex.0.weight", "0", "--values", "x", "--values", "1", "--confidence", "0.9", "--socket", sock]);
  expect({ code: twice.code, says: twice.err.includes("option --values given more than once, with two values") }).toEqual({ code: 64, says: true });
  const confidence = await runShippedAsync(["mutate", "cortex.0.weight", "0", "--values", "1", "--confidence", "0.9", "--confidence", "0.5", "--socket", sock]);
  expect(confidence.code).toBe(64);
  // An alias's --socket overridden, a flag twice: the last one, as a shell user expects (71: nothing listens there).
  const status = await runShippedAsync(["status", "--json", "--json", "--socket", join(tempDir(), "elsewhere"), "--socket", sock]);
  expect({ code: status.code, to: status.err.includes(sock) }).toEqual({ code: 71, to: true });
  // An ambiguous option's three-line message is one line.
  const ambiguous = await runShippedAsync(["status", "--socket", "--json"]);
  expect(ambiguous.code).toBe(64);
  expect(ambiguous.err.trim().split("\n").length).toBe(1);
}, 60_000);

/** utime + stime of a process, in clock ticks. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

test("logs -f on an instance gone right after a page that said more was to come retried without a pause (a core's worth of connects for 30 s); each try waits", async () => {
  const path = join(tempDir(), "control");
  let requests = 0;
  const server = answeringSocket(path, (_req, sock) => {
    requests++;
    // The first page: where the output stands; the first poll: a page with more to come; then the instance is gone.
    if (requests === 1) return { lines: [], next: 5 };
    setImmediate(() => {
      sock.end();
      server.stop(true);
    });
    return { lines: [{ seq: 6, t: Date.now(), line: "one" }], next: 6, more: true };
  });
  const client = spawnShipped(["logs", "svc", "-f", "-n", "0", "--socket", path]);
  try {
    await waitFor(() => requests >= 2, 20_000, "the client's first poll");
    await Bun.sleep(300); // the client meets the closed connection
    const before = cpuTicks(client.pid);
    await Bun.sleep(2000);
    const used = cpuTicks(client.pid) - before;
    // A busy loop takes most of a core (100 ticks a second); a 200 ms pause per try, a few ticks.
    expect(used).toBeLessThan(50);
  } finally {
    client.kill("SIGKILL");
    server.stop(true);
  }
}, 60_000);
