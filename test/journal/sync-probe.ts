// Inside a scenario script run under strace: whether a thread of this process is in fdatasync now (from /proc), and a clock comparable with strace's.
import { readdirSync, readFileSync } from "node:fs";

/** fdatasync's system call number (what /proc/<tid>/syscall starts with while a thread is in it). */
const FDATASYNC = process.arch === "arm64" ? 83 : 75;

/** True while one of this process's threads (Bun runs an async fdatasync on its thread pool) is inside fdatasync. */
export function syncInFlight(): boolean {
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/syscall`, "utf8").startsWith(`${FDATASYNC} `)) return true;
    } catch {
      /* the thread ended */
    }
  }
  return false;
}

/** Wall-clock time in milliseconds with sub-millisecond resolution (strace -ttt prints the same clock). */
export const nowMs = (): number => performance.timeOrigin + performance.now();

/** Waits, turn by turn of the event loop, until `cond` holds; throws naming `what` after `timeoutMs`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = nowMs() + timeoutMs;
  while (!cond()) {
    if (nowMs() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}
