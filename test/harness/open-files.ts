// What a process's descriptors name, read from /proc/PID/fd (descriptor number -> link target).
import { readdirSync, readlinkSync } from "node:fs";

/** Each open descriptor of `pid` and what it names; empty once the process is gone (one closed meanwhile is left out). */
export function openFiles(pid: number | "self"): Map<number, string> {
  const out = new Map<number, string>();
  let names: string[];
  try {
    names = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const n of names) {
    try {
      out.set(Number(n), readlinkSync(`/proc/${pid}/fd/${n}`));
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

/** The descriptor under which `pid` holds `path` open, or null. */
export function openAs(pid: number, path: string): number | null {
  for (const [fd, target] of openFiles(pid)) if (target === path) return fd;
  return null;
}
