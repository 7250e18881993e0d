// The fleet checkpoint: mutations every member acked, folded into one key, then deleted with their acks (fleet gc).
import { z } from "zod";
import { FleetError } from "../errors.ts";
import { cmpUnchanged, opDelete, opDeletePrefix, opPut, parseKvJson, type EtcdClient, type Kv } from "./etcd-client.ts";
import { ackSchema, acksPrefix, fleetMutationSchema, fleetPrefix, mutationKeyProblem, mutationsPrefix, readMembers } from "./keys.ts";

export const checkpointKey = (fleet: string): string => `${fleetPrefix(fleet)}checkpoint`;

/** One folded mutation (absolute values: applying the list in order gives the state at `through_revision`). */
const foldedSchema = z.object({ id: z.string(), tensor: z.string(), offset: z.number().int().min(0), values: z.array(z.number()).min(1), confidence: z.number() }).strict();

/**
 * The folded mutations' revisions (id -> revision), in a key of their own beside the checkpoint (images
 * that read the checkpoint with its strict schema would refuse a field in it): a node that resyncs
 * applies only those past what it applied itself. Missing (a gc by an older CLI): all are applied.
 */
export const checkpointRevisionsKey = (fleet: string): string => `${fleetPrefix(fleet)}checkpoint-revisions`;
const revisionsSchema = z.record(z.string(), z.number().int().min(0));
export type FoldedMutation = z.infer<typeof foldedSchema>;

export const checkpointSchema = z
  .object({
    /** Every mutation with a revision up to this one is in `mutations` (or superseded by a later one there). */
    through_revision: z.number().int().min(0),
    folded: z.number().int().min(0),
    mutations: z.array(foldedSchema),
    updated_at: z.number(),
  })
  .strict();
export type FleetCheckpoint = z.infer<typeof checkpointSchema>;

/** etcd's default --max-txn-ops is 128: a checkpoint put, then a mutation key and its acks' range each. */
const PER_TXN = 60;
/** etcd's default request limit is 1.5 MiB; the checkpoint stays well under it. */
export const MAX_CHECKPOINT_BYTES = 1024 * 1024;

/** The checkpoint and its mod revision (0: none yet), read at `revision` (0: now). */
export async function readCheckpoint(c: EtcdClient, fleet: string, timeoutMs?: number): Promise<{ checkpoint: FleetCheckpoint | null; modRevision: number; revision: number; clusterId: string | null; revisions: Record<string, number> | null }> {
  // One read (the prefix holds both keys): the checkpoint and its revisions as of the same revision.
  const r = await c.get(checkpointKey(fleet), { prefix: true, timeoutMs });
  const kv = r.kvs.find((k) => k.key === checkpointKey(fleet));
  const rv = r.kvs.find((k) => k.key === checkpointRevisionsKey(fleet));
  const parsed = rv ? parseKvJson(rv.value, revisionsSchema) : null;
  const revisions = parsed?.success ? parsed.data : null;
  if (!kv) return { checkpoint: null, modRevision: 0, revision: r.revision, clusterId: r.clusterId, revisions };
  const cp = parseKvJson(kv.value, checkpointSchema);
  if (!cp.success) throw new FleetError(`the fleet checkpoint ${checkpointKey(fleet)} is unreadable (${cp.error.issues[0]?.message}): fix or delete it`);
  return { checkpoint: cp.data, modRevision: kv.modRevision, revision: r.revision, clusterId: r.clusterId, revisions };
}

/** Adds `more` after `list`, dropping an earlier write of exactly the same tensor range (the later one wins). */
export function fold(list: FoldedMutation[], more: FoldedMutation[]): FoldedMutation[] {
  const key = (m: FoldedMutation) => `${m.tensor}\u0000${m.offset}\u0000${m.values.length}`;
  const last = new Map<string, number>();
  const all = [...list, ...more];
  all.forEach((m, i) => last.set(key(m), i));
  return all.filter((m, i) => last.get(key(m)) === i);
}

export interface GcResult {
  /** Mutations folded into the checkpoint (some node applied them). */
  folded: number;
  /**
   * Mutations deleted without being folded: every node that acked refused them (the CTRM gate, or
   * malformed). Folded, such a write replaced an applied write of the same range for a node that
   * catches up from the checkpoint, which then refused it again: that node lost the applied value.
   */
  dropped: number;
  throughRevision: number;
  /** The first mutation not folded: members that have not acked it (none: no node acked it yet, and no member is up), or why no node will (`refused`). */
  blockedBy: { id: string; missing: string[]; refused?: string } | null;
  compactedAt: number | null;
}

/**
 * Folds the oldest mutations that every current member has acked into the checkpoint, and deletes
 * them and their acks, in transactions guarded by the checkpoint's mod revision (two gc runs cannot
 * both fold). A node that was not a member (down) when they were folded catches up from the
 * checkpoint when it returns. `compact`: then compacts etcd's history up to the last transaction.
 */
