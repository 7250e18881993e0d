// The window between the shutdown's start and its services phase (later phases stop first): what a service's exit and a back-off timer do in it.
import { expect, test } from "bun:test";
import { startOrder, validateConfig } from "../../src/config/load.ts";
import { Reaper } from "../../src/init/reaper.ts";
import type { MainExit } from "../../src/supervisor/service-runner.ts";
import { Supervisor } from "../../src/supervisor/supervisor.ts";

async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

test("once the shutdown began, the main service's own exit (code 3) was taken as its stop and no longer decided the machine's status, and a service whose back-off ended was started again", async () => {
  const cfg = validateConfig({
    services: [
      { name: "app", main: true, argv: ["sh", "-c", "trap 'exit 3' USR1; while :; do sleep 0.05; done"], no_new_privs: false },
      { name: "bo", restart: "always", backoff_initial_ms: 400, backoff_factor: 1, argv: ["sh", "-c", "exit 1"], no_new_privs: false },
    ],
  });
  const reaper = new Reaper().start(20);
  const exits: MainExit[] = [];
  const sup = new Supervisor(cfg.services, startOrder(cfg), reaper, process.env, { onMainExit: (e) => exits.push(e) });
  const state = (n: string) => sup.list().find((s) => s.name === n)!;
  try {
    sup.startAll();
    await until(() => state("app").pid !== null && state("bo").state === "backoff", 10_000, "app running and bo in back-off");
    const restarts = state("bo").restarts;
    sup.beginShutdown();
    process.kill(state("app").pid!, "SIGUSR1");
    await until(() => exits.length === 1, 10_000, "the main service's exit");
    expect(exits[0]).toMatchObject({ status: 3, signal: null });
    // bo's back-off ends (400 ms) before the services phase: it is not started again.
    await until(() => state("bo").state === "stopped", 10_000, "bo stopped at the end of its back-off");
    expect(state("bo").pid).toBeNull();
    expect(state("bo").restarts).toBe(restarts);
    await sup.stopAll();
  } finally {
    reaper.stop();
  }
}, 30_000);
