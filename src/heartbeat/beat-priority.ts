// The beat thread's real-time window: SCHED_FIFO from the guard window's start through the tick, SCHED_OTHER the rest of the period.
import { describeError, SysError } from "../errors.ts";
import { logger } from "../log.ts";
import { BeatGuardThread } from "../sys/beat-guard.ts";
import { SCHED_RESET_ON_FORK, schedPolicySelf, setFifoPriority } from "../sys/sleeper.ts";

const log = logger("heartbeat");

/** A guard that could not start for want of descriptors, processes or memory is tried again this much later. */
const GUARD_RETRY_MS = 10_000;

/** Guard threads running in this process: a thread found SCHED_FIFO may have been raised by one (another heartbeat's). */
let runningGuards = 0;

/**
 * Under load a SCHED_OTHER thread that wakes from its futex wait queues behind the threads already
 * running, and the beat is late by what they have left of their slice (p99 1.4 ms at 10 ms with
 * both cores busy, against 0.27 ms for a C loop that only sleeps). As SCHED_FIFO the wake preempts
 * them. Only the window is real-time: outside it the init's event loop (services, control,
 * evolution acks) runs under SCHED_OTHER, so a busy init cannot starve the machine. SCHED_RESET_ON_FORK keeps a
 * process or Worker created during a tick out of the real-time class. PID 1 keeps CAP_SYS_NICE for
 * this (boot/privileges.ts); RLIMIT_RTPRIO alone also lets a thread raise, then it leaves each
 * window with SCHED_RESET_ON_FORK kept (only CAP_SYS_NICE may clear it).
 *
 * The window opens at whichever comes first: the clock's coarse timer (the thread raises itself),
 * or a guard thread (native/beat-guard.c, SCHED_FIFO, started after the first window) that raises it
 * half a millisecond before that timer is due and wakes the event loop. Under load the timer fired
 * 3-5 ms late, then the SCHED_OTHER thread waited for a CPU: the real init's beats at 10 ms had p99
 * 0.6-3.0 ms with the window opened by the timer alone, 0.14-0.43 ms with the guard. Event-loop
 * work that runs between the guard's raise and the beat runs real-time: work begun in the last
 * guard_ms + 0.5 ms, or the rest of a callback running at the raise, for at most the hold the clock
 * gives (then the guard lowers the thread itself).
 */
export class BeatPriority {
  /** "off", "SCHED_FIFO N", or why not ("refused: ...", "kept: ...", "stuck: ..."); null until the first window. */
  state: string | null;
  private on: boolean;
  /** The thread had SCHED_RESET_ON_FORK before its first window: it keeps it after each. */
  private keepReset = false;
  /** The guard thread, started at the first arm after a window was entered; null before and once stopped. */
  private guard: BeatGuardThread | null = null;
  /** Why there is no guard ("refused: ..."), or null. */
  private guardWhy: string | null = null;
  /** When a guard that could not start is tried again (Infinity: never). */
  private guardRetryAt = 0;
  private guardRaises = 0;
  /** A guard thread ran (its counts are said once it stopped, even when it never raised: a loaded host's timers came first). */
  private guardRan = false;
  private guardLowers = 0;
  private guardStarts = 0;
  /** What the guard's wakes call (the clock's early start of the window, which ignores a wake before its time); null once disarmed. */
  private wake: (() => boolean) | null = null;

  constructor(readonly priority: number) {
    this.on = priority > 0;
    this.state = this.on ? null : "off";
  }

  /** Enters the window; false when the thread stays as it is (off, refused, or not SCHED_OTHER). */
  raise(): boolean {
    if (!this.on) return false;
    try {
      if (this.state === null) {
        // A thread someone else gave a policy (chrt on the init, SCHED_BATCH/IDLE) keeps it: lowering
        // after the window would take it away.
        const raw = schedPolicySelf();
        // Raised by another heartbeat's guard in this process (tests run several): not someone else's policy.
        const guarded = runningGuards > 0 && raw === (1 | SCHED_RESET_ON_FORK);
        this.keepReset = !guarded && (raw & SCHED_RESET_ON_FORK) !== 0;
        const policy = guarded ? 0 : raw & ~SCHED_RESET_ON_FORK;
        if (policy !== 0) {
          this.stop(`kept: the thread runs under policy ${policy}, not SCHED_OTHER`);
          return false;
        }
      }
      setFifoPriority(this.priority);
      this.state = `SCHED_FIFO ${this.priority}`;
      return true;
    } catch (e) {
      this.stop(`refused: ${describeError(e)}`);
      return false;
    }
  }

