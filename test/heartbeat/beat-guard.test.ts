// The beat's guard thread (native/beat-guard.c): a beat thread asleep in the event loop past its coarse timer (Bun's timer
// fired 3-5 ms late under load) opened its real-time window late; a guard that raised after a disarm, held a busy thread
// real-time, or outlived its heartbeat, would leave the whole init real-time.
import { expect, test } from "bun:test";
import { BeatClock } from "../../src/heartbeat/beat-clock.ts";
import { BeatPriority } from "../../src/heartbeat/beat-priority.ts";
import { Heartbeat, type BeatInfo } from "../../src/heartbeat/heartbeat.ts";
import { SCHED_RESET_ON_FORK, schedPolicySelf } from "../../src/sys/sleeper.ts";
import { threadsNamed } from "../harness/proc-stat.ts";

const FIFO = 1 | SCHED_RESET_ON_FORK;

const guardThreads = () => threadsNamed("self", "vb-beat-guard");

/** A window entered and left once (what arms the guard: it needs the privilege the window proved); always stopped and lowered after `fn`. */
async function withPrimed(fn: (p: BeatPriority) => Promise<void> | void): Promise<void> {
  const p = new BeatPriority(1);
  expect(p.raise()).toBe(true);
  p.lower();
  expect(schedPolicySelf()).toBe(0);
  try {
    await fn(p);
  } finally {
    p.stopGuard();
    p.lower();
  }
}

async function waitUntil(ok: () => boolean): Promise<void> {
  const until = performance.now() + 10_000;
  while (!ok()) {
    if (performance.now() > until) throw new Error("timed out");
    await Bun.sleep(5);
  }
}

const block = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

test("with no timer to wake it, the event loop is woken at the armed time by the guard, its thread already SCHED_FIFO (root)", async () => {
  await withPrimed(async (p) => {
    const t0 = performance.now();
    const woke = await new Promise<{ afterMs: number; policy: number }>((resolve, reject) => {
      const fallback = setTimeout(() => reject(new Error("the guard never woke the event loop")), 5_000);
      p.armIn(30, 1_000, () => {
        clearTimeout(fallback);
        resolve({ afterMs: performance.now() - t0, policy: schedPolicySelf() });
        return true;
      });
    });
    expect(woke.policy).toBe(FIFO);
    expect(woke.afterMs).toBeGreaterThanOrEqual(29.9);
    expect(woke.afterMs).toBeLessThan(1_000);
    expect(p.guardState).toBe("1 raises, 1 beats started, 0 lowered");
    expect(guardThreads().map((g) => g.policy)).toEqual([1]);
    p.disarm();
    p.leave(false);
    expect(schedPolicySelf()).toBe(0);
    p.stopGuard();
    expect(guardThreads()).toEqual([]);
    expect(p.guardState).toBe("1 raises, 1 beats started, 0 lowered");
  });
});

test("a disarmed guard raises nothing: past the armed time the thread is still SCHED_OTHER and nothing was woken", async () => {
  await withPrimed(async (p) => {
    let woken = 0;
    p.armIn(20, 1_000, () => (woken++, true));
    p.disarm();
    await Bun.sleep(80);
    expect({ policy: schedPolicySelf(), woken, guard: p.guardState }).toEqual({ policy: 0, woken: 0, guard: "0 raises, 0 beats started, 0 lowered" });
  });
});

test("a thread busy in a long callback when the guard raised it is lowered again after the hold, not left real-time to the callback's end", async () => {
  await withPrimed((p) => {
    p.armIn(5, 10, () => false);
    block(8); // raised at 5 ms
    expect(schedPolicySelf()).toBe(FIFO);
    block(30); // lowered at 15 ms
    expect(schedPolicySelf()).toBe(0);
    expect(p.guardState).toBe("1 raises, 0 beats started, 1 lowered");
  });
});

