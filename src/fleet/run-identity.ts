// A run's identity in the fleet: the lease id it saves in the state dir, and the instance token it writes in its node value.
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { z } from "zod";
import { writeFileAtomicAsync } from "../journal/fs-durable.ts";
import { logger } from "../log.ts";
import { readRegularFile } from "../util/regular-file.ts";
import { parseKvJson, type LeaseId } from "./etcd-client.ts";

const log = logger("fleet");

const leaseIdPattern = /^[1-9][0-9]{0,19}$/;
export const instancePattern = /^[0-9a-f]{16}$/;

/** A fresh instance token: one per run (a re-exec hands it to the next image). */
export const newInstance = (): string => randomBytes(8).toString("hex");

/** The lease id kept in `file`, or null (missing, unreadable, not a lease id): never throws, never blocks. */
export function readLeaseFile(file: string): LeaseId | null {
  try {
    const text = readRegularFile(file).toString("utf8").trim();
    return leaseIdPattern.test(text) ? text : null;
  } catch {
    return null;
  }
}

/** Saves the lease id for a run after a crash (null: removes it); a failure only costs that run a wait (logged). */
export async function keepLeaseFile(file: string, id: LeaseId | null): Promise<void> {
  try {
    if (id === null) rmSync(file, { force: true });
    else await writeFileAtomicAsync(file, [new TextEncoder().encode(`${id}\n`)]);
  } catch (e) {
    log.warn("fleet lease id not kept in the state dir", { file, error: String(e).slice(0, 200) });
  }
}

const writerSchema = z.object({ instance: z.string().regex(instancePattern).optional() });

/** Who wrote a node value read back from etcd (external input): its instance token, null when absent or malformed. */
export function writerOf(value: string): { instance: string | null } {
  const r = parseKvJson(value, writerSchema);
  return { instance: r.success ? (r.data.instance ?? null) : null };
}
