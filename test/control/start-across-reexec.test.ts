// `vector-boot start NAME` whose connection a live re-exec drops unanswered: followed through to the new image, as stop and restart are.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { ControlServer } from "../../src/control/server.ts";
import type { ControlTarget } from "../../src/control/target.ts";
import { oldImage, row, type Row } from "./stand-in-image.ts";
import { tempDir } from "./harness.ts";

/** The image after the re-exec (generation 1): lists svc as `after`; a start asked of it is recorded and runs it. */
class NextImage implements ControlTarget {
  readonly started: string[] = [];
  constructor(private svc: Row) {}
  status() {
    return { pid: process.pid, version: "test", uptimeMs: 2, generation: 1 };
  }
  services() {
    return [row(this.svc)];
  }
  startService(n: string) {
    this.started.push(n);
    this.svc = { ...this.svc, state: "running", pid: 777 };
  }
  async stopService() {}
  async restartService() {}
  stats() {
    return {};
  }
  shutdown() {}
}

let servers: Array<{ close(): void }> = [];
afterEach(() => {
  for (const s of servers) s.close();
  servers = [];
});

/** `start svc` against an old image listing svc as `before` that re-execs into one listing it as `after`. */
async function startAcrossReexec(before: Row, after: Row) {
  const dir = tempDir();
  const path = join(dir, "control");
  const next = new NextImage(after);
  const old = oldImage(path, before, "start", () => servers.push(new ControlServer({ target: next, path })));
  servers.push({ close: () => old.close() });
  const r = await runShippedAsync(["start", "svc", "--socket", path, "--timeout", "20000"], 60_000);
  return { ...r, next };
}

test("`start NAME` whose connection a live re-exec dropped unanswered exited 71 ('may still carry it out') though the new image had started it; it follows through: 0 when the new image lists it running, and is not asked again", async () => {
  const r = await startAcrossReexec({ state: "stopped", pid: null, restarts: 0, lastStatus: 143 }, { state: "running", pid: 4242, restarts: 0, lastStatus: 143 });
  expect({ code: r.code, out: r.out, err: r.err }).toEqual({ code: 0, out: "svc: started (running, pid 4242)\n", err: "" });
  expect(r.next.started).toEqual([]);
}, 60_000);

test("`start NAME` whose connection a live re-exec dropped before the old image read it exited 71; the new image, which lists the service at rest as before, is asked again and starts it (0)", async () => {
  const stopped: Row = { state: "stopped", pid: null, restarts: 0, lastStatus: 143 };
  const r = await startAcrossReexec(stopped, stopped);
  expect({ code: r.code, out: r.out, err: r.err }).toEqual({ code: 0, out: "svc: started (running, pid 777)\n", err: "" });
  expect(r.next.started).toEqual(["svc"]);
}, 60_000);

test("`start NAME` across a live re-exec after which the service is stopped, where it had failed before (a stop asked meanwhile won), exited 71; it exits 75 and does not start it again", async () => {
  const r = await startAcrossReexec({ state: "failed", pid: null, restarts: 3, lastStatus: 1 }, { state: "stopped", pid: null, restarts: 0, lastStatus: 143 });
  expect(r.code).toBe(75);
  expect(r.err).toContain("svc: after the live re-exec the service is stopped: the start was carried out, then a stop asked meanwhile won");
  expect(r.next.started).toEqual([]);
}, 60_000);
