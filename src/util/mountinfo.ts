// /proc/self/mountinfo as entries: each mount's point (octal escapes undone) and file system type, in mount order.
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface MountEntry {
  /** Where it is mounted (`\040` and the other escapes undone). */
  point: string;
  fstype: string;
}

/** Undoes mountinfo's octal escapes (\040 for a space, ...). */
const unescapeMount = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

/** The mounts of <procRoot>/self/mountinfo, oldest first; [] when it cannot be read (no /proc). */
export function mountEntries(procRoot = "/proc"): MountEntry[] {
  let text: string;
  try {
    text = readFileSync(join(procRoot, "self/mountinfo"), "utf8");
  } catch {
    return [];
  }
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const point = line.slice(0, sep).split(" ")[4];
    const fstype = line.slice(sep + 3).split(" ")[0];
    if (point && fstype) out.push({ point: unescapeMount(point), fstype });
  }
  return out;
}
