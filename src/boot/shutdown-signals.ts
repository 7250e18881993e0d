// Turns SIGTERM/SIGINT/SIGPWR (and ctrl-alt-del as PID 1) into one shutdown request, SIGHUP into a re-exec; C counters, no JS in handlers.
import { describeError } from "../errors.ts";
import { logger } from "../log.ts";
import { gcSignal, installSharedSignalCounter, installSignalCounter, onCountedSignal, Sig, takeSignal, unblockCarriedSignals } from "../sys/signals.ts";
import type { RebootMode } from "../sys/machine.ts";

const log = logger("signals");

export interface ShutdownRequest {
  reason: string;
  /** Overrides the configured shutdown mode (e.g. ctrl-alt-del reboots). */
  mode?: RebootMode;
}

export class ShutdownSignals {
  private resolve!: (r: ShutdownRequest) => void;
  readonly requested: Promise<ShutdownRequest>;
  private fired = false;
  private first: ShutdownRequest | null = null;
  /** Reasons of later requests already logged as not acted on (shutdown_after asks at every beat). */
  private readonly ignored = new Set<string>();
  private reexec: ((path?: string) => Promise<void>) | null = null;
  /** A SIGHUP taken before `onReexec` was set (carried across the exec, or waiting since the pre-init's). */
  private reexecAsked = false;

  constructor(private readonly pid1: boolean) {
    this.requested = new Promise((r) => (this.resolve = r));
  }

  /** Called on SIGHUP (boot mode): re-exec the init in place. */
  get onReexec(): ((path?: string) => Promise<void>) | null {
    return this.reexec;
  }

  /** Set once the boot can act on it: a SIGHUP taken before (at install) is acted on now. */
  set onReexec(fn: ((path?: string) => Promise<void>) | null) {
    this.reexec = fn;
    if (fn && this.reexecAsked) {
      this.reexecAsked = false;
      if (!this.fired) void fn();
    }
  }

  request(r: ShutdownRequest): void {
    if (this.fired) {
      // Not changed, but said: a ctrl-alt-del (reboot) or SIGTERM during a poweroff vanished without a line.
      const first = this.first!;
      if (r.reason === first.reason || this.ignored.has(r.reason)) return;
      this.ignored.add(r.reason);
      const fields = { reason: r.reason, mode: r.mode, under_way: first.reason, under_way_mode: first.mode };
      if (r.mode !== undefined && r.mode !== first.mode) log.warn("shutdown already under way: request of another mode ignored", fields);
      else log.info("shutdown already under way: request ignored", fields);
      return;
    }
    this.fired = true;
    this.first = r;
    log.info("shutdown requested", { reason: r.reason, mode: r.mode });
    this.resolve(r);
  }

  get isRequested(): boolean {
    return this.fired;
  }

  /** The request that began the shutdown (later ones are ignored), or null. */
  get current(): ShutdownRequest | null {
    return this.first;
  }

  /**
   * C counters, not Bun's process.on: a signal Bun's handler queued for a loop turn that never came
   * (it arrived in the synchronous stretch before a live re-exec's execve) was lost with the old
   * image. A counted one that JavaScript has not taken is raised again at the exec and waits for the
   * next image (native/signals.c); the loop takes the others from the wake pipe. What remains: one
   * delivered to another thread in the few instructions between its handler's entry and its re-raise
   * when execve ends that thread.
   */
  install(): this {
    const requests: [number, ShutdownRequest][] = [
      [Sig.SIGTERM, { reason: "SIGTERM" }],
      [Sig.SIGINT, this.pid1 ? { reason: "ctrl-alt-del (SIGINT)", mode: "reboot" } : { reason: "SIGINT" }],
      [Sig.SIGUSR2, { reason: "SIGUSR2", mode: "poweroff" }],
      [Sig.SIGQUIT, { reason: "SIGQUIT" }],
      [Sig.SIGPWR, { reason: "SIGPWR (power failure)", mode: "poweroff" }],
    ];
    const take = () => {
      for (const [sig, req] of requests) if (takeSignal(sig) > 0) this.request(req);
      // Unassigned, but never fatal: without a handler SIGUSR1 would end the init outright (outside PID 1).
      if (takeSignal(Sig.SIGUSR1) > 0) log.info("SIGUSR1 received: no action assigned");
      if (takeSignal(Sig.SIGHUP) > 0 && !this.fired) {
        if (this.reexec) void this.reexec();
        else this.reexecAsked = true;
      }
    };
    // Watching before the counters are installed: a signal right after an install still wakes the loop.
    onCountedSignal(take);
    for (const sig of [Sig.SIGTERM, Sig.SIGINT, Sig.SIGUSR2, Sig.SIGQUIT, Sig.SIGUSR1, Sig.SIGHUP]) installSignalCounter(sig);
    // SIGPWR: JavaScriptCore's GC signal unless JSC_SIGNAL_FOR_GC moved it (the pre-init does); then
    // shared with the engine (only one sent by another process is ours).
    const moved = gcSignal() !== Sig.SIGPWR;
    try {
      if (moved) installSignalCounter(Sig.SIGPWR);
      else installSharedSignalCounter(Sig.SIGPWR);
    } catch (e) {
      log.warn("could not watch SIGPWR", { error: describeError(e) });
    }
    // Blocked across the exec into this image (the pre-init's, a re-exec's): one sent meanwhile
    // waited, and is counted as it is unblocked.
    unblockCarriedSignals();
    take();
    return this;
  }
}
