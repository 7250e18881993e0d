// Main-thread side of the beat's sleeper thread: posts due times, blocks until the sleeper says the time has come.
import { logger } from "../log.ts";
import { clockNs } from "../sys/machine.ts";
import { workerEntry } from "../util/bundle.ts";
import { DONE, REQ, STOP, type SleeperInit } from "./beat-sleeper-protocol.ts";

const log = logger("heartbeat");

/** Beyond this past the due time the beat stops waiting for the sleeper and runs (counted in `misses`). */
const FALLBACK_MS = 20;

export function sleeperWorkerUrl(): string {
  return workerEntry("heartbeat/beat-sleeper-worker.ts", new URL("./beat-sleeper-worker.ts", import.meta.url));
}

/** performance.now() -> CLOCK_MONOTONIC offset (ms), from the tightest of a few paired readings. */
function monotonicOffsetMs(): number {
  let best = Infinity;
  let offset = 0;
  for (let i = 0; i < 8; i++) {
    const a = performance.now();
    const m = clockNs("monotonic") / 1e6;
    const b = performance.now();
    if (b - a < best) {
      best = b - a;
      offset = m - (a + b) / 2;
    }
  }
  return offset;
}

export class BeatSleeper {
  private readonly ctl = new Int32Array(new SharedArrayBuffer(16));
  private readonly due = new Float64Array(new SharedArrayBuffer(8));
  private readonly offsetMs = monotonicOffsetMs();
  private worker: Worker | null;
  private ready = false;
  private seq = 0;
  /** Waits the sleeper ended (it woke the beat). */
  wakes = 0;
  /** Waits the sleeper did not end in time (the beat ran on the fallback timeout). */
  misses = 0;
  /** "off", "SCHED_FIFO N", or why the priority was refused; null until the thread is up. */
  fifo: string | null = null;

  constructor(fifoPriority: number) {
    const w = new Worker(sleeperWorkerUrl());
    this.worker = w;
    w.onmessage = (e: MessageEvent<{ ready?: boolean; fifo?: string }>) => {
      if (!e.data.ready) return;
      this.ready = true;
      this.fifo = e.data.fifo ?? "off";
      if (this.fifo.startsWith("refused")) log.warn("beat sleeper runs without real-time priority", { fifo: this.fifo });
    };
    w.onerror = (e) => {
      log.error("beat sleeper thread failed; beats wait on a futex timeout", { error: e.message });
      this.ready = false;
    };
    const init: SleeperInit = { ctl: this.ctl.buffer as SharedArrayBuffer, due: this.due.buffer as SharedArrayBuffer, fifoPriority };
    w.postMessage(init);
    w.unref();
  }

  /** Asks the sleeper to wake at `dueMs` (performance.now() time). 0 when it is not up yet (the caller waits alone). */
  request(dueMs: number): number {
    if (!this.ready) return 0;
    const seq = ++this.seq;
    this.due[0] = (dueMs + this.offsetMs) * 1e6;
    Atomics.store(this.ctl, REQ, seq);
    Atomics.notify(this.ctl, REQ);
    return seq;
  }

  /** Blocks until the sleeper has woken for request `seq` (or FALLBACK_MS past `dueMs`). */
  wait(seq: number, dueMs: number): void {
    for (;;) {
      const done = Atomics.load(this.ctl, DONE);
      if (done === seq) {
        this.wakes++;
        return;
      }
      const left = dueMs + FALLBACK_MS - performance.now();
      if (left <= 0) {
        this.misses++;
        return;
      }
      Atomics.wait(this.ctl, DONE, done, left);
    }
  }

  /** Ends the thread (it leaves at its current due time at the latest). */
  stop(): void {
    Atomics.store(this.ctl, STOP, 1);
    Atomics.store(this.ctl, REQ, ++this.seq);
    Atomics.notify(this.ctl, REQ);
    this.worker?.terminate();
    this.worker = null;
    this.ready = false;
  }
}
