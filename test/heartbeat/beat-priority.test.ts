// The beat thread's real-time window (heartbeat.beat_fifo_priority): a thread left SCHED_FIFO after its tick would run the
// whole init (services, control, acks) real-time, and a service spawned during a tick would be born real-time.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { type BeatInfo, Heartbeat } from "../../src/heartbeat/heartbeat.ts";
import { schedOf } from "../harness/proc-stat.ts";
import { splitStat, statField } from "../../src/util/proc-stat.ts";

const self = () => schedOf("self");

test("beat_fifo_priority 1 (root): the beat thread is SCHED_FIFO in its tick and SCHED_OTHER between ticks (but in the guard window before one), and a process spawned in a tick starts SCHED_OTHER", async () => {
  const inTick: { policy: number; rtprio: number }[] = [];
  const child: { policy: number; rtprio: number }[] = [];
  const between: { t: number; policy: number; rtprio: number }[] = [];
  const beats: BeatInfo[] = [];
  const hb = new Heartbeat({
    periodMs: 10,
    config: { watchdog: false, beat_fifo_priority: 1 },
    onBeat: (b) => {
      beats.push(b);
      inTick.push(self());
      if (beats.length % 10 === 0) {
        const line = splitStat(Bun.spawnSync(["cat", "/proc/self/stat"]).stdout.toString())!;
        child.push({ policy: Number(statField(line, 41)), rtprio: Number(statField(line, 40)) });
      }
    },
  });
  expect(self().policy).toBe(0);
  hb.start();
  // The event loop between beats: timers, I/O callbacks (everything the init does besides the tick).
  while (beats.length < 60) {
    await new Promise((r) => setTimeout(r, 1));
    between.push({ t: performance.now(), ...self() });
  }
  await hb.stop();
  expect(hb.stats().wake.beatFifo).toBe("SCHED_FIFO 1");
  expect(new Set(inTick.map((s) => `${s.policy}/${s.rtprio}`))).toEqual(new Set(["1/1"]));
  expect(between.length).toBeGreaterThan(30);
  // Real-time between ticks only where the guard thread raised the thread: from guard_ms + 0.5 ms before the next due time
  // (test/heartbeat/beat-guard.test.ts), less 1 ms of the guard's wake-up slack; a stall only makes a sample later.
  const early = between.filter((s) => {
    const prev = beats.filter((b) => b.startMs <= s.t).at(-1);
    return s.policy !== 0 && prev !== undefined && s.t < prev.dueMs + 10 - 3.5;
  });
  expect(early).toEqual([]);
  expect(child.length).toBeGreaterThan(3);
  expect(child.filter((s) => s.policy !== 0 || s.rtprio !== 0)).toEqual([]);
  expect(self()).toEqual({ policy: 0, rtprio: 0 });
}, 30_000);

test("beat_fifo_priority 0: the beat thread never leaves SCHED_OTHER", async () => {
  const inTick: number[] = [];
  const hb = new Heartbeat({ periodMs: 10, config: { watchdog: false, beat_fifo_priority: 0 }, onBeat: () => inTick.push(self().policy) });
  hb.start();
  while (inTick.length < 20) await new Promise((r) => setTimeout(r, 5));
  await hb.stop();
  expect(hb.stats().wake.beatFifo).toBe("off");
  expect(new Set(inTick)).toEqual(new Set([0]));
}, 30_000);

test("with no beat_fifo_priority configured, a root init's beats take the window at priority 1 (the default)", async () => {
  const inTick: string[] = [];
  const hb = new Heartbeat({ periodMs: 10, config: { watchdog: false }, onBeat: () => inTick.push(`${self().policy}/${self().rtprio}`) });
  hb.start();
  while (inTick.length < 10) await new Promise((r) => setTimeout(r, 5));
  await hb.stop();
  expect(hb.stats().wake.beatFifo).toBe("SCHED_FIFO 1");
  expect(new Set(inTick)).toEqual(new Set(["1/1"]));
}, 30_000);

test("a beat thread that lost CAP_SYS_NICE inside its window (as one allowed SCHED_FIFO by RLIMIT_RTPRIO alone) still leaves it: SCHED_OTHER with SCHED_RESET_ON_FORK kept, not stuck SCHED_FIFO", () => {
  const r = Bun.spawnSync([process.execPath, join(import.meta.dir, "lower-without-nice.ts")], { stdout: "pipe", stderr: "pipe" });
  expect(r.stderr.toString()).not.toContain("could not leave SCHED_FIFO");
  const reset = 0x40000000;
  // Only a privileged thread may clear the reset-on-fork flag, so it stays; the next window is refused (no RLIMIT_RTPRIO here).
  expect(JSON.parse(r.stdout.toString())).toEqual({ raised: true, during: 1 | reset, after: 0 | reset, state: "SCHED_FIFO 1", raisedAgain: false, again: 0 | reset });
  expect(r.exitCode).toBe(0);
});
