// Process and zombie counts for hw.mmio: one read of every /proc/PID/stat, repeated at most every `everyMs`.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parsePidStat } from "./proc-parsers.ts";

export interface ProcCounts {
  total: number;
  zombies: number;
  /** The proc root could not be listed (both counts 0). */
  missing: boolean;
}

/**
 * The scan is most of a sample's cost (87 % of its CPU with 76 processes, more with more), while
 * the counts it gives change slowly: a newer scan than `everyMs` ago is reused (0: scan every time).
 */
export class ProcScan {
  private at = -1;
  private last: ProcCounts = { total: 0, zombies: 0, missing: false };

  constructor(
    private readonly procRoot: string,
    private readonly everyMs: number,
    private readonly read: (path: string) => string | null,
  ) {}

  counts(nowMs: number): ProcCounts {
    if (this.at >= 0 && nowMs - this.at < this.everyMs) return this.last;
    this.at = nowMs;
    return (this.last = this.scan());
  }

  private scan(): ProcCounts {
    let names: string[];
    try {
      names = readdirSync(this.procRoot);
    } catch {
      return { total: 0, zombies: 0, missing: true };
    }
    let total = 0;
    let zombies = 0;
    for (const n of names) {
      const c = n.charCodeAt(0);
      if (c < 48 || c > 57) continue;
      const t = this.read(join(this.procRoot, n, "stat"));
      const s = t === null ? null : parsePidStat(t);
      if (!s) continue;
      total++;
      if (s.state === "Z") zombies++;
    }
    return { total, zombies, missing: false };
  }
}
