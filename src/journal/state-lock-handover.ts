// A state directory's lock across a live re-exec: the next image adopts the two descriptors the previous one kept open, or locks the directory anew.
import { closeSync, fstatSync, readdirSync, statSync, type BigIntStats } from "node:fs";
import { basename, join } from "node:path";
import { describeError } from "../errors.ts";
import { logger } from "../log.ts";
import { tryLockExclusive } from "../sys/flock.ts";
import { setInheritable } from "../sys/process.ts";
import { lazy } from "../util/lazy.ts";
import { handedFd, z } from "../util/zod-mini.ts";
import { fdTarget } from "../util/fd-target.ts";
import { heldLock, lockStateDir, refuseSharedStateDir, type HandedStateLock, type StateLock } from "./state-lock.ts";

const log = logger("evolution");

export const handedStateLockSchema = lazy(() => z.strictObject({ file: handedFd(), dir: z.nullable(handedFd()) }));

const fdStat = (n: number): BigIntStats | null => {
  try {
    return fstatSync(n, { bigint: true });
  } catch {
    return null; // not open
  }
};
const sameFile = (a: BigIntStats, b: BigIntStats): boolean => a.dev === b.dev && a.ino === b.ino;

/**
 * Why the handed descriptors are not this image's lock on `stateDir` (null: they are): each must be
 * the same file as STATE_DIR/LOCK and STATE_DIR (device and inode), and hold its lock (a lock this
 * open file holds is taken again at once; another process's refuses).
 */
function problemWith(stateDir: string, h: HandedStateLock): string | null {
  const file = fdStat(h.file);
  if (file === null || !file.isFile()) return `descriptor ${h.file} is not an open file`;
  let want: BigIntStats | null = null;
  try {
    want = statSync(join(stateDir, "LOCK"), { bigint: true });
  } catch {
    /* no LOCK there: another state_dir */
  }
  if (want === null || !sameFile(file, want)) return `descriptor ${h.file} is ${fdTarget(h.file) || "another file"}, not ${join(stateDir, "LOCK")} (another state_dir, or a LOCK file replaced)`;
  if (h.dir !== null) {
    const dir = fdStat(h.dir);
    if (dir === null || !dir.isDirectory() || !sameFile(dir, statSync(stateDir, { bigint: true }))) return `descriptor ${h.dir} is not the directory ${stateDir}`;
  }
  try {
    if (!tryLockExclusive(h.file) || (h.dir !== null && !tryLockExclusive(h.dir))) return "its lock is held by another process";
  } catch (e) {
    return describeError(e);
  }
  return null;
}

/**
 * Closes the descriptors a handoff names as a state directory's lock, each only when it is one
 * (a file named LOCK, a directory): never one this image opened at a number the part names. Never throws.
 */
export function closeHandedLock(h: unknown): void {
  if (typeof h !== "object" || h === null) return;
  const { file, dir } = h as Record<string, unknown>;
  const number = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 3;
  const close = (n: number) => {
    try {
      closeSync(n);
    } catch {
      /* already closed */
    }
  };
  if (number(file) && fdStat(file)?.isFile() && basename(fdTarget(file)) === "LOCK") close(file);
  if (number(dir) && fdStat(dir)?.isDirectory()) close(dir);
}

/**
 * The lock on `stateDir` for the evolution phase: the one the previous image handed over across a
 * live re-exec (`handed`: the evolution part's `stateLock`), kept from before the exec so no other
 * process (a second init, the offline `journal` command) could take the state dir while this image
 * loaded its model; else, or when the handed descriptors are not that lock (another state_dir, a
 * part it cannot read), they are closed and the directory locked anew (lockStateDir, which throws).
 */
export function takeStateLock(stateDir: string, handed: unknown): StateLock {
  if (handed === undefined) return lockOrHeld(stateDir);
  const r = handedStateLockSchema().safeParse(handed);
  let problem: string | null = "unreadable";
  try {
    if (r.success) problem = problemWith(stateDir, r.data);
  } catch (e) {
    problem = describeError(e); // the state dir itself gone: locked anew (which says why it cannot be)
  }
  if (r.success && problem === null) {
    try {
      return adopt(stateDir, r.data, "state directory lock handed over across the re-exec");
    } catch (e) {
      closeHandedLock(r.data);
      throw e;
    }
  }
  closeHandedLock(handed);
  log.warn(`the state directory lock handed over is not adopted (${problem}): closed; locking the state directory anew`, { state_dir: stateDir });
  return lockStateDir(stateDir);
}

/** The descriptors proven to be this image's lock on `stateDir`, kept (close-on-exec again). */
function adopt(stateDir: string, h: HandedStateLock, what: string): StateLock {
  // Checked as a lock taken anew checks it: a state_dir made group-writable since the boot is refused.
  refuseSharedStateDir(stateDir);
  setInheritable(h.file, false);
  if (h.dir !== null) setInheritable(h.dir, false);
  log.info(what, { state_dir: stateDir });
  return heldLock(join(stateDir, "LOCK"), h.file, h.dir);
}

/**
 * lockStateDir; when it finds the directory locked, the lock may be this process's own: a live
 * re-exec whose handoff this image could not read (cut short: it boots fresh) left the descriptors
 * open here, and the fresh boot found its own state dir "in use" and ran without evolution. Those
 * (found among this process's descriptors: STATE_DIR/LOCK and STATE_DIR by device and inode) are adopted.
 */
function lockOrHeld(stateDir: string): StateLock {
  try {
    return lockStateDir(stateDir);
  } catch (e) {
    const held = heldHere(stateDir);
    let problem: string | null = "none held";
    try {
      if (held !== null) problem = problemWith(stateDir, held);
    } catch {
      /* the directory gone meanwhile: the first error says why */
    }
    if (held === null || problem !== null) throw e;
    return adopt(stateDir, held, "state directory lock: held by descriptors the previous image handed over without a handoff this image could read; adopted");
  }
}

/** This process's descriptors of STATE_DIR/LOCK and STATE_DIR (device and inode), null when it has none of LOCK. */
function heldHere(stateDir: string): HandedStateLock | null {
  let lock: BigIntStats;
  let dir: BigIntStats;
  let names: string[];
  try {
    lock = statSync(join(stateDir, "LOCK"), { bigint: true });
    dir = statSync(stateDir, { bigint: true });
    names = readdirSync("/proc/self/fd");
  } catch {
    return null;
  }
  const found: HandedStateLock = { file: -1, dir: null };
  for (const n of names.map(Number)) {
    const st = Number.isInteger(n) && n >= 3 ? fdStat(n) : null;
    if (st?.isFile() && sameFile(st, lock) && found.file < 0) found.file = n;
    else if (st?.isDirectory() && sameFile(st, dir) && found.dir === null) found.dir = n;
  }
  return found.file >= 0 ? found : null;
}
