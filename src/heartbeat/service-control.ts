// The heartbeat's view of the supervisor: the lead's Supervisor implements this interface.

export interface ServiceView {
  name: string;
  pid: number | null;
  /** Supervisor state ("running", "failed", ...): "running" and "failed" are counted in hw.mmio. */
  state: string;
  restarts: number;
}

/**
 * What interrupt handlers may do to services. Methods may return a promise (stop and restart wait for
 * the process to go); the heartbeat never awaits them inside a beat and logs a rejection.
 */
export interface ServiceControl {
  /** Services in a stable order: index i fills hw.mmio slot svc.i. */
  list(): ServiceView[];
  restart(name: string): void | Promise<void>;
  stop(name: string): void | Promise<void>;
  /**
   * The process groups of the service's current run (the supervisor's RunLeftovers): what a
   * SIGSTOP/SIGCONT throttle signals. Without it, the group the main process leads.
   */
  processGroups?(name: string): readonly number[];
}

/** What the sampler knows about one supervised service (sent by the main thread to the worker). */
export interface ServiceSlotInfo extends ServiceView {
  throttled: boolean;
}
