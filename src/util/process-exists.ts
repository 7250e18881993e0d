// Whether a pid names a live process (signal 0), its parent and session: what a killed process left behind is cleared only once its pid is gone.
import { readFileSync } from "node:fs";
import { splitStat, statField } from "./proc-stat.ts";

/** True unless the kernel says no such process (ESRCH); EPERM (someone else's process) is alive. */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code !== "ESRCH";
  }
}

/** Field `n` of /proc/PID/stat as proc(5) numbers them (4 ppid, 5 pgrp, 6 session, 22 starttime), a number, or null when it is gone or cannot be read. */
function statNumber(pid: number | "self", n: number): number | null {
  try {
    const line = splitStat(readFileSync(`/proc/${pid}/stat`, "latin1"));
    const v = line === null ? NaN : Number(statField(line, n));
    return Number.isInteger(v) ? v : null;
  } catch {
    return null;
  }
}

/** The parent pid of `pid` (/proc/PID/stat), or null when it is gone or cannot be read. */
export const parentOf = (pid: number): number | null => statNumber(pid, 4);

/** The process group id of `pid` (/proc/PID/stat), or null when it is gone or cannot be read. */
export const groupOf = (pid: number): number | null => statNumber(pid, 5);

/** The session id of `pid` (/proc/PID/stat), or null when it is gone or cannot be read. */
export const sessionOf = (pid: number): number | null => statNumber(pid, 6);

/**
 * When `pid` started (clock ticks since boot, /proc/PID/stat), or null when it is gone or cannot be
 * read: with the pid, it names one process (a pid reused by another process has another start time).
 * "self": this process, through /proc/self (readable before PID 1's /proc is its own namespace's).
 */
export const startTimeOf = (pid: number | "self"): number | null => statNumber(pid, 22);

/**
 * Whether `pid` still names the process whose start time was `born` when it was recorded (null: it
 * was gone then): false once it ended, and once its number names another process (pids wrap).
 */
export const sameProcess = (pid: number, born: number | null): boolean => born !== null && startTimeOf(pid) === born;

/**
 * Whether the number of process group `pgid`, recorded when its leader had start time `leaderStart`
 * (null: the leader was gone already, its group still in use), now names another process: the group
 * emptied and an unrelated process took its number (pids wrap). Signalling it reaches that process.
 */
export function groupNumberReused(pgid: number, leaderStart: number | null | undefined): boolean {
  const now = startTimeOf(pgid);
  return now !== null && now !== leaderStart;
}