  /**
   * Has the guard thread raise this thread `inMs` from now (the start of the next guard window), call
   * `wake` on the event loop (true: it started the beat), and lower the thread again `holdMs` after
   * the raise unless `disarm` came first. Only once a window was entered: the guard needs the same
   * privilege. Never for a time already past (the clock's own raise comes first then).
   */
  armIn(inMs: number, holdMs: number, wake: () => boolean): void {
    if (!this.on || this.state === null || !(inMs > 0)) return;
    if (this.guard === null) {
      if (this.guardWhy !== null && performance.now() < this.guardRetryAt) return;
      try {
        this.guard = BeatGuardThread.start(this.priority, this.keepReset, () => {
          if (this.wake?.()) this.guardStarts++;
        });
        this.guardRan = true;
        runningGuards++;
        if (this.guardWhy !== null) log.info("the beat's guard thread runs", { beat_fifo_priority: this.priority, after: this.guardWhy });
        this.guardWhy = null;
      } catch (e) {
        // Out of descriptors, processes or memory (a pipe, a thread) may pass: tried again a while later,
        // said once. A refusal of the priority (EPERM) stays.
        const transient = e instanceof SysError && ["EMFILE", "ENFILE", "EAGAIN", "ENOMEM"].includes(e.errno);
        const first = this.guardWhy === null;
        this.guardWhy = `refused: ${describeError(e)}`;
        this.guardRetryAt = transient ? performance.now() + GUARD_RETRY_MS : Infinity;
        if (first) log.info("the beat's window opens only when its timer fires: no guard thread", { beat_fifo_priority: this.priority, why: this.guardWhy, retry: transient ? `every ${GUARD_RETRY_MS / 1000} s` : "no" });
        return;
      }
    }
    this.wake = wake;
    this.guard.arm(inMs, holdMs);
  }

  /** Cancels the guard's pending raise or lowering: neither comes after this returns (the beat starts). */
  disarm(): void {
    this.wake = null;
    this.guard?.disarm();
  }

  /** Ends the window opened by `raise`, by the guard, or both. */
  leave(raised: boolean): void {
    if (raised || this.guard !== null) this.lower();
  }

  /** Stops the guard thread (a stopped heartbeat) and lowers the thread it may have raised; a later arm starts a new one. */
  stopGuard(): void {
    if (this.guard === null) return;
    try {
      this.guardRaises += this.guard.raises();
    } catch (e) {
      this.guardWhy = `refused: ${describeError(e)}`;
    }
    this.wake = null;
    this.guard.stop();
    this.guardLowers += this.guard.lowers();
    this.guard = null;
    runningGuards--;
    this.lower();
  }

  /**
   * The guard thread: "N raises, S beats started, L lowered" (raises, beats its wake started before
   * the timer, raises it undid because the beat had not started within the hold), "off", why there
   * is none, or null before it started.
   */
  get guardState(): string | null {
    if (this.guardWhy !== null) return this.guardWhy;
    if (this.guard === null && !this.guardRan) return this.on ? null : "off";
    try {
      const raises = this.guardRaises + (this.guard?.raises() ?? 0);
      return `${raises} raises, ${this.guardStarts} beats started, ${this.guardLowers + (this.guard?.lowers() ?? 0)} lowered`;
    } catch (e) {
      return `refused: ${describeError(e)}`;
    }
  }

  /** Leaves the window (back to SCHED_OTHER). */
  lower(): void {
    try {
      setFifoPriority(0, this.keepReset);
    } catch (e) {
      // Not expected (leaving a real-time class needs no privilege once the flag may stay); if it
      // happens the init's whole event loop runs real-time from now on: said as an error, and no
      // window is entered again.
      this.on = false;
      this.state = `stuck: ${describeError(e)}`;
      log.error("the beat thread could not leave SCHED_FIFO: the init's main thread stays real-time", { beat_fifo_priority: this.priority, error: describeError(e) });
    }
  }

  private stop(why: string): void {
    this.stopGuard();
    this.on = false;
    this.state = why;
    log.info("beats wait without real-time priority", { beat_fifo_priority: this.priority, why });
  }
}
