// Test helper: fields of /proc/PID/stat and the threads of a process, read through the one parser (src/util/proc-stat.ts).
import { readdirSync, readFileSync } from "node:fs";
import { splitStat, statField } from "../../src/util/proc-stat.ts";

/**
 * Field `n` of /proc/`of`/stat as proc(5) numbers them (3 state, 4 ppid, 14/15 utime/stime, 40
 * rt_priority, 41 policy); `of` is a pid, "self", or "PID/task/TID". Null when it is gone.
 */
export function procStatField(of: number | string, n: number): string | null {
  try {
    const line = splitStat(readFileSync(`/proc/${of}/stat`, "latin1"));
    return line === null ? null : (statField(line, n) ?? null);
  } catch {
    return null;
  }
}

/** The state letter of a process ("Z" a zombie, "T" stopped), or null when it is gone. */
export const procState = (of: number | string): string | null => procStatField(of, 3);

/** CPU ticks (utime + stime) of a process; throws when it is gone. */
export function cpuTicks(of: number | string): number {
  const u = procStatField(of, 14);
  const s = procStatField(of, 15);
  if (u === null || s === null) throw new Error(`/proc/${of}/stat: gone`);
  return Number(u) + Number(s);
}

/** Scheduling policy (field 41) and real-time priority (field 40) of a process or thread. */
export function schedOf(of: number | string): { policy: number; rtprio: number } {
  return { policy: Number(procStatField(of, 41)), rtprio: Number(procStatField(of, 40)) };
}

/** Threads of `pid` named `comm` (/proc/PID/task/TID/comm), with their scheduling policy; a thread that ends while listed is left out. */
export function threadsNamed(pid: number | "self", comm: string): { tid: number; policy: number }[] {
  const out: { tid: number; policy: number }[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let name: string;
    try {
      name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
    } catch {
      continue;
    }
    const policy = procStatField(`${pid}/task/${tid}`, 41);
    if (name === comm && policy !== null) out.push({ tid: Number(tid), policy: Number(policy) });
  }
  return out;
}
