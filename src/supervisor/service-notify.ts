// What an sd_notify message does to a service: READY=1, STATUS=, STOPPING=1, MAINPID=, WATCHDOG=1 — from a sender that is one of its processes.
import { logger } from "../log.ts";
import { groupOf, sessionOf } from "../util/process-exists.ts";
import type { ServiceRecord } from "./service-record.ts";

const log = logger("notify");

/**
 * Whether `pid` is one of the service's processes: in its cgroup when it has one (`cgroupPids`),
 * else its main process, or a member of its session or of one of the run's sessions and process
 * groups (`groups`, RunLeftovers): a MAINPID= worker that leads no session has siblings in its
 * exited parent's, and their WATCHDOG=1 was dropped. Checked on the kernel's sender pid, never on
 * what the message says.
 */
export function belongsTo(rec: ServiceRecord, pid: number, cgroupPids: number[] | null, groups: readonly number[] = []): boolean {
  if (pid <= 0) return false;
  if (cgroupPids) return cgroupPids.includes(pid);
  if (pid === rec.pid) return true;
  if (rec.pid === null) return false;
  const session = sessionOf(pid);
  const group = groupOf(pid);
  return (session !== null && (session === rec.pid || groups.includes(session))) || (group !== null && groups.includes(group));
}

/** A service's cgroup, when it has one: the processes in it now, and its id (its directory's inode). */
export interface CgroupView {
  pids(): number[];
  id(): bigint | null;
}

/**
 * Whether a message came from one of the service's processes. Its cgroup decides when the kernel
 * named the sender's (from the pidfd it attached, which still says where a sender ran after it
 * exited: `systemd-notify --no-block` in a script is gone, and reaped by the shell, before PID 1
 * reads its READY=1, and its pid then matches nothing) and the service has one; else its pid
 * (belongsTo, with the run's process groups `groups` when cgroups are off).
 */
export function sentBy(rec: ServiceRecord, sender: { pid: number; cgroupId: bigint | null }, cgroup: CgroupView | null, groups: readonly number[] = []): boolean {
  if (cgroup && sender.cgroupId !== null) {
    const id = cgroup.id();
    if (id !== null) return id === sender.cgroupId;
  }
  return belongsTo(rec, sender.pid, cgroup ? cgroup.pids() : null, groups);
}

export interface NotifyActions {
  ready(): void;
  /** A new main process (checked to belong to the service). */
  mainPid(pid: number): void;
  watchdogPing(): void;
  watchdogTrigger(): void;
  /** EXTEND_TIMEOUT_USEC=: the readiness wait, or the stop's grace, ends no sooner than `ms` from now. */
  extendTimeout(ms: number): void;
  belongs(pid: number): boolean;
}

/** The longest timer (setTimeout's 2^31-1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** EXTEND_TIMEOUT_USEC's value in ms (rounded up, at most MAX_TIMER_MS), or null when it is no decimal number of µs. */
export function extendMs(value: string): number | null {
  if (!/^\d{1,20}$/.test(value)) return null;
  return Math.min(MAX_TIMER_MS, Math.ceil(Number(value) / 1000));
}

/** Applies one message's fields to the service (the sender was checked to be one of its processes). */
export function applyNotify(rec: ServiceRecord, fields: Map<string, string>, act: NotifyActions): void {
  const name = rec.config.name;
  const status = fields.get("STATUS");
  if (status !== undefined) rec.statusText = status.slice(0, 4096);
  const main = fields.get("MAINPID");
  if (main !== undefined) {
    const pid = Number(main);
    if (Number.isInteger(pid) && pid > 0 && act.belongs(pid)) {
      if (pid !== rec.pid) {
        log.info("service names a new main process", { service: name, pid, was: rec.pid });
        act.mainPid(pid);
      }
    } else {
      log.warn("MAINPID is not a process of the service; ignored", { service: name, mainpid: main });
    }
  }
  if (fields.get("STOPPING") === "1") log.info("service reports it is stopping", { service: name });
  const extend = fields.get("EXTEND_TIMEOUT_USEC");
  if (extend !== undefined) {
    const ms = extendMs(extend);
    if (ms === null) log.warn("EXTEND_TIMEOUT_USEC is not a number of microseconds; ignored", { service: name, value: extend.slice(0, 64) });
    else act.extendTimeout(ms);
  }
  if (fields.get("WATCHDOG") === "1") act.watchdogPing();
  if (fields.get("WATCHDOG") === "trigger") act.watchdogTrigger();
  if (fields.get("READY") === "1") {
    if (rec.config.ready && "notify" in rec.config.ready) act.ready();
    else log.debug("READY=1 from a service whose readiness is not notify; ignored", { service: name });
  }
}
