// Whether a pid names a live process (signal 0), and its parent: what a killed process left behind is cleared only once its pid is gone.
import { readFileSync } from "node:fs";

/** True unless the kernel says no such process (ESRCH); EPERM (someone else's process) is alive. */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code !== "ESRCH";
  }
}

/** The parent pid of `pid` (/proc/PID/stat), or null when it is gone or cannot be read. */
export function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses; the last ")" ends it.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return Number.isInteger(ppid) ? ppid : null;
  } catch {
    return null;
  }
}
