// A stop asked while a restart of the same service was stopping it: the restart then started a new run, and the stop was answered with that run's state (two operators, or an interrupt's restart and an operator's stop).
import { expect, test } from "bun:test";
import { startOrder, validateConfig } from "../../src/config/load.ts";
import { NotNowError } from "../../src/errors.ts";
import { Reaper } from "../../src/init/reaper.ts";
import { Supervisor } from "../../src/supervisor/supervisor.ts";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

const dir = mkdtempSync(join(tmpdir(), "vb-stop-during-restart-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

/**
 * The service takes a while to stop (it traps SIGTERM and exits 0.3 s later): the window in which
 * the second request arrives. Each run creates a file once its trap is in place (a SIGTERM before
 * that ends it at once).
 */
function boot(name: string) {
  const trapped = join(dir, name);
  const argv = ["sh", "-c", `trap 'sleep 0.3; exit 0' TERM; echo x >> ${trapped}; while :; do sleep 0.05; done`];
  const cfg = validateConfig({ services: [{ name: "svc", argv, no_new_privs: false, grace_ms: 10_000 }] });
  const reaper = new Reaper().start(20);
  const sup = new Supervisor(cfg.services, startOrder(cfg), reaper, process.env);
  const state = () => sup.list().find((s) => s.name === "svc")!;
  const running = () => until(() => state().state === "running" && existsSync(trapped), 10_000, "svc running with its trap");
  return { sup, reaper, state, running };
}

test("a stop asked while a restart was stopping the service was overridden: the restart started a new run afterwards and the later stop was answered 'running'", async () => {
  const { sup, reaper, state, running } = boot("a");
  try {
    sup.startAll();
    await running();
    const restart = sup.restart("svc").then(() => null, (e: unknown) => e);
    await until(() => state().state === "stopping", 10_000, "svc stopping (the restart's stop)");
    const stop = sup.stop("svc");
    const [restartError] = await Promise.all([restart, stop]);
    // The later request wins: the service stays stopped, and the restart says why it did not start it.
    expect({ state: state().state, pid: state().pid }).toEqual({ state: "stopped", pid: null });
    expect(restartError).toBeInstanceOf(NotNowError);
    expect(String(restartError)).toContain("a stop asked during the restart");
    // No window to wait out: the restart starts its new run before it settles (awaited above), and a
    // start due later would be a back-off, which is a state of its own ("backoff"), not "stopped".
  } finally {
    await sup.stopAll();
    reaper.stop();
  }
}, 30_000);

test("two restarts of one service at once: both are answered, and one new run is started, not two", async () => {
  const { sup, reaper, state, running } = boot("b");
  try {
    sup.startAll();
    await running();
    const first = state().pid;
    const a = sup.restart("svc").then(() => null, (e: unknown) => e);
    await until(() => state().state === "stopping", 10_000, "svc stopping");
    const b = sup.restart("svc").then(() => null, (e: unknown) => e);
    expect(await Promise.all([a, b])).toEqual([null, null]);
    await until(() => state().state === "running", 10_000, "svc running again");
    expect(state().pid).not.toBe(first);
    expect(state().restarts).toBeLessThanOrEqual(1);
  } finally {
    await sup.stopAll();
    reaper.stop();
  }
}, 30_000);
