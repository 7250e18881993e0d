// A run still there after the SIGKILL at the end of its grace (D state, a process group kept populated) kept the service stopping for ever: the stop never returned and a start was refused for ever.
import { describe, expect, test } from "bun:test";
import { serviceConfig, spawnedRecord } from "./machine-records.ts";
import { startOrder, validateConfig } from "../../src/config/load.ts";
import { Reaper } from "../../src/init/reaper.ts";
import { isSettled, KILL_WAIT_MS, step } from "../../src/supervisor/service-machine.ts";
import type { ServiceRecord } from "../../src/supervisor/service-record.ts";
import { Supervisor } from "../../src/supervisor/supervisor.ts";
import { groupOf, processExists } from "../../src/util/process-exists.ts";
import { listProcesses } from "../../src/init/proc-tree.ts";

const svc = (extra: Record<string, unknown> = {}) => serviceConfig({ grace_ms: 700, ...extra });
const up = (extra: Record<string, unknown> = {}): ServiceRecord => spawnedRecord(svc(extra));

describe("the final wait after SIGKILL", () => {
  test("a stopping service whose process outlived SIGKILL (D state) armed no timer after it and stayed stopping for ever; it is failed KILL_WAIT_MS later, its run given up", () => {
    const r = up();
    step(r, { type: "stop" }, 10);
    const fx = step(r, { type: "grace-elapsed" }, 710);
    expect(fx).toContainEqual({ type: "signal", signal: "kill" });
    expect(fx).toContainEqual({ type: "timer", ms: KILL_WAIT_MS, event: "kill-elapsed" });
    expect(r.state).toBe("stopping");
    const last = step(r, { type: "kill-elapsed" }, 710 + KILL_WAIT_MS);
    expect({ state: r.state, pid: r.pid }).toEqual({ state: "failed", pid: null });
    expect(last).toContainEqual({ type: "give-up-run", pid: 10, waitedMs: KILL_WAIT_MS });
    expect(last).toContainEqual({ type: "settled" });
    expect(isSettled(r)).toBe(true);
    // The stop that got it there is not answered by a restart: a start of a failed service is a fresh run.
    expect(step(r, { type: "start" }, 6000)).toEqual([{ type: "spawn" }]);
  });

  test("a stop waiting for the rest of a run (its main process gone, a process group kept populated) is given up the same way", () => {
    const r = up();
    step(r, { type: "stop" }, 10);
    expect(step(r, { type: "exited", status: 0, signal: null, leftovers: true }, 20)).toContainEqual({ type: "watch-cgroup" });
    expect(step(r, { type: "grace-elapsed" }, 710)).toContainEqual({ type: "timer", ms: KILL_WAIT_MS, event: "kill-elapsed" });
    expect(step(r, { type: "kill-elapsed" }, 710 + KILL_WAIT_MS)).toContainEqual({ type: "give-up-run", pid: null, waitedMs: KILL_WAIT_MS });
    expect(r.state).toBe("failed");
  });

  test("a run killed for a failed check that outlived SIGKILL stayed starting (or running) for ever; it is failed", () => {
    const r = up({ ready: { notify: true, timeout_ms: 1000 } });
    step(r, { type: "ready-timeout" }, 1000);
    expect(step(r, { type: "grace-elapsed" }, 1700)).toContainEqual({ type: "timer", ms: KILL_WAIT_MS, event: "kill-elapsed" });
    step(r, { type: "kill-elapsed" }, 1700 + KILL_WAIT_MS);
    expect({ state: r.state, pid: r.pid }).toEqual({ state: "failed", pid: null });
  });

  test("the main service killed for a failed check and given up ends the machine as if SIGKILL had ended it", () => {
    const r = up({ main: true, ready: { notify: true, timeout_ms: 1000 } });
    step(r, { type: "ready-timeout" }, 1000);
    step(r, { type: "grace-elapsed" }, 1700);
    expect(step(r, { type: "kill-elapsed" }, 1700 + KILL_WAIT_MS)).toContainEqual({ type: "main-exited", status: 137, signal: 9 });
  });

  test("an exit before the final wait ends cancels it: the service stops as before", () => {
    const r = up();
    step(r, { type: "stop" }, 10);
    step(r, { type: "grace-elapsed" }, 710);
    expect(step(r, { type: "exited", status: 137, signal: 9 }, 720)).toContainEqual({ type: "cancel-timer" });
    expect(r.state).toBe("stopped");
  });
});

test("cgroups off, a service's process group kept populated by a zombie whose parent left the group (setsid) survives SIGKILL: `stop` never returned; it returns after grace + KILL_WAIT_MS with the service failed", async () => {
  // The main process M (group G) runs C in the background; C starts Z in G, then calls setsid()
  // (leaving G) and never reaps Z: Z's zombie keeps G populated, and no signal removes it.
  const argv = ["sh", "-c", `( sleep 0.1 & exec setsid sleep 1000 ) & trap 'exit 0' TERM; while :; do sleep 0.05; done`];
  const cfg = validateConfig({ services: [{ name: "svc", argv, no_new_privs: false, grace_ms: 300 }] });
  const reaper = new Reaper().start(20);
  const sup = new Supervisor(cfg.services, startOrder(cfg), reaper, process.env);
  const state = () => sup.list().find((s) => s.name === "svc")!;
  let group = 0;
  /** C: the parent of the zombie in G, in a session of its own. */
  let holder = 0;
  const zombieInGroup = () => listProcesses().find((p) => p.state === "Z" && groupOf(p.pid) === group);
  try {
    sup.startAll();
    const end = performance.now() + 10_000;
    while (group === 0 || !zombieInGroup()) {
      if (performance.now() > end) throw new Error("no zombie in the service's group");
      group = state().pid ?? 0;
      await Bun.sleep(20);
    }
    holder = zombieInGroup()!.ppid;
    const t0 = performance.now();
    const stopped = await Promise.race([sup.stop("svc").then(() => "returned"), Bun.sleep(300 + KILL_WAIT_MS + 3_000).then(() => "still waiting")]);
    expect(stopped).toBe("returned");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(300 + KILL_WAIT_MS - 50);
    expect(state().state).toBe("failed");
    // Given up, no longer watched: another stop returns at once.
    expect(await Promise.race([sup.stop("svc").then(() => "returned"), Bun.sleep(1_000).then(() => "still waiting")])).toBe("returned");
  } finally {
    // C (escaped with setsid, holding the zombie): its end frees the zombie.
    if (holder > 1 && processExists(holder)) process.kill(holder, "SIGKILL");
    await sup.stopAll();
    reaper.stop();
  }
}, 30_000);
