// Boot phase "early": as PID 1 mount what is missing, create devices, log to kmsg; else become a subreaper.
import { existsSync, readFileSync, readlinkSync, statSync, symlinkSync } from "node:fs";
import { describeError } from "../errors.ts";
import { enableKmsg, logger } from "../log.ts";
import { clockNs, mkdirp1, mknod, mount, reboot } from "../sys/machine.ts";
import { getpid, setSubreaper } from "../sys/process.ts";
import { earlyDevices, earlyLinks, earlyMounts } from "./mount-table.ts";
import { cmdlineText } from "../config/cmdline.ts";
import { startTimeOf } from "../util/process-exists.ts";
import { mountEntries } from "../util/mountinfo.ts";

const log = logger("boot");

export interface BootContext {
  pid1: boolean;
  /** CLOCK_BOOTTIME ns when this process was exec'd (from /proc/self/stat), for boot timing. */
  execBoottimeNs: number;
  /** The kernel command line (PID 1), or what the caller passed with --cmdline. */
  cmdline: string;
}

/** Time since the init's process started (ms): a live re-exec keeps the process, so it runs on across images. */
export function sinceExecMs(ctx: BootContext): number {
  return (clockNs("boottime") - ctx.execBoottimeNs) / 1e6;
}

const mountedTargets = (): Set<string> => new Set(mountEntries().map((m) => m.point));

/** When this process started, in CLOCK_BOOTTIME ns (starttime is in clock ticks since boot). */
function execTimeNs(): number {
  // The pre-init records the moment it execs us (our /proc start time is the kernel's PID 1 creation).
  const fromPreinit = process.env.VECTOR_BOOT_EXEC_BOOTTIME_NS;
  if (fromPreinit && /^\d+$/.test(fromPreinit)) return Number(fromPreinit);
  const ticks = startTimeOf("self");
  if (ticks !== null) return (ticks / 100) * 1e9;
  return clockNs("boottime");
}

/**
 * PID 1 of a PID namespace whose mount namespace is its caller's (`unshare --pid --fork` without
 * --mount): /proc is not ours (its `self` is not 1) and our parent there shares our mount namespace.
 * Mounting then covered the caller's /run and /tmp with tmpfs that outlived the init. False when
 * /proc cannot tell (a kernel's init before /proc is mounted mounts as always).
 */
export function mountsAreCallers(): boolean {
  try {
    if (readlinkSync("/proc/self") === "1") return false; // a /proc of our own (--mount-proc: a mount namespace of our own too)
    const stat = readFileSync("/proc/self/stat", "latin1");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return ppid > 0 && statSync(`/proc/${ppid}/ns/mnt`).ino === statSync("/proc/self/ns/mnt").ino;
  } catch {
    return false;
  }
}

function mountEarly(): void {
  if (mountsAreCallers()) {
    log.warn("not mounting /run, /tmp, /dev/shm ...: this PID 1 shares its mount namespace with the process that started it (use unshare --mount, or --mount-proc)");
    return;
  }
  const have = mountedTargets();
  for (const m of earlyMounts) {
    if (have.has(m.target)) continue;
    try {
      mkdirp1(m.target);
      mount(m.source, m.target, m.fstype, m.flags, m.data);
      log.info("mounted", { target: m.target, fstype: m.fstype });
    } catch (e) {
      (m.optional ? log.debug : log.warn)("mount failed", { target: m.target, error: describeError(e) });
    }
  }
  for (const d of earlyDevices) {
    if (existsSync(d.path)) continue;
    try {
      mknod(d.path, d.mode, d.major, d.minor);
    } catch (e) {
      log.warn("mknod failed", { path: d.path, error: describeError(e) });
    }
  }
  for (const l of earlyLinks) {
    if (existsSync(l.path)) continue;
    try {
      symlinkSync(l.target, l.path);
    } catch {
      /* optional */
    }
  }
}

/** Runs the early phase; never throws (PID 1 must come up to report problems). */
export function earlySetup(opts: { cmdline?: string; resumed?: boolean }): BootContext {
  const pid1 = getpid() === 1;
  if (pid1 && !opts.resumed) {
    mountEarly();
    if (enableKmsg()) log.debug("logging to /dev/kmsg");
    try {
      // Ctrl-Alt-Del now sends SIGINT to us instead of rebooting at once.
      reboot("cad-off");
    } catch (e) {
      log.debug("could not disable ctrl-alt-del", { error: describeError(e) });
    }
  } else if (pid1) {
    enableKmsg();
  } else {
    try {
      setSubreaper(true);
    } catch (e) {
      log.warn("could not become a child subreaper", { error: describeError(e) });
    }
  }
  let cmdline = opts.cmdline ?? "";
  if (opts.cmdline === undefined && pid1) {
    try {
      // Split as bytes, as the kernel splits it, before decoding: decoded whole, a raw 0xA0 (a space to the kernel) became U+FFFD.
      cmdline = cmdlineText(readFileSync("/proc/cmdline"));
    } catch {
      /* no /proc: nothing to read */
    }
  }
  const ctx: BootContext = { pid1, execBoottimeNs: execTimeNs(), cmdline };
  log.info("phase early", { mode: pid1 ? "pid1" : "subreaper", pid: getpid(), preinit: process.env.VECTOR_BOOT_PREINIT === "1" });
  return ctx;
}
