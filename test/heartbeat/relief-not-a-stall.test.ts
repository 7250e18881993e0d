// relieve_memory writes drop_caches and compact_memory on the metabolic worker's thread; under memory pressure that can take seconds, past the stale limit: the worker was taken for stalled, restarted, counted as crashed, every throttle released with it.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Heartbeat } from "../../src/heartbeat/heartbeat.ts";
import { setLogSink } from "../../src/log.ts";
import { mkfifo } from "../harness/fifo.ts";
import { tempDir } from "../pid1/harness.ts";
import { testModel, waitFor } from "./helpers.ts";

afterAll(() => setLogSink(null));

test("a relief of memory that takes seconds (drop_caches as a FIFO nobody reads) is no stall: no restart, no crash, and the worker samples again once it is done", async () => {
  const lines: string[] = [];
  setLogSink((l) => lines.push(l));
  // A /proc whose meminfo says 97.5 % used; the rest the real one's.
  const proc = join(tempDir("vb-relief-"), "proc");
  mkdirSync(join(proc, "sys/vm"), { recursive: true });
  for (const f of ["stat", "loadavg", "diskstats", "self", "pressure", "net"]) symlinkSync(`/proc/${f}`, join(proc, f));
  writeFileSync(join(proc, "meminfo"), "MemTotal: 8000000 kB\nMemFree: 100000 kB\nMemAvailable: 200000 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n");
  const dropCaches = mkfifo(join(proc, "sys/vm"), "drop_caches");
  writeFileSync(join(proc, "sys/vm/compact_memory"), "");
  const model = testModel([{ name: "memory_pressure", input: "mem.used_frac", fireAt: 0.9, scale: 0.05 }]);
  const hb = new Heartbeat({ periodMs: 20, model, config: { watchdog: false, proc_root: proc, sample_ms: 20, stale_periods: 2, interrupts: { memory_pressure: { action: "relieve_memory" } } } });
  hb.start();
  let reader: ReturnType<typeof Bun.spawn> | null = null;
  try {
    await waitFor("the relief asked", () => lines.some((l) => l.includes("memory_pressure") && l.includes("relieve")), 20_000);
    // The worker is now blocked opening drop_caches: 4 s, past the 1 s stale limit.
    await Bun.sleep(4_000);
    expect(lines.filter((l) => l.includes("metabolic worker stalled"))).toEqual([]);
    expect(hb.stats().metabolic.workerCrashes).toBe(0);
    // The write goes through: the worker answers and samples again.
    reader = Bun.spawn(["cat", dropCaches], { stdout: "ignore" });
    const n = hb.stats().metabolic.samples;
    await waitFor("samples again", () => hb.stats().metabolic.samples > n + 3, 10_000);
    expect(hb.stats().metabolic.workerStarts).toBe(1);
  } finally {
    reader ??= Bun.spawn(["cat", dropCaches], { stdout: "ignore" });
    await hb.stop();
    reader.kill();
  }
}, 60_000);
