// The beat guard thread (native/beat-guard.c): at an armed time it raises the thread that started it to SCHED_FIFO and wakes its event loop.
import { FFIType, type Pointer } from "bun:ffi";
import { closeFdQuietly } from "./fd.ts";
import { check, lazyShim } from "./lib.ts";

const { i32, f64, ptr } = FFIType;

// Opened at the first call: a heartbeat without a real-time window never starts a guard.
const lib = lazyShim({
  vb_beat_guard_start: { args: [i32, i32, ptr], returns: i32 },
  vb_beat_guard_arm: { args: [ptr, f64, f64], returns: i32 },
  vb_beat_guard_disarm: { args: [ptr], returns: i32 },
  vb_beat_guard_raises: { args: [ptr], returns: i32 },
  vb_beat_guard_lowers: { args: [ptr], returns: i32 },
  vb_beat_guard_stop: { args: [ptr], returns: i32 },
});

/** A running guard thread; the thread that called `start` is the one it raises, and `onWake` runs on its event loop after each raise. */
export class BeatGuardThread {
  private last = 0;
  private lastLowers = 0;

  private constructor(
    private handle: Pointer | null,
    wakeFd: number,
    onWake: () => void,
  ) {
    // The pipe's reader: one turn of the event loop per raise. It ends at end-of-file (stop closed
    // the write end), then the read end is closed. What `onWake` throws is thrown where a timer's
    // callback would throw it (the next turn), not taken for a failed read.
    void (async () => {
      try {
        for await (const _bytes of Bun.file(wakeFd).stream()) {
          if (this.handle === null) continue;
          try {
            onWake();
          } catch (e) {
            setImmediate(() => {
              throw e;
            });
          }
        }
      } catch {
        // A failed read leaves the beat's own timer to open the window: nothing is lost but precision.
      }
      closeFdQuietly(wakeFd);
    })();
  }

  /**
   * Starts a guard thread under SCHED_FIFO `priority` for the calling thread (lowered with
   * SCHED_RESET_ON_FORK kept when `keepReset`). Throws SysError (EPERM without CAP_SYS_NICE or
   * RLIMIT_RTPRIO; nothing is left running then).
   */
  static start(priority: number, keepReset: boolean, onWake: () => void): BeatGuardThread {
    const out = new BigUint64Array(1);
    const fd = check(lib.vb_beat_guard_start(priority, keepReset ? 1 : 0, out), "pthread_create", `the beat guard thread at SCHED_FIFO ${priority}`);
    return new BeatGuardThread(Number(out[0]) as Pointer, fd, onWake);
  }

  /**
   * Raises the thread to SCHED_FIFO (with SCHED_RESET_ON_FORK) `inMs` from now and wakes its event
   * loop, replacing an earlier arm; lowers it again `holdMs` after the raise unless disarmed first.
   */
  arm(inMs: number, holdMs: number): void {
    if (this.handle !== null) lib.vb_beat_guard_arm(this.handle, inMs * 1e6, holdMs * 1e6);
  }

  /** Raises the guard undid itself (the thread was not disarmed within `holdMs`). */
  lowers(): number {
    if (this.handle !== null) this.lastLowers = lib.vb_beat_guard_lowers(this.handle);
    return this.lastLowers;
  }

  /** Cancels the pending raise or lowering (neither happens after this returns). */
  disarm(): void {
    if (this.handle !== null) lib.vb_beat_guard_disarm(this.handle);
  }

  /** Raises done so far; throws SysError while the kernel refuses them (the latest raise was refused). */
  raises(): number {
    if (this.handle === null) return this.last;
    this.last = check(lib.vb_beat_guard_raises(this.handle), "sched_setscheduler", "the beat guard's raise of the main thread");
    return this.last;
  }

  /** Ends the thread (disarmed first: no raise after this returns); later calls do nothing. */
  stop(): void {
    if (this.handle === null) return;
    try {
      this.raises();
    } catch {
      // the count stays at the last one read
    }
    this.lowers();
    lib.vb_beat_guard_stop(this.handle);
    this.handle = null;
  }
}
