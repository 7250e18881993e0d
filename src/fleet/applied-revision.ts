// fleet-applied.json: the last fleet revision a node applied, and the etcd cluster it is a revision of.
import { z } from "zod";
import { writeFileAtomicAsync } from "../journal/fs-durable.ts";
import { issuesText } from "../util/issues-text.ts";
import { readRegularFile } from "../util/regular-file.ts";

/** The file's schema; `cluster_id` is absent in files written before it was recorded. */
const appliedSchema = z.object({ revision: z.number().int().min(0), cluster_id: z.string().max(64).optional() }).strict();

/** The revision saved in `file`, or why it cannot be read (not a regular file, not JSON, not the schema); never blocks on a FIFO. */
export function readApplied(file: string): { revision: number; clusterId: string | null; why?: undefined } | { revision: null; why: string } {
  let json: unknown;
  try {
    json = JSON.parse(readRegularFile(file).toString("utf8"));
  } catch (e) {
    return { revision: null, why: (e instanceof Error ? e.message : String(e)).slice(0, 200) };
  }
  const r = appliedSchema.safeParse(json);
  return r.success ? { revision: r.data.revision, clusterId: r.data.cluster_id ?? null } : { revision: null, why: issuesText(r.error.issues, "value").slice(0, 200) };
}

/** Replaces `file` with `revision` of the etcd cluster `clusterId` (null: not known), durably, off the event loop. */
export function writeApplied(file: string, revision: number, clusterId: string | null): Promise<void> {
  return writeFileAtomicAsync(file, [new TextEncoder().encode(JSON.stringify({ revision, ...(clusterId !== null ? { cluster_id: clusterId } : {}) }))]);
}
