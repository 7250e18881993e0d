// Boot phase "services": build the supervisor, start services in dependency order (or resume them after a re-exec).
import { notifyPathFor } from "../supervisor/notify-socket.ts";
import { join } from "node:path";
import { startOrder } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { describeError } from "../errors.ts";
import { drainDescendants } from "../init/drain.ts";
import type { Reaper } from "../init/reaper.ts";
import { logger } from "../log.ts";
import { cgroupPlace, ServiceCgroups } from "../supervisor/service-cgroup.ts";
import { readServicesPart } from "../supervisor/services-part-read.ts";
import { RETIRE_GRACE_MS } from "../supervisor/retired-service.ts";
import { clockNs } from "../sys/machine.ts";
import type { MainExit } from "../supervisor/service-runner.ts";
import { Supervisor } from "../supervisor/supervisor.ts";
import { withDeadline } from "../util/deadline.ts";

const log = logger("boot");

/**
 * Starts the services, or after a re-exec resumes each in the state it had (`handedOver`: the
 * previous image's snapshot, validated here). Then the reaper stops holding unowned exits.
 */
export function startServices(config: Config, reaper: Reaper, handedOver: unknown, pid1 = false, onMainExit: ((exit: MainExit) => void) | null = null): Supervisor {
  const order = startOrder(config);
  const cgroups = config.services.length > 0 ? ServiceCgroups.create(cgroupPlace(pid1), config.services) : null;
  const notifyPath = config.run_dir ? notifyPathFor(config.run_dir) : null;
  const logs = { fileDir: config.state_dir ? join(config.state_dir, "logs") : null, kmsg: pid1 };
  let snapshot = null;
  let stopFirst = new Set<string>();
  let handedNotify = null;
  let gapMs = 0;
  if (handedOver !== undefined) {
    const graces = new Map(config.services.map((s) => [s.name, s.grace_ms]));
    // Service by service: one entry that does not parse no longer drops the others (services-part-read.ts).
    const r = readServicesPart(handedOver, (name) => graces.get(name) ?? RETIRE_GRACE_MS);
    if ("unreadable" in r) {
      log.error("services handoff unreadable; starting services fresh", { error: r.unreadable });
      // Its sd_notify socket still: left open and bound, it kept the path "in use" (no notify socket at all).
      handedNotify = r.notify;
    } else {
      snapshot = r.services;
      stopFirst = r.stopFirst;
      handedNotify = r.notify;
      // The exec and this image's phases before this one: every timer handed over had run on meanwhile.
      if (r.atBoottimeMs !== null) gapMs = Math.max(0, clockNs("boottime") / 1e6 - r.atBoottimeMs);
    }
  }
  const supervisor = new Supervisor(config.services, order, reaper, process.env, { cgroups, notifyPath, logs, onMainExit, handedNotify });
  log.info("phase services", { count: config.services.length, order: order.join(",") || "-", adopted: snapshot ? snapshot.filter((s) => s.pid !== null).length : 0, ...(snapshot ? { handover_gap_ms: gapMs.toFixed(0) } : {}) });
  if (snapshot) supervisor.adopt(snapshot, gapMs, stopFirst);
  else supervisor.startAll();
  reaper.releaseParked();
  return supervisor;
}

/** What longestStopMs reads of a service. */
interface StopCost {
  name: string;
  grace_ms: number;
  depends_on?: readonly string[] | undefined;
  post_stop?: { timeout_ms: number } | undefined;
}

/**
 * The longest a stop may take in a config: the top-level grace period, or the longest chain of
 * services that stop one after another (a service gets its stop signal once every service that
 * depends on it has stopped, its post_stop included), each its grace with its post_stop's timeout.
 * It was the longest single service's: a chain of slow stops outlasted that + 5 s bound, and the
 * drain then signalled a dependency while its dependent still ran (a second SIGTERM to the one
 * stopping).
 */
export function longestStopMs(c: { grace_ms: number; services?: ReadonlyArray<StopCost> | undefined }): number {
  const services = c.services ?? [];
  const chain = new Map<string, number>();
  // The config refuses dependency cycles; one would count as no dependents here.
  const ofService = (s: StopCost): number => {
    const known = chain.get(s.name);
    if (known !== undefined) return known;
    chain.set(s.name, 0);
    const dependentsFirst = Math.max(0, ...services.filter((d) => d.depends_on?.includes(s.name)).map(ofService));
    const total = dependentsFirst + s.grace_ms + (s.post_stop?.timeout_ms ?? 0);
    chain.set(s.name, total);
    return total;
  };
  return Math.max(c.grace_ms, ...services.map(ofService));
}

/** Shutdown: services in reverse dependency order (stop signal, grace, SIGKILL), then every other descendant. */
export async function stopServices(supervisor: Supervisor, reaper: Reaper, graceMs: number, pid1: boolean, services: Config["services"] = []): Promise<void> {
  // Bounded after SIGKILL: a process stuck in D state never exits, and must not hold the shutdown
  // (the longest chain of graces and post_stops, then 5 s for SIGKILL to land).
  const boundMs = longestStopMs({ grace_ms: graceMs, services }) + 5_000;
  try {
    if ((await withDeadline(() => supervisor.stopAll(), boundMs)) === "done") log.info("services stopped", { order: supervisor.stopLog.join(",") });
    else log.error("services still hold processes after SIGKILL (uninterruptible?); going on", { waited_ms: boundMs, pids: supervisor.pids().join(",") });
  } catch (e) {
    log.error("stopping services failed", { error: describeError(e) });
  }
  await drainDescendants(reaper, { graceMs, killAll: pid1 });
}
