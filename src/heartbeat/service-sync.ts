// The supervisor's service table as the heartbeat passes it on: to the metabolic worker when it changed, releasing stale throttles.
import { logger } from "../log.ts";
import type { MetabolicDaemon } from "./metabolic-daemon.ts";
import type { ServiceControl, ServiceView } from "./service-control.ts";

const log = logger("heartbeat");

export class ServiceSync {
  /** The table as of the last sync (the interrupt dispatcher chooses its targets from it). */
  list: ServiceView[] = [];
  private sig = "";

  constructor(
    private readonly metabolic: MetabolicDaemon,
    /** Called for a service whose throttle was released here (the dispatcher forgets its hold). */
    private readonly released: (name: string) => void,
  ) {}

  /** Reads the table; sends it to the worker when it changed (pids, states, restart counts). */
  sync(services: ServiceControl | null | undefined): void {
    if (!services) return;
    const list = services.list();
    this.list = list;
    let sig = "";
    for (const v of list) sig += `${v.name}:${v.pid}:${v.state}:${v.restarts};`;
    if (sig === this.sig) return;
    this.sig = sig;
    // A throttled service whose process ended (or was replaced) is released at once: its pid and
    // process group may be reused by an unrelated process after the supervisor reaps it. One being
    // stopped too: its SIGTERM handler ran at the throttle's duty (a tenth of the grace at 0.1, then
    // SIGKILL), the stop's SIGCONT undone by the next stopped phase.
    for (const v of list) {
      const tp = this.metabolic.throttledPid(v.name);
      if (tp !== null && (tp !== v.pid || v.state === "stopping")) {
        this.metabolic.unthrottle(v.name);
        this.released(v.name);
        log.info(tp !== v.pid ? "throttle released: the service's process changed" : "throttle released: the service is being stopped", { service: v.name, throttled_pid: tp, pid: v.pid });
      }
    }
    this.metabolic.setServices(list.map((v) => ({ name: v.name, pid: v.pid, state: v.state, restarts: v.restarts, throttled: this.metabolic.isThrottled(v.name) })));
  }
}
