// `vector-boot stop/start NAME` on services that hold no process: a failed one stays failed; a start is a fresh run with a fresh storm count.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";

afterEach(killLeftovers);

async function boot(services: unknown[]) {
  const dir = tempDir();
  const sock = join(dir, "run", "control");
  const cfg = writeJson(dir, "config.json", { pixel_test: false, run_dir: join(dir, "run"), state_dir: join(dir, "state"), services });
  const run = start(["boot", ...bootArgs(), "--config", cfg]);
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "the control socket");
  const list = async () => JSON.parse((await runShippedAsync(["services", "--json", "--socket", sock])).out) as Array<{ name: string; state: string; lastStatus: number | null }>;
  const ctl = (...args: string[]) => runShippedAsync([...args, "--socket", sock]);
  return { run, list, ctl };
}

test("stop of a service that had failed (restart storm) or exited said 'stopped' and turned it 'stopped': now it says 'not running (failed)' and it stays failed, its last status kept", async () => {
  const { run, list, ctl } = await boot([
    { name: "crash", restart: "on-failure", backoff_initial_ms: 20, storm_max: 1, argv: ["sh", "-c", "exit 3"] },
    { name: "done", restart: "never", argv: ["sh", "-c", "exit 0"] },
  ]);
  const state = async (n: string) => (await list()).find((s) => s.name === n)!;
  await waitFor(async () => (await state("crash")).state === "failed" && (await state("done")).state === "exited", 15_000, "crash failed, done exited", { pollMs: 100 });
  const stopCrash = await ctl("stop", "crash");
  expect(stopCrash.code).toBe(0);
  expect(stopCrash.out).toBe("crash: not running (failed)\n");
  expect(await state("crash")).toMatchObject({ state: "failed", lastStatus: 3 });
  expect((await ctl("stop", "done")).out).toBe("done: not running (exited)\n");
  expect(JSON.parse((await ctl("stop", "done", "--json")).out)).toMatchObject({ name: "done", state: "exited", already: true });
  expect((await state("done")).state).toBe("exited");
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 60_000);

test("a service stopped by hand in its crash loop and started again kept its old restarts in the storm count: it was given up after one restart (of three); now a start is a fresh count", async () => {
  // Back-off 100, 500, 2500 ms; storm_max 3: given up at the fourth exit.
  const { run, ctl } = await boot([{ name: "loop", restart: "on-failure", backoff_initial_ms: 100, backoff_factor: 5, storm_max: 3, argv: ["sh", "-c", "exit 1"] }]);
  await waitFor(() => run.log().includes("backoff_ms=2500"), 15_000, "the third back-off (two restarts made)");
  expect((await ctl("stop", "loop")).out).toBe("loop: stopped (stopped)\n");
  const mark = run.log().length;
  expect((await ctl("start", "loop")).code).toBe(0);
  await waitFor(() => run.log().slice(mark).includes("restart storm"), 20_000, "the storm limit after the start");
  const after = run.log().slice(mark);
  expect(after.match(/restarting after back-off service=loop/g)?.length).toBe(3);
  expect(after).toContain("restart storm: 3 restarts within 60000 ms (limit 3); giving up service=loop");
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 60_000);
