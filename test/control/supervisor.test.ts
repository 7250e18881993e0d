// The control socket over a real Supervisor and Reaper (bootTarget): restart/stop/start real processes by name.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { bootTarget } from "../../src/control/boot-target.ts";
import { ControlClient } from "../../src/control/client.ts";
import type { ControlServer } from "../../src/control/server.ts";
import { startOrder, validateConfig } from "../../src/config/load.ts";
import { Reaper } from "../../src/init/reaper.ts";
import { Supervisor } from "../../src/supervisor/supervisor.ts";
import { startServer } from "./harness.ts";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

let reaper: Reaper;
let sup: Supervisor;
let server: ControlServer;
let path: string;
const shutdowns: string[] = [];

beforeAll(() => {
  // The reaper waits on every child of this process: nothing in this file uses Bun.spawn.
  const config = validateConfig({ services: [{ name: "sleeper", argv: ["sleep", "1000"], restart: "always", grace_ms: 2000 }, { name: "other", argv: ["sleep", "1000"], depends_on: ["sleeper"] }] });
  reaper = new Reaper();
  sup = new Supervisor(config.services, startOrder(config), reaper);
  sup.startAll();
  reaper.start(100);
  ({ server, path } = startServer(bootTarget({ supervisor: () => sup, requestShutdown: (r) => shutdowns.push(`${r.mode}: ${r.reason}`), generation: () => 3 })));
});

afterAll(async () => {
  server.close();
  await sup.stopAll();
  reaper.stop();
});

describe("control socket over a real supervisor", () => {
  test("restart NAME replaces the process: new pid, the old one is gone and reaped", async () => {
    const c = await ControlClient.connect(path);
    const before = ((await c.request({ op: "services" })) as Array<{ name: string; pid: number }>).find((s) => s.name === "sleeper")!.pid;
    expect(alive(before)).toBe(true);
    const after = (await c.request({ op: "restart", name: "sleeper" })) as { state: string; pid: number };
    c.close();
    expect(after.state).toBe("running");
    expect(after.pid).not.toBe(before);
    expect(alive(after.pid)).toBe(true);
    await until(() => !alive(before), 2_000, "the old sleeper to be reaped");
  });

  test("stop NAME leaves the service stopped (no restart under restart=always); start NAME brings it back", async () => {
    const c = await ControlClient.connect(path);
    const pid = ((await c.request({ op: "services" })) as Array<{ name: string; pid: number }>).find((s) => s.name === "other")!.pid;
    expect(await c.request({ op: "stop", name: "other" })).toMatchObject({ name: "other", state: "stopped", pid: null });
    // Reaped: its exit has been handled. A restart is decided there, and one due later waits in the
    // state "backoff" (100 ms here), so the state now is the answer, with no window to wait out.
    await until(() => !alive(pid), 2_000, "the stopped process to be gone");
    expect(((await c.request({ op: "services" })) as Array<{ name: string; state: string }>).find((s) => s.name === "other")!.state).toBe("stopped");
    const started = (await c.request({ op: "start", name: "other" })) as { state: string; pid: number };
    c.close();
    expect(started.state).toBe("running");
    expect(alive(started.pid)).toBe(true);
  });

  test("status carries pid, generation and service counts; poweroff records the request", async () => {
    const c = await ControlClient.connect(path);
    expect(await c.request({ op: "status" })).toMatchObject({ pid: process.pid, generation: 3, services: { running: 2 } });
    expect(await c.request({ op: "poweroff" })).toEqual({ mode: "poweroff" });
    expect(await c.request({ op: "checkpoint" }).catch((e) => e.code)).toBe("not_supported");
    c.close();
    expect(shutdowns).toEqual(["poweroff: control socket: poweroff"]);
  });
});
