// One writer per state directory: exclusive flocks on STATE_DIR/LOCK and on the directory itself, held while the journal is open.
import { closeSync, constants, fstatSync, ftruncateSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, JournalError } from "../errors.ts";
import { privateDirProblem } from "../util/private-dir.ts";
import { makeDirDurable } from "./fs-durable.ts";
import { tryLockExclusive } from "../sys/flock.ts";
import { setInheritable } from "../sys/process.ts";
import { flockHolder } from "./lock-holder.ts";

export interface StateLock {
  readonly path: string;
  release(): void;
  /**
   * Live re-exec: keeps the two descriptors open across execve (true, at the exec itself) or closes
   * them there again (false: the exec failed). Returns their numbers for the handoff.
   */
  handOver(inherit: boolean): HandedStateLock;
}

/** The descriptors of a state directory's lock as handed to the next image: LOCK's, and the directory's (null: it could not be locked, NFS). */
export interface HandedStateLock {
  file: number;
  dir: number | null;
}

/**
 * Locks `stateDir` for this process (the file holds our pid, for the message another one gets).
 * Throws JournalError naming the holder when another init, or an offline `journal` command, has it;
 * ConfigError when the directory (a symlink followed) is another user's, or writable by group or others.
 * The kernel drops the lock when the process dies, however it dies.
 */
export function lockStateDir(stateDir: string, what = "vector-boot"): StateLock {
  const path = join(stateDir, "LOCK");
  let fd: number;
  // A first boot makes the state dir (and any missing parent): each fsynced into its parent, or a
  // power cut could drop the directory with the journal of every mutation acknowledged in it.
  makeDirDurable(stateDir);
  refuseSharedStateDir(stateDir);
  try {
    fd = openSync(path, "a+", 0o600);
  } catch (cause) {
    throw new JournalError(`cannot open the state directory lock ${path}`, { cause });
  }
  let locked: boolean;
  try {
    locked = tryLockExclusive(fd);
  } catch (cause) {
    closeSync(fd);
    throw new JournalError(`cannot lock ${path}`, { cause });
  }
  if (!locked) {
    let holder = "";
    try {
      holder = readFileSync(path, "utf8").trim();
    } catch {
      /* unreadable: no name */
    }
    closeSync(fd);
    throw new JournalError(`state directory ${stateDir} is in use by another process${holder ? ` (${holder})` : ""}: one writer at a time (stop it first)`);
  }
  // The directory itself is locked too. A LOCK file removed while its holder ran (taken for a stale
  // lock file: the lock is on the file's inode, not its name) let the next init or offline tool
  // create a new LOCK and lock that: two writers appended to one journal segment at the same offsets,
  // and a mutation one of them had acknowledged was overwritten by the other's.
  let dirFd = -1;
  let dirLocked = true;
  try {
    dirFd = openSync(stateDir, constants.O_RDONLY | constants.O_DIRECTORY);
    dirLocked = tryLockExclusive(dirFd);
  } catch {
    // A file system that cannot flock a directory (NFS emulates flock with write locks): the LOCK file's lock alone.
    if (dirFd >= 0) closeSync(dirFd);
    dirFd = -1;
  }
  if (!dirLocked) {
    let pid: number | null = null;
    try {
      pid = flockHolder(fstatSync(dirFd));
    } catch {
      /* no name */
    }
    closeSync(dirFd);
    closeSync(fd);
    throw new JournalError(
      `state directory ${stateDir} is in use by another process${pid !== null ? ` (pid ${pid})` : ""}, whose LOCK file was removed or replaced while it ran: one writer at a time (stop it first)`,
    );
  }
  try {
    ftruncateSync(fd, 0);
    writeSync(fd, `pid ${process.pid} ${what}\n`);
  } catch {
    /* the lock holds without the note */
  }
  return heldLock(path, fd, dirFd >= 0 ? dirFd : null);
}

/**
 * Throws ConfigError when `stateDir` (a symlink followed) is another user's, or writable by group or
 * others. Everything in it (journal, checkpoints' temp files, logs, LOCK) is written as root: a
 * state_dir another user owns or may write let that user plant symlinks the init followed.
 */
export function refuseSharedStateDir(stateDir: string): void {
  const problem = privateDirProblem(stateDir, statSync(stateDir)); // a symlink to a directory of ours is fine
  if (problem) throw new ConfigError("state_dir", problem);
}

/** The lock this process holds through `fd` (on `path`) and `dirFd` (on its directory, null when none). */
export function heldLock(path: string, fd: number, dirFd: number | null): StateLock {
  let held = true;
  return {
    path,
    release: () => {
      if (!held) return;
      held = false;
      closeSync(fd); // closing the last descriptor releases the lock
      if (dirFd !== null) closeSync(dirFd);
    },
    handOver: (inherit) => {
      setInheritable(fd, inherit);
      if (dirFd !== null) setInheritable(dirFd, inherit);
      return { file: fd, dir: dirFd };
    },
  };
}
