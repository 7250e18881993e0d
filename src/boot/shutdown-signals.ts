// Turns SIGTERM/SIGINT/SIGPWR (and ctrl-alt-del as PID 1) into one shutdown request; no JS in handlers.
import { describeError } from "../errors.ts";
import { logger } from "../log.ts";
import { installSharedSignalCounter, installSignalCounter, onCountedSignal, Sig, signalCount } from "../sys/signals.ts";
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
  /** Called on SIGHUP (boot mode): re-exec the init in place. */
  onReexec: ((path?: string) => Promise<void>) | null = null;
  private stopPwr: (() => void) | null = null;
  private readonly handlers: Array<[string, () => void]> = [];

  constructor(private readonly pid1: boolean) {
    this.requested = new Promise((r) => (this.resolve = r));
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

  install(): this {
    const on = (name: "SIGTERM" | "SIGINT" | "SIGUSR2" | "SIGQUIT", req: ShutdownRequest) => {
      const h = () => this.request(req);
      process.on(name, h);
      this.handlers.push([name, h]);
    };
    on("SIGTERM", { reason: "SIGTERM" });
    on("SIGINT", this.pid1 ? { reason: "ctrl-alt-del (SIGINT)", mode: "reboot" } : { reason: "SIGINT" });
    on("SIGUSR2", { reason: "SIGUSR2", mode: "poweroff" });
    on("SIGQUIT", { reason: "SIGQUIT" });
    // Unassigned, but never fatal: without a handler SIGUSR1 would end the init outright (outside PID 1).
    const usr1 = () => log.info("SIGUSR1 received: no action assigned");
    process.on("SIGUSR1", usr1);
    this.handlers.push(["SIGUSR1", usr1]);
    const hup = () => {
      if (!this.fired) void this.onReexec?.();
    };
    process.on("SIGHUP", hup);
    this.handlers.push(["SIGHUP", hup]);
    // SIGPWR: JavaScriptCore's GC signal unless JSC_SIGNAL_FOR_GC moved it (the pre-init does); then
    // shared with the engine (only one sent by another process is ours).
    const gcSig = Number(process.env.JSC_SIGNAL_FOR_GC ?? "");
    const moved = Number.isInteger(gcSig) && gcSig > 0 && gcSig !== Sig.SIGPWR;
    try {
      // Watching before the counter is installed: a SIGPWR right after the install still wakes the loop.
      let seen = 0;
      this.stopPwr = onCountedSignal(() => {
        if (signalCount(Sig.SIGPWR) > seen) this.request({ reason: "SIGPWR (power failure)", mode: "poweroff" });
      });
      if (moved) installSignalCounter(Sig.SIGPWR);
      else installSharedSignalCounter(Sig.SIGPWR);
      seen = signalCount(Sig.SIGPWR);
    } catch (e) {
      log.warn("could not watch SIGPWR", { error: describeError(e) });
    }
    return this;
  }

  uninstall(): void {
    for (const [n, h] of this.handlers) process.off(n, h);
    this.handlers.length = 0;
    this.stopPwr?.();
    this.stopPwr = null;
  }
}
