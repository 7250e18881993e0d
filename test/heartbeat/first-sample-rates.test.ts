// A new metabolic worker's first sample has no rates (CPU fractions read 0): it must not clear a raised interrupt.
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Heartbeat } from "../../src/heartbeat/heartbeat.ts";
import { clearFault, injectFault } from "./fault-file.ts";
import { testModel, waitFor } from "./helpers.ts";

const faultWorker = new URL("./fault-worker.ts", import.meta.url).href;
clearFault();

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A fake /proc whose CPUs are always busy: /proc/stat rewritten every 5 ms, busy ticks only (cpu.total = 1). */
function busyProc(): string {
  const proc = mkdtempSync(join(tmpdir(), "vb-busy-"));
  let ticks = 1000;
  const write = () => {
    ticks += 10;
    writeFileSync(join(proc, "stat.tmp"), `cpu  ${ticks} 0 0 100 0 0 0 0\ncpu0 ${ticks} 0 0 100 0 0 0 0\n`);
    renameSync(join(proc, "stat.tmp"), join(proc, "stat"));
  };
  write();
  const timer = setInterval(write, 5);
  cleanups.push(() => {
    clearInterval(timer);
    rmSync(proc, { recursive: true, force: true });
  });
  return proc;
}

const model = () => testModel([{ name: "busy", input: "cpu.total", fireAt: 0.8, scale: 0.05 }]);

function run(opts: ConstructorParameters<typeof Heartbeat>[0]): Heartbeat {
  const hb = new Heartbeat(opts);
  hb.start();
  cleanups.push(async () => void (await hb.stop()));
  return hb;
}

test("a raised interrupt on a CPU rate was cleared by the first sample of a restarted metabolic worker (rates read 0) and raised again: its shutdown was requested twice", async () => {
  const reasons: string[] = [];
  // Sampling slower than the beat: every sample, the first of the new worker too, is read by several beats.
  const hb = run({ periodMs: 20, model: model(), workerUrl: faultWorker, onShutdown: (r) => reasons.push(r), config: { watchdog: false, sample_ms: 200, smoothing_ms: 0, proc_root: busyProc(), interrupts: { busy: { action: "shutdown" } } } });
  await waitFor("the interrupt", () => hb.stats().interrupts[0]!.raised === 1, 20_000);
  expect(reasons.length).toBe(1);
  injectFault("crash injected by the test");
  await waitFor("the restarted worker", () => hb.stats().metabolic.workerStarts === 2, 20_000);
  const n = hb.stats().metabolic.samples;
  await waitFor("samples of the new worker", () => hb.stats().metabolic.samples >= n + 4, 20_000);
  expect(hb.stats().interrupts[0]).toEqual({ name: "busy", active: true, raised: 1 });
  expect(hb.records().filter((r) => r.kind === "cleared")).toEqual([]);
  expect(reasons.length).toBe(1);
}, 60_000);

test("an interrupt on a CPU rate carried across a live re-exec was cleared by the new image's first sample (rates read 0) and raised again: its shutdown was requested again", async () => {
  const reasons: string[] = [];
  const hb = run({
    periodMs: 20,
    model: model(),
    onShutdown: (r) => reasons.push(r),
    interrupts: [{ name: "busy", raisedAgoMs: 5000, actedAgoMs: 5000, raised: 1 }],
    config: { watchdog: false, sample_ms: 200, smoothing_ms: 0, proc_root: busyProc(), interrupts: { busy: { action: "shutdown" } } },
  });
  await waitFor("samples", () => hb.stats().metabolic.samples >= 4, 20_000);
  expect(hb.stats().interrupts[0]).toEqual({ name: "busy", active: true, raised: 1 });
  expect(hb.records().filter((r) => r.kind === "cleared")).toEqual([]);
  expect(reasons).toEqual([]);
}, 60_000);
