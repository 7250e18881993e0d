// The base model a journal directory's segments name (their headers only): whose history a state dir without LINEAGE holds.
import { closeSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { decodeSegmentHeader, SEGMENT_HEADER_SIZE } from "./format.ts";
import { listSegments } from "./recovery.ts";

/**
 * The one lineage (hex SHA-256 of a base model) the segments in `dir` record, or why there is none
 * to go by: no segment, a header that cannot be read, two lineages, or a segment that records none
 * after one that does. Segments that record none (version 1, from an image before segments named
 * their model) are taken with the lineage only when they all come before the first that records it:
 * the journal itself writes that (an image reading version-1 segments under LINEAGE starts a
 * version-2 segment), never the other order.
 */
export function segmentsLineage(dir: string): { lineage: string } | { none: string } {
  let segs: { name: string; firstSeq: number }[];
  try {
    segs = listSegments(dir);
  } catch {
    return { none: "no journal directory" };
  }
  if (segs.length === 0) return { none: "no segment" };
  let lineage: string | null = null;
  for (const { name } of segs) {
    const h = decodeSegmentHeader(readHead(join(dir, name)));
    if ("problem" in h) return { none: `${name}: ${h.problem}` };
    if (h.lineage === null) {
      if (lineage !== null) return { none: `${name} records no lineage after a segment that records ${lineage}` };
      continue;
    }
    if (lineage !== null && h.lineage !== lineage) return { none: `${name} records ${h.lineage}, a segment before it ${lineage}` };
    lineage = h.lineage;
  }
  return lineage === null ? { none: "no segment records a lineage (version 1)" } : { lineage };
}

/** The first bytes of a segment, up to a header's size (fewer when the file is shorter, or unreadable). */
function readHead(path: string): Uint8Array {
  const b = new Uint8Array(SEGMENT_HEADER_SIZE);
  let fd = -1;
  try {
    fd = openSync(path, "r");
    return b.subarray(0, readSync(fd, b, 0, b.length, 0));
  } catch {
    return b.subarray(0, 0);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
