// Shutdown: the phase table walked in reverse under one deadline, sync, the status line, then reboot(2) (PID 1) or exit.
import { describeError } from "../errors.ts";
import { drainDescendants } from "../init/drain.ts";
import { disableKmsg, logger } from "../log.ts";
import { reboot, syncBounded, type RebootMode } from "../sys/machine.ts";
import { INIT_PID_NS, pidNamespaceInode } from "../supervisor/service-cgroup.ts";
import { consoleDrain } from "../util/console-out.ts";
import { withDeadline } from "../util/deadline.ts";
import { emitStatus, machineStatus } from "./exit-status.ts";
import type { Boot, Phase, PhaseRun } from "./phase.ts";
import { longestStopMs } from "./services-phase.ts";
import type { ShutdownRequest } from "./shutdown-signals.ts";

const log = logger("shutdown");

/** What the phases left after the shutdown deadline share (ms). */
const LATE_GRACE_MS = 2_000;

export interface StartedPhase {
  phase: Phase;
  run: PhaseRun;
}

/**
 * The shutdown deadline (ms) for a config: shutdown_deadline_ms, default the longest stop (the
 * top-level grace, or the longest chain of services stopping one after another, each its grace with
 * its post_stop's timeout: longestStopMs) + 10 s. It was grace_ms + 10 s:
 * a service with a longer grace that ignored its stop signal was never sent SIGKILL, and outlived a
 * development init.
 */
export const shutdownDeadlineMs = (c: Parameters<typeof longestStopMs>[0] & { shutdown_deadline_ms?: number | undefined }): number => c.shutdown_deadline_ms ?? longestStopMs(c) + 10_000;

/**
 * Stops the started phases in reverse order. Past the deadline PID 1 stops waiting for what is left
 * and goes on to sync and reboot(2); it never returns then (if reboot(2) fails it logs and stays up:
 * PID 1 must not exit). Outside PID 1 resolves to the exit status. Before either, the status line
 * (src/boot/exit-status.ts): the main service's exit decides the status when it ended the machine.
 */