export async function gcMutations(c: EtcdClient, fleet: string, opts: { compact?: boolean; timeoutMs?: number } = {}): Promise<GcResult> {
  const t = opts.timeoutMs;
  // Not a node whose config has evolution off: it takes none, and acks none.
  const members = [...(await readMembers(c, fleet, t, { takingMutations: true })).keys()];
  const muts = (await c.get(mutationsPrefix(fleet), { prefix: true, timeoutMs: t })).kvs.sort((a, b) => a.modRevision - b.modRevision);
  const acks = new Set<string>();
  // Mutations some node acked, and those some node applied (an ack that cannot be read counts as applied: kept).
  const ackedIds = new Set<string>();
  const applied = new Set<string>();
  for (const kv of (await c.get(`${fleetPrefix(fleet)}acks/`, { prefix: true, timeoutMs: t })).kvs) {
    const idNode = kv.key.slice(`${fleetPrefix(fleet)}acks/`.length);
    const id = idNode.slice(0, idNode.indexOf("/"));
    acks.add(idNode);
    ackedIds.add(id);
    const ack = parseKvJson(kv.value, ackSchema);
    if (!ack.success || ack.data.accepted) applied.add(id);
  }
  const ready: Kv[] = [];
  let blockedBy: GcResult["blockedBy"] = null;
  for (const kv of muts) {
    const id = kv.key.slice(mutationsPrefix(fleet).length);
    // Keys the nodes refuse (never applied, never acked): folding a rewritten one would hand returning
    // nodes a value no live node applied. gc stops there, naming it, for the operator to delete.
    const problem = mutationKeyProblem(id, kv);
    const refused = problem === "bad-id" ? "not a mutation id (written by hand; nodes ignore it)" : problem === "rewritten" ? "rewritten after publication (mutations are create-only; nodes ignore the new value)" : null;
    if (refused !== null) {
      blockedBy = { id, missing: [], refused };
      break;
    }
    const missing = members.filter((m) => !acks.has(`${id}/${m}`));
    // No ack at all (no member up, every node down): no node applied or judged it yet. With no
    // member nothing was missing, and it was deleted as "refused by every node that acked it".
    if (missing.length > 0 || !ackedIds.has(id)) {
      blockedBy = { id, missing };
      break;
    }
    ready.push(kv);
  }
  if (ready.length === 0) return { folded: 0, dropped: 0, throughRevision: 0, blockedBy, compactedAt: null };
  // Read once: each successful transaction below is the checkpoint's new mod revision.
  let { checkpoint, modRevision, revisions: known } = await readCheckpoint(c, fleet, t);
  const revisions: Record<string, number> = { ...known };
  let folded = 0;
  let dropped = 0;
  for (let i = 0; i < ready.length; i += PER_TXN) {
    const batch = ready.slice(i, i + PER_TXN);
    const more = batch.flatMap((kv) => {
      const id = kv.key.slice(mutationsPrefix(fleet).length);
      const m = parseKvJson(kv.value, fleetMutationSchema);
      // Refused by every node that acked it (a malformed one always is): deleted, not folded.
      return m.success && applied.has(id) ? [{ id, tensor: m.data.tensor, offset: m.data.offset, values: m.data.values, confidence: m.data.confidence }] : [];
    });
    for (const kv of batch) revisions[kv.key.slice(mutationsPrefix(fleet).length)] = kv.modRevision;
    const next: FleetCheckpoint = {
      through_revision: batch[batch.length - 1]!.modRevision,
      folded: (checkpoint?.folded ?? 0) + more.length,
      mutations: fold(checkpoint?.mutations ?? [], more),
      updated_at: Date.now(),
    };
    const value = JSON.stringify(next);
    if (value.length > MAX_CHECKPOINT_BYTES) throw new FleetError(`fleet gc: the checkpoint would be ${value.length} bytes (limit ${MAX_CHECKPOINT_BYTES}); ${folded} mutation(s) folded so far`);
    const kept = new Set(next.mutations.map((m) => m.id));
    const ops = [opPut(checkpointKey(fleet), value), opPut(checkpointRevisionsKey(fleet), JSON.stringify(Object.fromEntries(Object.entries(revisions).filter(([id]) => kept.has(id)))))];
    for (const kv of batch) ops.push(opDelete(kv.key), opDeletePrefix(acksPrefix(fleet, kv.key.slice(mutationsPrefix(fleet).length))));
    const r = await c.txn([cmpUnchanged(checkpointKey(fleet), modRevision)], ops, [], t);
    if (!r.succeeded) throw new FleetError("fleet gc: the checkpoint changed under this run (another gc?); run it again");
    folded += more.length;
    dropped += batch.length - more.length;
    checkpoint = next;
    modRevision = r.revision;
  }
  let compactedAt: number | null = null;
  if (opts.compact) {
    await c.call("/v3/kv/compaction", { revision: String(modRevision), physical: true }, z.unknown(), { idempotent: true, timeoutMs: t });
    compactedAt = modRevision;
  }
  return { folded, dropped, throughRevision: checkpoint!.through_revision, blockedBy, compactedAt };
}
