// Removing the journal segments a checkpoint covers: whole segments only, oldest first, never the last.
import { unlinkSync } from "node:fs";
import { join } from "node:path";
import { fsyncDir } from "./fs-durable.ts";
import { listSegments } from "./recovery.ts";

/**
 * Deletes the segments of `dir` whose records all have a sequence number <= `upToSeq` (a segment's
 * last record is the one before the next segment's first, so the last segment always stays), then
 * makes the removals durable. Returns how many went.
 */
export function removeCoveredSegments(dir: string, upToSeq: number): number {
  const segs = listSegments(dir);
  let removed = 0;
  for (let i = 0; i + 1 < segs.length; i++) {
    if (segs[i + 1]!.firstSeq - 1 > upToSeq) break;
    unlinkSync(join(dir, segs[i]!.name));
    removed++;
  }
  if (removed) fsyncDir(dir);
  return removed;
}
