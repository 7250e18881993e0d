// Paces the init's nonblocking readers (service output, the sd_notify socket): woken by the kernel (O_ASYNC, SIGURG) while quiet, polled every 20 ms while data flows.
import { logger } from "../log.ts";
import { wakeOnReadable } from "../sys/fd-wake.ts";
import { Sig } from "../sys/signals.ts";

const log = logger("supervisor");

export interface WakeOrPollOptions {
  /** What is read, for the warning when the kernel refuses the signals (e.g. "service output"). */
  what: string;
  /** The safety poll while quiet (a wake-up could be missed only if the kernel refused one). */
  quietPollMs: number;
  /** The poll while output flows (a signal per write would cost more than this). */
  busyPollMs: number;
  /** Empty busy polls in a row after which the descriptors signal again. */
  idlePollsToQuiet: number;
}

const defaults: WakeOrPollOptions = { what: "a descriptor", quietPollMs: 1000, busyPollMs: 20, idlePollsToQuiet: 5 };

/**
 * Calls `read` (which reads what waits on the watched descriptors and returns how much it found)
 * when the kernel signals data on one of them. Once data flows, the signals are turned off and the
 * descriptors polled every `busyPollMs` (a chatty service would otherwise cost a signal per
 * write); after `idlePollsToQuiet` empty polls they signal again. An idle appliance does not wake.
 * A `read` that stops at its own bound found data, so the rest is read at the next busy poll.
 */
export class WakeOrPoll {
  private readonly fds = new Set<number>();
  private readonly o: WakeOrPollOptions;
  private busy = false;
  private idlePolls = 0;
  private signalsWork = true;
  private timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly read: () => number,
    opts: Partial<WakeOrPollOptions> = {},
  ) {
    this.o = { ...defaults, ...opts };
    process.on("SIGURG", this.onQuiet);
    this.timer = setInterval(this.onQuiet, this.o.quietPollMs);
  }

  /** Watches `fd` (a nonblocking read end). */
  add(fd: number): void {
    this.fds.add(fd);
    if (!this.busy) this.arm(fd, true);
  }

  /** Stops watching `fd` (its owner closes it). */
  remove(fd: number): void {
    this.fds.delete(fd);
  }

  close(): void {
    process.off("SIGURG", this.onQuiet);
    clearInterval(this.timer);
  }

  private readonly onQuiet = (): void => {
    if (this.read() > 0 && !this.busy) this.goBusy();
  };

  private readonly onBusy = (): void => {
    if (this.read() > 0) this.idlePolls = 0;
    else if (++this.idlePolls >= this.o.idlePollsToQuiet && this.signalsWork) this.goQuiet();
  };

  private goBusy(): void {
    this.busy = true;
    this.idlePolls = 0;
    for (const fd of this.fds) this.arm(fd, false);
    clearInterval(this.timer);
    this.timer = setInterval(this.onBusy, this.o.busyPollMs);
  }

  private goQuiet(): void {
    this.busy = false;
    for (const fd of this.fds) this.arm(fd, true);
    clearInterval(this.timer);
    this.timer = setInterval(this.onQuiet, this.o.quietPollMs);
    this.onQuiet(); // what came while the signals were off signals nothing
  }

  private arm(fd: number, on: boolean): void {
    try {
      wakeOnReadable(fd, on ? Sig.SIGURG : 0);
    } catch (e) {
      if (!this.signalsWork) return;
      // The kernel refused O_ASYNC: poll all the time (busy mode never goes quiet then).
      log.warn(`${this.o.what} cannot wake the loop: polling it`, { every_ms: this.o.busyPollMs, error: String(e) });
      this.signalsWork = false;
      if (!this.busy) this.goBusy();
    }
  }
}
