// The services' part of the machine's shutdown: from its start nothing starts or restarts; each service stops once no running service depends on it.
import type { ServiceState } from "./service-record.ts";
import type { ServiceRunner } from "./service-runner.ts";

const up = (s: ServiceState): boolean => s === "running" || s === "starting";

export class ServiceShutdown {
  private ended = false;
  /** stopAll is under way: a service that stops lets the services it depended on stop. */
  private stopping = false;

  constructor(
    private readonly slots: ReadonlyMap<string, ServiceRunner>,
    private readonly order: readonly string[],
    /** Names in the order their processes were last started. */
    private readonly started: readonly string[],
    /** Services in the order the shutdown stopped them. */
    private readonly stopLog: string[],
  ) {}

  /** The machine's shutdown began (begin or stopAll): nothing starts or restarts any more. */
  get ending(): boolean {
    return this.ended;
  }

  /**
   * The machine's shutdown began; its later phases (the heartbeat, the fleet) stop before the
   * services. From now on an exit is a stop, never a restart, and nothing starts: a service that
   * died while those phases stopped was restarted after its back-off and outlived the init; so was
   * one the drain's SIGTERM reached while its dependents still ran.
   */
  begin(): void {
    if (this.ended) return;
    this.ended = true;
    this.stopLog.length = 0;
    // Not the main service: its own exit before its stop still decides the machine's status.
    for (const slot of this.slots.values()) if (!slot.rec.config.main) slot.rec.stopRequested = true;
  }

  /**
   * Stops every service in reverse dependency order: a service gets its stop signal as soon as no
   * running service depends on it; independent services are signalled at once. Resolves when all
   * hold no process (each bounded by its grace period, then SIGKILL).
   */
  async stopAll(): Promise<void> {
    this.begin();
    this.stopping = true;
    // The main service too now: its exit from here on is the stop this sends.
    for (const slot of this.slots.values()) slot.rec.stopRequested = true;
    for (const slot of this.slots.values()) {
      if (slot.rec.state === "backoff" || slot.rec.state === "pending") slot.dispatch({ type: "stop" });
    }
    const all = [...this.slots.values()].map((s) => s.settled());
    this.stopReady();
    await Promise.all(all);
  }

  /** A service stopped: kept in the stop order once the machine's shutdown began. */
  stopped(name: string): void {
    if (this.ended) this.stopLog.push(name);
  }

  /** A service's state changed: during stopAll, whatever no longer has a dependent running stops. */
  changed(): void {
    if (this.stopping) this.stopReady();
  }

  private stopReady(): void {
    const reverse = [...new Set([...this.started].reverse())];
    for (const name of [...reverse, ...this.order]) {
      const slot = this.slots.get(name);
      if (!slot || !up(slot.rec.state)) continue;
      // A dependent stopped only once its post_stop is over, as systemd's ExecStopPost ends its unit's stop.
      const dependents = [...this.slots.values()].filter((o) => o.rec.config.depends_on.includes(name) && (up(o.rec.state) || o.rec.state === "stopping" || o.postStopRunning));
      if (dependents.length === 0) slot.dispatch({ type: "stop" });
    }
  }
}
