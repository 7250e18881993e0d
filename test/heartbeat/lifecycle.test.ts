// Heartbeat life cycle (state x event table), watchdog petting and magic close, model/layout agreement.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, ModelError } from "../../src/errors.ts";
import { heartbeatConfigSchema } from "../../src/config/heartbeat-schema.ts";
import { heartbeatStep } from "../../src/heartbeat/heartbeat-machine.ts";
import { Heartbeat } from "../../src/heartbeat/heartbeat.ts";
import { InterruptBank } from "../../src/heartbeat/interrupts.ts";
import { modelFrom, waitFor } from "./helpers.ts";
import { standInWatchdog } from "../harness/stand-in-watchdog.ts";

test("the state table ignores ticks after stop, and stop from idle settles without starting anything", () => {
  expect(heartbeatStep("idle", "stop")).toEqual({ state: "stopped", effects: ["settle"], ignored: false });
  expect(heartbeatStep("idle", "tick").ignored).toBe(true);
  expect(heartbeatStep("running", "stop").effects).toEqual(["cancel-timer", "stop-worker", "disarm-watchdog"]);
  expect(heartbeatStep("stopping", "tick")).toEqual({ state: "stopping", effects: [], ignored: false });
  expect(heartbeatStep("stopping", "stopped").state).toBe("stopped");
  expect(heartbeatStep("stopped", "start").state).toBe("running");
});

test("hysteresis: an interrupt raised at the threshold stays raised until the score falls below threshold - hysteresis", () => {
  const bank = new InterruptBank(["a"], Float32Array.of(0.5), Float32Array.of(0.2));
  const seq = [0.49, 0.5, 0.35, 0.31, 0.3, 0.29, 0.45, 0.5, Number.NaN];
  const edges = seq.map((s, i) => bank.update(Float32Array.of(s), i).map((e) => e.kind).join());
  expect(edges).toEqual(["", "raised", "", "", "", "cleared", "", "raised", "cleared"]);
  expect(bank.counts[0]).toBe(2);
});

