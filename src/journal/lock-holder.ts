// Who holds a flock(2) on a file: its pid from /proc/locks (best effort, for an error message).
import { readFileSync, type Stats } from "node:fs";

/** Linux's dev_t split into major and minor, as /proc/locks prints them ("%02x:%02x"). */
function majorMinor(dev: number): string {
  const hi = Math.floor(dev / 0x1_0000_0000);
  const lo = dev >>> 0;
  const major = ((lo >>> 8) & 0xfff) | ((hi & 0xfffff000) >>> 0);
  const minor = (lo & 0xff) | ((lo >>> 12) & 0xfff00);
  return `${major.toString(16).padStart(2, "0")}:${minor.toString(16).padStart(2, "0")}`;
}

/** The pid (as this process's namespace sees it) holding a FLOCK on the file `st` describes, or null. */
export function flockHolder(st: Stats): number | null {
  let text: string;
  try {
    text = readFileSync("/proc/locks", "utf8");
  } catch {
    return null;
  }
  const where = `${majorMinor(st.dev)}:${st.ino}`;
  for (const line of text.split("\n")) {
    // "1: FLOCK  ADVISORY  WRITE 22476 fe:00:15402170 0 EOF" (blocked waiters start "1: -> FLOCK")
    const f = line.trim().split(/\s+/);
    if (f[1] === "FLOCK" && f[5] === where && /^\d+$/.test(f[4] ?? "")) return Number(f[4]);
  }
  return null;
}
