// Boot phase "storage" (PID 1): load kernel modules, mount the configured filesystems (the state disk).
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Config, MountConfig } from "../config/schema.ts";
import { describeError } from "../errors.ts";
import { mountEntries } from "../util/mountinfo.ts";
import { logger } from "../log.ts";
import { mount, MountFlag, syncBounded, umount } from "../sys/machine.ts";
import type { BootContext } from "./early-setup.ts";
import { loadKernelModules } from "./kernel-modules.ts";

const log = logger("boot");

const flagBits: Record<MountConfig["flags"][number], number> = { ro: MountFlag.RDONLY, nosuid: MountFlag.NOSUID, nodev: MountFlag.NODEV, noexec: MountFlag.NOEXEC, noatime: MountFlag.NOATIME, relatime: MountFlag.RELATIME };

/** Waits up to `ms` for `path`; gives up early when `cancelled()` (a shutdown was asked meanwhile). */
async function waitForPath(path: string, ms: number, cancelled: () => boolean): Promise<boolean> {
  const end = performance.now() + ms;
  if (!existsSync(path)) log.info("waiting for the mount source to appear", { source: path, wait_ms: ms });
  while (!existsSync(path)) {
    if (performance.now() >= end || cancelled()) return false;
    await Bun.sleep(20);
  }
  return true;
}

/** Mounts in order; returns the targets mounted (unmounted in reverse at shutdown). Never throws. */
async function mountAll(mounts: MountConfig[], cancelled: () => boolean): Promise<string[]> {
  const done: string[] = [];
  for (const m of mounts) {
    const level = m.optional ? "warn" : "error";
    if (m.source.startsWith("/dev/") && !(await waitForPath(m.source, m.wait_ms, cancelled))) {
      if (cancelled()) log.warn("not waiting for the mount source: shutting down", { source: m.source, target: m.target });
      else log[level]("mount source did not appear", { source: m.source, target: m.target, waited_ms: m.wait_ms });
      continue;
    }
    // Already mounted (a re-exec whose handoff could not be read boots as a fresh image; something
    // before the init mounted it): mounted again, a second file system hid the first, the state
    // dir on it included, and the shutdown unmounted only the top one. Only when it is this mount's
    // type: another file system there (a tmpfs, a volume) is not the disk, which is mounted over it.
    const there = mountedAt(m.target);
    if (there === m.fstype) {
      done.push(m.target);
      log.info("already mounted", { target: m.target });
      continue;
    }
    if (there !== null) log.warn("another file system is mounted on the target; mounting over it", { target: m.target, fstype: there });
    try {
      mkdirSync(m.target, { recursive: true });
      mount(m.source, m.target, m.fstype, m.flags.reduce((a, f) => a | flagBits[f], 0), m.options);
      done.push(m.target);
      log.info("mounted", { source: m.source, target: m.target, fstype: m.fstype });
    } catch (e) {
      log[level]("mount failed", { source: m.source, target: m.target, error: describeError(e) });
    }
  }
  return done;
}

/** The type of the file system mounted last on `target` (/proc/self/mountinfo), or null when none is. */
function mountedAt(target: string): string | null {
  const want = resolve(target);
  return mountEntries().findLast((m) => m.point === want)?.fstype ?? null;
}

/** True when `target` is a mount point: its device differs from its parent's. */
function isMountPoint(target: string): boolean {
  try {
    return statSync(target).dev !== statSync(dirname(resolve(target))).dev;
  } catch {
    return false;
  }
}

/**
 * The configured mount that `stateDir` lies under but that is not mounted (compared by st_dev), or
 * null. Then the state would land in the initramfs's RAM: evolution must not acknowledge anything.
 */
export function missingStateDisk(config: Config & { state_dir: string }): string | null {
  const state = resolve(config.state_dir);
  for (const m of config.mounts) {
    const t = resolve(m.target);
    if ((state === t || state.startsWith(`${t}/`)) && !isMountPoint(t)) return t;
  }
  return null;
}

/**
 * PID 1 only: modules, then mounts (a disk's wait ends when `cancelled()`: a shutdown was asked). Returns the unmount for the shutdown (it runs after every phase
 * above has flushed), or null when there is nothing to undo.
 */
export async function prepareStorage(ctx: BootContext, config: Config, resumed = false, cancelled: () => boolean = () => false): Promise<((leftMs: number) => Promise<void>) | null> {
  if (config.modules.length === 0 && config.mounts.length === 0) return null;
  if (!ctx.pid1) {
    log.info("phase storage skipped (not PID 1)", { modules: config.modules.length, mounts: config.mounts.length });
    return null;
  }
  log.info("phase storage", { modules: config.modules.join(",") || "-", mounts: config.mounts.length, resumed });
  // After a live re-exec the modules are loaded and the filesystems mounted already.
  if (!resumed) loadKernelModules(config.modules);
  // Resumed: the configured targets that are mount points (one that failed to mount before the
  // re-exec was taken as mounted, and its unmount at shutdown failed with EINVAL).
  const mounted = resumed ? config.mounts.filter((m) => mountedAt(m.target) === m.fstype).map((m) => m.target) : await mountAll(config.mounts, cancelled);
  return async (leftMs) => {
    // On a thread, bounded by what is left of the shutdown's deadline: sync(2) on the main thread
    // blocked it for as long as a disk did not answer (a stalled iSCSI or NFS, a pulled USB disk),
    // where no timer can fire: the deadline, sync and reboot(2) never came. A umount flushes too:
    // with a disk that did not finish its sync, the filesystems are left as they are for reboot(2).
    // A second is kept for the shutdown's own sync and reboot(2); at least 250 ms (a sync with nothing to write).
    if (!(await syncBounded(Math.max(250, leftMs - 1_000)))) {
      log.error("sync did not return before the deadline; filesystems left mounted", { targets: mounted.join(",") });
      return;
    }
    for (const t of [...mounted].reverse()) {
      try {
        umount(t);
        log.info("unmounted", { target: t });
      } catch (e) {
        try {
          mount("none", t, "", MountFlag.REMOUNT | MountFlag.RDONLY);
          log.warn("busy; remounted read-only", { target: t, error: describeError(e) });
        } catch (e2) {
          log.error("could not unmount or remount read-only", { target: t, error: describeError(e2) });
        }
      }
    }
  };
}