test("a guard stopped after it raised the thread (a heartbeat stopped inside the guard window) lowers it: the init does not stay real-time", async () => {
  await withPrimed((p) => {
    p.armIn(5, 1_000, () => false);
    block(40); // the raise lands while this thread is busy, as it would in an event-loop callback
    expect(schedPolicySelf()).toBe(FIFO);
    p.stopGuard();
    expect(schedPolicySelf()).toBe(0);
    expect(guardThreads()).toEqual([]);
  });
});

/** A stand-in for BeatPriority that hands the clock's wake to the test instead of a guard thread. */
class WakeByHand {
  wake: (() => boolean) | null = null;
  raise = () => false;
  disarm = () => void (this.wake = null);
  leave = () => {};
  stopGuard = () => {};
  armIn = (_inMs: number, _holdMs: number, wake: () => boolean) => void (this.wake = wake);
}

test("the guard's wake starts a beat whose timer is late, never before its due time; a wake read before the guard window (a stale byte) starts nothing", async () => {
  const hand = new WakeByHand();
  const clock = new BeatClock(2, null, hand as unknown as BeatPriority);
  const starts: number[] = [];
  const due = performance.now() + 200; // the coarse timer would fire at 198 ms
  clock.at(due, (t) => starts.push(t));
  try {
    expect(hand.wake!()).toBe(false); // 200 ms early: not this beat's wake
    expect(starts).toEqual([]);
    // To the guard's raise time: well ahead of the coarse timer on the event loop, then blocking it (the timer cannot fire).
    await Bun.sleep(due - 30 - performance.now());
    expect(starts).toEqual([]);
    while (performance.now() < due - 2.5);
    expect(hand.wake!()).toBe(true);
    expect(starts.length).toBe(1);
    expect(starts[0]!).toBeGreaterThanOrEqual(due);
    expect(starts[0]! - due).toBeLessThan(50);
  } finally {
    clock.cancel();
  }
  await Bun.sleep(20);
  expect(starts.length).toBe(1); // the timer it replaced never fires
});

test("a heartbeat stopped from inside its own beat schedules nothing more: no guard thread is started after the stop", async () => {
  let n = 0;
  let stopped: Promise<number> | null = null;
  const hb = new Heartbeat({ periodMs: 10, config: { watchdog: false, beat_fifo_priority: 1 }, onBeat: () => void (++n === 5 && (stopped = hb.stop())) });
  hb.start();
  await waitUntil(() => stopped !== null);
  await stopped;
  await Bun.sleep(50);
  expect({ beats: n, guards: guardThreads(), policy: schedPolicySelf() }).toEqual({ beats: 5, guards: [], policy: 0 });
});

test("a running heartbeat's event loop is real-time only inside a guard window (after the raise before the next beat), and a stopped heartbeat leaves no guard thread", async () => {
  const beats: BeatInfo[] = [];
  const samples: { t: number; policy: number }[] = [];
  const hb = new Heartbeat({ periodMs: 10, config: { watchdog: false, beat_fifo_priority: 1, guard_ms: 2 }, onBeat: (b) => void beats.push(b) });
  hb.start();
  try {
    while (beats.length < 150) {
      await new Promise((r) => setTimeout(r, 0.3));
      samples.push({ t: performance.now(), policy: schedPolicySelf() });
    }
    expect(guardThreads().map((g) => g.policy)).toEqual([1]);
  } finally {
    await hb.stop();
  }
  expect(hb.stats().wake.beatGuard).toMatch(/^\d+ raises, \d+ beats started, \d+ lowered$/);
  expect(guardThreads()).toEqual([]);
  expect(schedPolicySelf()).toBe(0);
  // The guard raises guard_ms + 0.5 ms before the next due time (the previous beat's due + a period), less 1 ms of its own
  // wake-up slack; a stall only makes a sample later, never earlier.
  const outside = samples.filter((s) => s.policy !== 0).filter((s) => {
    const prev = beats.filter((b) => b.startMs <= s.t).at(-1);
    return prev !== undefined && s.t < prev.dueMs + 10 - 3.5;
  });
  expect(outside).toEqual([]);
  expect(samples.filter((s) => s.policy === 0).length).toBeGreaterThan(100);
}, 30_000);
