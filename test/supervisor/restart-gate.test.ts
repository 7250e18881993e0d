// restart of a service its start gate refuses (a fleet singleton that lost its lead, an after-quorum service below the quorum) stopped it first, then refused the start: left stopped.
import { expect, test } from "bun:test";
import { startOrder, validateConfig } from "../../src/config/load.ts";
import { NotNowError } from "../../src/errors.ts";
import { Reaper } from "../../src/init/reaper.ts";
import { Supervisor } from "../../src/supervisor/supervisor.ts";

async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

test("restart of a running service whose start the gate refuses stopped it and then refused the start, leaving it stopped: refused first (NotNow), the service keeps running", async () => {
  const cfg = validateConfig({ services: [{ name: "svc", argv: ["sleep", "1000"], no_new_privs: false }] });
  const reaper = new Reaper().start(20);
  const sup = new Supervisor(cfg.services, startOrder(cfg), reaper, process.env);
  const state = () => sup.list().find((s) => s.name === "svc")!;
  try {
    sup.startAll();
    await until(() => state().state === "running", 10_000, "svc running");
    const pid = state().pid;
    let refuse = true;
    sup.setStartGate(() => (refuse ? "not the node elected for it" : null));
    const e = await sup.restart("svc").then(() => null, (err: unknown) => err);
    expect(e).toBeInstanceOf(NotNowError);
    expect(String(e)).toContain("svc: not the node elected for it");
    expect({ state: state().state, pid: state().pid }).toEqual({ state: "running", pid });
    refuse = false;
    await sup.restart("svc");
    expect(state().state).toBe("running");
    expect(state().pid).not.toBe(pid);
    await sup.stopAll();
  } finally {
    reaper.stop();
  }
}, 30_000);