export async function shutdown(b: Partial<Boot>, started: StartedPhase[], req: ShutdownRequest, status = 0, handover: Promise<void> | null = null): Promise<number> {
  // Not the shim's getpid(): a boot whose shim failed to load threw here, and PID 1 exited (71).
  const pid1 = b.ctx?.pid1 ?? process.pid === 1;
  const mode: RebootMode = req.mode ?? b.config?.shutdown ?? "poweroff";
  const deadlineMs = b.config ? shutdownDeadlineMs(b.config) : 10_000;
  const end = performance.now() + deadlineMs;
  // A live re-exec handing over (`handover`) is waited out first, within the deadline: a handover
  // waiting for a journal's fdatasync on a disk that no longer answered held the shutdown (and its
  // deadline, sync and reboot(2)) for as long.
  if (handover && (await withDeadline(() => handover, deadlineMs)) === "timeout") {
    log.error("the live re-exec's handover did not end before the shutdown deadline; shutting down beside it");
  }
  log.info("phase shutdown", { reason: req.reason, mode: pid1 ? mode : "exit", deadline_ms: deadlineMs });
  // Services stop after the phases started later, but from now on none is restarted or started.
  b.supervisor?.beginShutdown();
  let cutShort = false;
  // Past the deadline the phases left share a last LATE_GRACE_MS, as the sync gets at least that:
  // skipped outright, the journal's close and final checkpoint and the state disk's unmount never
  // ran, and the file systems met reboot(2) mounted read-write.
  let lateEnd: number | null = null;
  for (const { phase, run } of [...started].reverse()) {
    if (!run.stop) continue;
    let left = end - performance.now();
    if (left <= 0) {
      lateEnd ??= performance.now() + LATE_GRACE_MS;
      left = lateEnd - performance.now();
      cutShort = true;
      if (left <= 0) {
        log.error("shutdown deadline passed: not waiting for this phase", { phase: phase.name });
        continue;
      }
      log.warn("shutdown deadline passed: stopping this phase in what is left of the last grace", { phase: phase.name, grace_left_ms: Math.round(left) });
    }
    let failed = false;
    const r = await withDeadline(async () => {
      try {
        await run.stop!(left);
      } catch (e) {
        failed = true;
        log.error("stop failed", { phase: phase.name, error: describeError(e) });
      }
    }, left);
    if (r === "timeout") {
      log.error("shutdown deadline passed while stopping; going on", { phase: phase.name, deadline_ms: deadlineMs });
      cutShort = true;
    } else if (!failed) log.info("stopped", { phase: phase.name });
  }
  // As PID 1 reboot(2) ends what the deadline cut short; outside PID 1 nothing would (the processes
  // are reparented and run on): SIGTERM and, at once, SIGKILL every descendant left, before the exit.
  if (cutShort && !pid1 && b.reaper) {
    log.error("shutdown deadline passed: killing the processes left", { deadline_ms: deadlineMs });
    await drainDescendants(b.reaper, { graceMs: 0, killWaitMs: 2_000 });
  } else if (!pid1 && b.reaper && b.handoff && !b.supervisor) {
    // A re-exec'd image that failed before its services phase: the services handed over to it ran on
    // with no supervisor after its exit (reparented). They get the stop signal and a grace, then SIGKILL.
    // Each service's own grace (the longest of them: a database flushing), within what is left of the deadline.
    const longest = Math.max(b.config?.grace_ms ?? 2_000, ...(b.config?.services ?? []).map((s) => s.grace_ms));
    const graceMs = Math.max(0, Math.min(longest, end - performance.now() - 4_000));
    log.error("the services handed over were never taken up (the boot failed before its services phase): stopping them", { grace_ms: Math.round(graceMs) });
    await drainDescendants(b.reaper, { graceMs, killWaitMs: 2_000 });
  }
  // On a thread of its own: a hung disk costs at most what is left of the deadline (at least 2 s).
  const synced = await syncBounded(Math.max(2_000, end - performance.now())).catch((e: unknown) => {
    log.error("sync failed", { error: describeError(e) });
    return false;
  });
  if (synced) log.info("synced");
  else log.error("sync did not return in time; going on without it");
  const main = b.config?.services.find((s) => s.main) ?? null;
  const machine = machineStatus(req.reason, status, { name: main?.name ?? null, exit: b.mainExit ?? null }, heartbeatCounts(b));
  await emitStatus(machine);
  status = machine.exit;
  if (!pid1) {
    log.info("shutdown complete", { status });
    return status;
  }
  // PID 1 of a PID namespace that is not the machine's (a container, `unshare --pid`): reboot(2) would
  // end it by SIGINT and lose the main service's status; exiting ends the namespace just the same.
  if (main && pidNamespaceInode() !== INIT_PID_NS) {
    log.info("exit now (PID 1 of a PID namespace: the main service's status leaves through exit)", { status });
    // Kept armed for reboot(2) until now: an exit closes the descriptor, so disarm it (magic close) first.
    b.watchdog?.disarm();
    disableKmsg();
    consoleDrain(1000);
    process.exit(status);
  }
  // reboot(2) in a PID namespace that is not the machine's ends the namespace, closing the watchdog
  // without the magic 'V': the device (the host's /dev/watchdog under `unshare --pid`) stayed armed
  // and reset the machine a minute later. Only the machine's own reboot needs it armed to the end.
  if (pidNamespaceInode() !== INIT_PID_NS) b.watchdog?.disarm();
  log.info(`${mode} now`);
  disableKmsg();
  consoleDrain(1000);
  try {
    reboot(mode);
  } catch (e) {
    // PID 1 of a container without CAP_SYS_BOOT (Docker drops it): staying up, it ignored every
    // later SIGTERM ("already under way") until SIGKILL (`docker stop`: 10 s, 137). Its exit ends
    // the namespace as the reboot would have. The machine's own PID 1 must not exit: it stays up.
    if (pidNamespaceInode() !== INIT_PID_NS) {
      log.error("reboot(2) failed; exiting instead (PID 1 of a PID namespace: its exit ends it)", { error: describeError(e), status });
      b.watchdog?.disarm();
      consoleDrain(1000);
      process.exit(status);
    }
    log.error("reboot(2) failed; staying up", { error: describeError(e) });
  }
  return new Promise<number>(() => {
    setInterval(() => b.reaper?.reapNow(), 1000);
  });
}

/** The last beat's number and the beats that failed (zeros when the heartbeat never ran). */
function heartbeatCounts(b: Partial<Boot>): { beats: number; errors: number } {
  try {
    const s = b.heartbeat?.stats();
    return s ? { beats: s.beat, errors: s.errors } : { beats: 0, errors: 0 };
  } catch {
    return { beats: 0, errors: 0 };
  }
}
