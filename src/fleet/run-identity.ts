// A run's identity in the fleet: the lease id it saves in the state dir, and the instance token it writes in its node value.
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { z } from "zod";
import { writeFileAtomicAsync } from "../journal/fs-durable.ts";
import { logger } from "../log.ts";
import { readRegularFile } from "../util/regular-file.ts";
import { parseKvJson, type EtcdClient, type LeaseId } from "./etcd-client.ts";

const log = logger("fleet");

const leaseIdPattern = /^[1-9][0-9]{0,19}$/;
export const instancePattern = /^[0-9a-f]{16}$/;

/** A fresh instance token: one per run (a re-exec hands it to the next image). */
export const newInstance = (): string => randomBytes(8).toString("hex");

/** Whose lease it is: the fleet and node it was granted for ("fleet/node"). */
export const leaseOwner = (fleet: string, node: string): string => `${fleet}/${node}`;

/**
 * The lease id kept in `file` and whose it was (`file`.owner; null: kept by an image before the owner
 * was), or null (missing, unreadable, not a lease id): never throws, never blocks. Two files, so the
 * lease file stays what older images read.
 */
export function readLeaseFile(file: string): { id: LeaseId; owner: string | null } | null {
  try {
    // The first line: a file an image of 2026-12-06 wrote held its owner on a second one.
    const id = readRegularFile(file).toString("utf8").trim().split("\n")[0]!.trim();
    if (!leaseIdPattern.test(id)) return null;
    let owner: string | null = null;
    try {
      owner = readRegularFile(`${file}.owner`).toString("utf8").trim() || null;
    } catch {
      // None kept.
    }
    return { id, owner };
  } catch {
    return null;
  }
}

/** Saves the lease id (and its owner) for a run after a crash (null: removes them); a failure only costs that run a wait (logged). */
export async function keepLeaseFile(file: string, id: LeaseId | null, owner: string): Promise<void> {
  try {
    if (id === null) {
      rmSync(file, { force: true });
      rmSync(`${file}.owner`, { force: true });
      return;
    }
    // The owner first: a lease file is never newer than the owner written with it.
    await writeFileAtomicAsync(`${file}.owner`, [new TextEncoder().encode(`${owner}\n`)]);
    await writeFileAtomicAsync(file, [new TextEncoder().encode(`${id}\n`)]);
  } catch (e) {
    log.warn("fleet lease id not kept in the state dir", { file, error: String(e).slice(0, 200) });
  }
}

/** Revokes (best effort) a previous run's lease for another node or fleet: its keys go with it. */
export async function revokeForeignLease(c: EtcdClient, id: LeaseId): Promise<void> {
  await c.revoke(id, 2000).then(
    () => log.info("fleet lease of this machine's previous node id or fleet revoked (its keys go with it)", { lease: id }),
    (e: unknown) => log.warn("fleet lease of this machine's previous node id or fleet not revoked (it expires by itself)", { lease: id, error: String(e).slice(0, 200) }),
  );
}

const writerSchema = z.object({ instance: z.string().regex(instancePattern).optional() });

/** Who wrote a node value read back from etcd (external input): its instance token, null when absent or malformed. */
export function writerOf(value: string): { instance: string | null } {
  const r = parseKvJson(value, writerSchema);
  return { instance: r.success ? (r.data.instance ?? null) : null };
}
