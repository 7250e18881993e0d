// A service as `services` and `status` show it: state, process, readiness, STATUS text, health counts, cgroup usage.
import type { CgroupUsage } from "../sys/cgroup.ts";
import type { ServiceCgroups } from "./service-cgroup.ts";
import type { ServiceRecord, ServiceState } from "./service-record.ts";

export interface ServiceStatus {
  name: string;
  state: ServiceState;
  pid: number | null;
  restarts: number;
  lastStatus: number | null;
  startedAt: number;
  /** The `main: true` service (its exit ends the machine). */
  main?: boolean;
  /** Ready (state "running": its `ready` check passed, or it has none; or "done": a oneshot that exited 0). */
  ready?: boolean;
  /** Last STATUS= text from sd_notify. */
  statusText?: string | null;
  health?: { checks: number; failures: number } | null;
  /** The service's cgroup and what it uses (null when cgroups are off). */
  cgroup?: ({ path: string } & CgroupUsage) | null;
}

export function statusOf(r: ServiceRecord, cgroups: ServiceCgroups | null, withUsage: boolean): ServiceStatus {
  const n = r.config.name;
  const usage = withUsage ? cgroups?.usage(n) : undefined;
  const cgroup = cgroups && usage ? { path: cgroups.pathOf(n), ...usage } : null;
  const health = r.config.health ? { checks: r.healthChecks, failures: r.healthFailures } : null;
  return { name: n, state: r.state, pid: r.pid, restarts: r.restarts, lastStatus: r.lastStatus, startedAt: r.startedAt, main: r.config.main === true, ready: r.state === "running" || r.state === "done", statusText: r.statusText, health, cgroup };
}