test("the watchdog device is petted every beat and disarmed with the magic 'V' at stop", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vb-wd-"));
  const wd = standInWatchdog(dir); // a FIFO: the init refuses a regular file (it used to empty one)
  const dev = wd.path;
  try {
    const hb = new Heartbeat({ periodMs: 10, config: { watchdog: dev } });
    hb.start();
    await waitFor("20 beats", () => hb.stats().beats >= 20);
    await hb.stop();
    const s = hb.stats();
    await wd.done; // the magic close ends the reader's input
    const bytes = String.fromCharCode(...wd.bytes.map((b) => b.byte));
    expect(s.watchdog.pets).toBe(s.beats);
    // The lateness series behind jitterMs (a sparkline in `vector-boot top`): the newest beats, none negative.
    expect(s.latenessRecentMs.length).toBe(Math.min(64, s.beats));
    for (const x of s.latenessRecentMs) expect(x >= 0 && x <= s.jitterMs.max).toBe(true);
    expect(bytes).toBe(`${"\0".repeat(s.beats)}V`);
    expect(s.watchdog.armed).toBe(false);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test("a missing watchdog device is not an error: beats run without it", async () => {
  const hb = new Heartbeat({ periodMs: 10, config: { watchdog: "/nonexistent/watchdog" } });
  hb.start();
  await waitFor("beats", () => hb.stats().beats >= 3);
  await hb.stop();
  expect(hb.stats().watchdog).toEqual({ armed: false, pets: 0 });
  expect(hb.stats().errors).toBe(0);
});

test("a model whose cortex layout names a field hw.mmio does not have is refused before the heartbeat starts", () => {
  const model = modelFrom({
    cortexInputs: [{ name: "cpu.total", unit: "fraction 0..1", min: 0, max: 1 }, { name: "gpu.temperature", unit: "C", min: 0, max: 200 }],
    interrupts: [{ name: "x", terms: [{ input: "cpu.total", fireAt: 0.9, scale: 0.1 }], threshold: 0.5, hysteresis: 0.1 }],
    cortexHidden: 2, maxPixels: 4, pixelHidden: [8], pixelOutputs: 4,
  });
  expect(() => new Heartbeat({ periodMs: 100, model })).toThrow(ModelError);
  expect(() => new Heartbeat({ periodMs: 100, model })).toThrow(/gpu\.temperature/);
});

test("the config schema rejects an unknown action and fills defaults", () => {
  expect(heartbeatConfigSchema.safeParse({ interrupts: { cpu_pressure: { action: "reboot" } } }).success).toBe(false);
  expect(heartbeatConfigSchema.safeParse({ surprise: 1 }).success).toBe(false);
  const c = heartbeatConfigSchema.parse({ interrupts: { zombies: { action: "stop" } } });
  expect(c.interrupts.zombies).toEqual({ action: "stop", target: "cause", duty: 0.2, duty_period_ms: 100, hold_ms: 5000, repeat_ms: 0 });
  expect(c.watchdog).toBe("/dev/watchdog");
  expect(() => new Heartbeat({ periodMs: 100, config: { interrupts: { zombies: { action: "stop", duty: 5 } } } as never })).toThrow(ConfigError);
  expect(() => new Heartbeat({ periodMs: 100, config: { interrupts: { zombies: { action: "stop", duty: 5 } } } as never })).toThrow("heartbeat.interrupts.zombies.duty");
});

test("stop() is idempotent and start() after stop() beats again", async () => {
  const hb = new Heartbeat({ periodMs: 10, config: { watchdog: false } });
  hb.start();
  await waitFor("beats", () => hb.stats().beats >= 3);
  await Promise.all([hb.stop(), hb.stop()]);
  expect(hb.currentState).toBe("stopped");
  const n = hb.stats().beats;
  await Bun.sleep(50);
  expect(hb.stats().beats).toBe(n);
  hb.start();
  await waitFor("more beats", () => hb.stats().beats >= n + 3);
  await hb.stop();
});

test("beat numbers continue from firstBeat (live re-exec) and stop() resolves to the last one", async () => {
  const seen: number[] = [];
  const hb = new Heartbeat({ periodMs: 10, firstBeat: 1000, config: { watchdog: false }, onBeat: (b) => seen.push(b.n) });
  hb.start();
  await waitFor("beats", () => seen.length >= 5);
  const last = await hb.stop();
  // Numbering continues from 1000: every slot after it is a beat or counted missed (a loaded host may miss some).
  expect(seen[0]).toBeGreaterThan(1000);
  expect(seen.at(-1)! - 1000).toBe(seen.length + hb.stats().missed);
  expect(last).toBe(seen[seen.length - 1]!);
  expect(hb.stats().lastBeat).toBe(last);
});

test("the metabolic worker was created before beat 1 (0.5-0.7 ms of the main thread on the path to it), though beat 1 can never use its sample: beat 1 runs with no worker, the worker starts right after it and samples", async () => {
  const atBeat1: { starts: number; running: boolean }[] = [];
  const hb = new Heartbeat({
    periodMs: 50,
    config: { watchdog: false, sample_ms: 50 },
    onBeat: (b) => {
      if (b.slot === 1) atBeat1.push({ starts: hb.metabolic.stats().workerStarts, running: hb.metabolic.stats().running });
    },
  });
  hb.start();
  expect(hb.metabolic.stats().workerStarts).toBe(0);
  try {
    await waitFor("the worker's first samples", () => hb.metabolic.stats().samples >= 2);
    expect(atBeat1).toEqual([{ starts: 0, running: false }]);
    expect(hb.metabolic.stats().workerStarts).toBe(1);
  } finally {
    await hb.stop();
  }
});

test("a heartbeat stopped before its first beat never starts the metabolic worker; started again, it starts one after that beat", async () => {
  const hb = new Heartbeat({ periodMs: 50, config: { watchdog: false } });
  hb.start();
  await hb.stop();
  await new Promise((r) => setTimeout(r, 30));
  expect(hb.metabolic.stats().workerStarts).toBe(0);
  expect(hb.metabolic.stats().running).toBe(false);
  hb.start();
  try {
    await waitFor("a worker after beat 1", () => hb.metabolic.stats().running);
    await new Promise((r) => setTimeout(r, 30));
    expect(hb.metabolic.stats().workerStarts).toBe(1);
  } finally {
    await hb.stop();
  }
});
