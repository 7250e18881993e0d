// The beat schedule: never early, anchored to an absolute clock (no drift), jitter reported.
import { expect, test } from "bun:test";
import { BeatClock } from "../../src/heartbeat/beat-clock.ts";
import { type BeatInfo, Heartbeat } from "../../src/heartbeat/heartbeat.ts";

test("the beat clock never calls back before its due time, even where setTimeout would fire early", async () => {
  const clock = new BeatClock(2);
  let rnd = 12345;
  const next = () => ((rnd = (rnd * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const early: number[] = [];
  const late: number[] = [];
  for (let i = 0; i < 150; i++) {
    const due = performance.now() + 1 + next() * 6;
    const start = await new Promise<number>((resolve) => clock.at(due, resolve));
    (start < due ? early : late).push(start - due);
  }
  expect(early).toEqual([]);
  expect(late.length).toBe(150);
});

test("300 beats at 20 ms do not drift: beat N starts within one period of N x period, never before", async () => {
  const beats: BeatInfo[] = [];
  const hb = new Heartbeat({ periodMs: 20, config: { watchdog: false }, onBeat: (b) => beats.push(b) });
  const t0 = performance.now();
  hb.start();
  const deadline = performance.now() + 20_000;
  while (beats.length < 300 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await hb.stop();
  const s = hb.stats();
  expect(beats.length).toBeGreaterThanOrEqual(300);
  // Every beat is anchored to its slot: due = origin + n * period, started in [due, due + period).
  const origin = beats[0]!.dueMs - beats[0]!.n * 20;
  expect(origin).toBeGreaterThanOrEqual(t0);
  for (const b of beats) {
    expect(b.dueMs).toBeCloseTo(origin + b.n * 20, 6);
    expect(b.startMs).toBeGreaterThanOrEqual(b.dueMs);
    expect(b.startMs - b.dueMs).toBeLessThan(20);
  }
  // Slots are consecutive except skipped ones, which are counted (never made up with a burst).
  const last = beats[beats.length - 1]!;
  expect(s.beats + s.missed).toBe(last.n);
  expect(s.missed).toBeLessThanOrEqual(3); // an idle machine misses none; allow a rare stall of a shared CI host
  // Stats report the jitter of the same beats.
  const lates = beats.map((b) => b.lateMs).sort((a, b) => a - b);
  expect(s.jitterMs.max).toBeCloseTo(lates[lates.length - 1]!, 6);
  expect(s.jitterMs.p50).toBeGreaterThanOrEqual(0);
  expect(s.jitterMs.p50).toBeLessThanOrEqual(s.jitterMs.p99);
  expect(s.jitterMs.p99).toBeLessThanOrEqual(s.jitterMs.max);
  expect(s.tickMs.max).toBeGreaterThan(0);
  console.log(`300 beats @20 ms: jitter p50 ${s.jitterMs.p50.toFixed(3)} p99 ${s.jitterMs.p99.toFixed(3)} max ${s.jitterMs.max.toFixed(3)} ms, missed ${s.missed}, tick mean ${(s.partsMs.read + s.partsMs.watchdog).toFixed(3)} ms`);
}, 30_000);

test("a beat stalled for several periods is recorded as missed slots, not made up with a burst of beats", async () => {
  const beats: BeatInfo[] = [];
  const hb = new Heartbeat({
    periodMs: 20,
    config: { watchdog: false },
    onBeat: (b) => {
      beats.push(b);
      if (beats.length === 5) {
        const end = performance.now() + 75; // the main thread is stuck for ~3.75 periods
        while (performance.now() < end) {}
      }
    },
  });
  hb.start();
  await new Promise((r) => setTimeout(r, 400));
  await hb.stop();
  const s = hb.stats();
  expect(s.missed).toBeGreaterThanOrEqual(2);
  expect(s.beats + s.missed).toBe(beats[beats.length - 1]!.slot);
  // One beat per slot window, each within its window: no catch-up burst after the stall.
  for (let i = 1; i < beats.length; i++) {
    expect(beats[i]!.slot).toBeGreaterThan(beats[i - 1]!.slot);
    expect(beats[i]!.lateMs).toBeGreaterThanOrEqual(0);
    expect(beats[i]!.lateMs).toBeLessThan(20);
  }
  // Hence never more than two beats in any one period (the late one, then the next on time).
  for (let i = 2; i < beats.length; i++) expect(beats[i]!.startMs - beats[i - 2]!.startMs).toBeGreaterThan(20);
});
