// The beat's guard thread (native/beat-guard.c): a beat thread asleep in the event loop past its coarse timer (Bun's timer
// fired 3-5 ms late under load) opened its real-time window late; a guard that raised after a disarm, or outlived its
// heartbeat, would leave the whole init real-time.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { BeatPriority } from "../../src/heartbeat/beat-priority.ts";
import { Heartbeat, type BeatInfo } from "../../src/heartbeat/heartbeat.ts";
import { SCHED_RESET_ON_FORK, schedPolicySelf } from "../../src/sys/sleeper.ts";

const FIFO = 1 | SCHED_RESET_ON_FORK;

/** Threads of this process named `comm`, with their scheduling policy (field 41 of /proc/.../stat). */
function threadsNamed(comm: string): { tid: number; policy: number }[] {
  const out: { tid: number; policy: number }[] = [];
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim() !== comm) continue;
      const st = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      out.push({ tid: Number(tid), policy: Number(st.slice(st.lastIndexOf(")") + 2).split(" ")[38]) });
    } catch {
      // the thread ended while listed
    }
  }
  return out;
}

/** A window entered and left once: what arms the guard (it needs the privilege the window proved). */
function primed(): BeatPriority {
  const p = new BeatPriority(1);
  expect(p.raise()).toBe(true);
  p.lower();
  expect(schedPolicySelf()).toBe(0);
  return p;
}

test("with no timer to wake it, the event loop is woken at the armed time by the guard, its thread already SCHED_FIFO (root)", async () => {
  const p = primed();
  const t0 = performance.now();
  const woke = await new Promise<{ afterMs: number; policy: number }>((resolve, reject) => {
    const fallback = setTimeout(() => reject(new Error("the guard never woke the event loop")), 5_000);
    p.armIn(30, () => {
      clearTimeout(fallback);
      resolve({ afterMs: performance.now() - t0, policy: schedPolicySelf() });
    });
  });
  expect(woke.policy).toBe(FIFO);
  expect(woke.afterMs).toBeGreaterThanOrEqual(29.9);
  expect(woke.afterMs).toBeLessThan(1_000);
  expect(p.guardState).toBe("1 raises");
  const guard = threadsNamed("vb-beat-guard");
  expect(guard.map((g) => g.policy)).toEqual([1]);
  p.leave(false);
  expect(schedPolicySelf()).toBe(0);
  p.stopGuard();
  expect(threadsNamed("vb-beat-guard")).toEqual([]);
  expect(p.guardState).toBe("1 raises");
});

test("a disarmed guard raises nothing: past the armed time the thread is still SCHED_OTHER and nothing was woken", async () => {
  const p = primed();
  let woken = 0;
  p.armIn(20, () => woken++);
  p.disarm();
  await Bun.sleep(80);
  expect({ policy: schedPolicySelf(), woken, guard: p.guardState }).toEqual({ policy: 0, woken: 0, guard: "0 raises" });
  p.stopGuard();
});

test("a guard stopped after it raised the thread (a heartbeat stopped inside the guard window) lowers it: the init does not stay real-time", async () => {
  const p = primed();
  p.armIn(5, () => {});
  // Blocked past the armed time: the raise lands while this thread is busy, as it would in an event-loop callback.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 40);
  expect(schedPolicySelf()).toBe(FIFO);
  p.stopGuard();
  expect(schedPolicySelf()).toBe(0);
  expect(threadsNamed("vb-beat-guard")).toEqual([]);
});

test("a running heartbeat's event loop is real-time only inside a guard window (the last guard_ms + 0.5 ms before a beat), and a stopped heartbeat leaves no guard thread", async () => {
  const beats: BeatInfo[] = [];
  const samples: { t: number; policy: number }[] = [];
  const hb = new Heartbeat({ periodMs: 10, config: { watchdog: false, beat_fifo_priority: 1, guard_ms: 2 }, onBeat: (b) => void beats.push(b) });
  hb.start();
  while (beats.length < 150) {
    await new Promise((r) => setTimeout(r, 0.3));
    samples.push({ t: performance.now(), policy: schedPolicySelf() });
  }
  expect(threadsNamed("vb-beat-guard").map((g) => g.policy)).toEqual([1]);
  await hb.stop();
  expect(hb.stats().wake.beatGuard).toMatch(/^\d+ raises$/);
  expect(threadsNamed("vb-beat-guard")).toEqual([]);
  expect(schedPolicySelf()).toBe(0);
  const dues = beats.map((b) => b.dueMs);
  // A real-time sample must lie in a guard window: the next due time at most 2.5 ms (plus the guard thread's own wake-up slack) ahead.
  const outside = samples.filter((s) => s.policy !== 0).filter((s) => !dues.some((d) => d >= s.t && d - s.t <= 3.5));
  expect(outside).toEqual([]);
  expect(samples.filter((s) => s.policy === 0).length).toBeGreaterThan(100);
}, 30_000);
