// The beat thread's real-time window: SCHED_FIFO from the precise wait through the tick, SCHED_OTHER the rest of the period.
import { describeError } from "../errors.ts";
import { logger } from "../log.ts";
import { SCHED_RESET_ON_FORK, schedPolicySelf, setFifoPriority } from "../sys/sleeper.ts";

const log = logger("heartbeat");

/**
 * Under load a SCHED_OTHER thread that wakes from its futex wait queues behind the threads already
 * running, and the beat is late by what they have left of their slice (p99 1.4 ms at 10 ms with
 * both cores busy, against 0.27 ms for a C loop that only sleeps). As SCHED_FIFO the wake preempts
 * them. Only the window is real-time: the init's event loop (services, control, evolution acks)
 * runs under SCHED_OTHER, so a busy init cannot starve the machine. SCHED_RESET_ON_FORK keeps a
 * process or Worker created during a tick out of the real-time class. PID 1 keeps CAP_SYS_NICE for
 * this (boot/privileges.ts); RLIMIT_RTPRIO alone also lets a thread raise, then it leaves each
 * window with SCHED_RESET_ON_FORK kept (only CAP_SYS_NICE may clear it).
 */
export class BeatPriority {
  /** "off", "SCHED_FIFO N", or why not ("refused: ...", "kept: ...", "stuck: ..."); null until the first window. */
  state: string | null;
  private on: boolean;
  /** The thread had SCHED_RESET_ON_FORK before its first window: it keeps it after each. */
  private keepReset = false;

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
        this.keepReset = (raw & SCHED_RESET_ON_FORK) !== 0;
        const policy = raw & ~SCHED_RESET_ON_FORK;
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
    this.on = false;
    this.state = why;
    log.info("beats wait without real-time priority", { beat_fifo_priority: this.priority, why });
  }
}
