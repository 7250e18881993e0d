// The fleet's key layout in etcd (docs/fleet.md): everything under /vector-boot/<fleet>/.
import { z } from "zod";
import { cmpLease, parseKvJson, type Compare, type EtcdClient, type Kv, type LeaseId } from "./etcd-client.ts";

export const fleetPrefix = (fleet: string): string => `/vector-boot/${fleet}/`;
export const nodesPrefix = (fleet: string): string => `${fleetPrefix(fleet)}nodes/`;
export const nodeKey = (fleet: string, node: string): string => `${nodesPrefix(fleet)}${node}`;

/**
 * A transaction's fence: `nodes/<node>` is on `lease`, so the writer is the member the fleet counts
 * under that name (a node whose lease lapsed, or another instance with the same id, is not).
 */
export const onOwnLease = (fleet: string, node: string, lease: LeaseId): Compare => cmpLease(nodeKey(fleet, node), lease);

/** Is `nodes/<node>` on `lease` now (after a fenced write failed: was it the fence)? */
export async function keyOnLease(c: EtcdClient, fleet: string, node: string, lease: LeaseId): Promise<boolean> {
  return (await c.get(nodeKey(fleet, node))).kvs[0]?.lease === lease;
}

/** What a node publishes under its key (kept alive by its lease, refreshed every TTL/3). */
export const nodeSummarySchema = z
  .object({
    node: z.string(),
    /** The writing run's random token (kept across a re-exec): tells two instances on one lease apart. Absent from older images' values. */
    instance: z.string().optional(),
    /** Wall-clock time of this value (ms since the epoch), as the writer's clock had it: shown, never compared. */
    updated_at: z.number(),
    lease_ttl_s: z.number(),
    pid1: z.boolean(),
    generation: z.number(),
    model: z.object({ name: z.string(), sha256: z.string().nullable() }).nullable(),
    journal_seq: z.number().nullable(),
    beats: z.number().nullable(),
    lateness_ms: z.object({ p50: z.number(), p99: z.number(), max: z.number() }).nullable(),
    missed: z.number().nullable(),
    interrupts: z.array(z.string()),
    services: z.record(z.string(), z.string()),
    /** false: evolution is off in this node's config; it takes no fleet mutation (and acks none), and gc and `mutate --wait` do not wait for it. Absent from older images' values. */
    mutations: z.boolean().optional(),
  })
  .passthrough();
export type NodeSummary = z.infer<typeof nodeSummarySchema>;

/**
 * The fleet's members as etcd lists them now (node name -> lease), only well-formed keys under
 * nodes/: a summary naming its own key, on a lease. A hand-written junk key (no lease, not JSON) is
 * no node: counted, it filled a quorum, held back gc and joined a rollout's node list.
 */
export async function readMembers(c: EtcdClient, fleet: string, timeoutMs?: number, opts: { takingMutations?: boolean } = {}): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const { name, kv, mutations } of await memberKeys(c, fleet, timeoutMs).then((r) => r.members)) if (!opts.takingMutations || mutations) out.set(name, kv.lease);
  return out;
}

/** Every member's key (a node summary under its own name, on a lease) and the revision they were read at. */
async function memberKeys(c: EtcdClient, fleet: string, timeoutMs?: number): Promise<{ members: { name: string; kv: Kv; mutations: boolean }[]; revision: number }> {
  const r = await c.get(nodesPrefix(fleet), { prefix: true, timeoutMs });
  const members: { name: string; kv: Kv; mutations: boolean }[] = [];
  for (const kv of r.kvs) {
    const name = kv.key.slice(nodesPrefix(fleet).length);
    const p = parseKvJson(kv.value, nodeSummarySchema);
    if (p.success && p.data.node === name && kv.lease !== "0") members.push({ name, kv, mutations: p.data.mutations !== false });
  }
  return { members, revision: r.revision };
}

/**
 * The members whose key was written after revision `since` (a live node rewrites its key every
 * TTL/3), and the revision read at. A crashed node's key, or that of a node rebooting in a rollout
 * (its lease kept alive, its key not rewritten), lives on for up to a TTL but is not counted.
 */
export async function readRefreshedMembers(c: EtcdClient, fleet: string, since: number): Promise<{ members: string[]; revision: number }> {
  const r = await memberKeys(c, fleet);
  return { members: r.members.filter((m) => m.kv.modRevision > since).map((m) => m.name), revision: r.revision };
}

/**
 * A node is stale when etcd says its keepalives have been failing: its key on no lease, or on one
 * with less than a third of its TTL left (a live node renews it every third: two renewals missed).
 * By etcd's clock, not the value's wall-clock time: a node whose clock was behind the reader's
 * (an appliance booted before its clock was set) was listed STALE while it beat, and one ahead never.
 */
export const isStale = (lease: { remaining: number; granted: number } | null): boolean => lease === null || lease.remaining <= 0 || lease.remaining * 3 < lease.granted;

export const mutationsPrefix = (fleet: string): string => `${fleetPrefix(fleet)}mutations/`;
export const acksPrefix = (fleet: string, id: string): string => `${fleetPrefix(fleet)}acks/${id}/`;

/** One mutation as published: absolute values written at `offset` (so applying it again changes nothing). */
export const fleetMutationSchema = z
  .object({
    tensor: z.string().min(1).max(256),
    offset: z.number().int().min(0),
    values: z.array(z.number()).min(1).max(65_536),
    confidence: z.number().min(0).max(1),
    published_at: z.number(),
  })
  .strict();
export type FleetMutation = z.infer<typeof fleetMutationSchema>;

export const ackSchema = z.object({ node: z.string(), status: z.string(), accepted: z.boolean(), journal_seq: z.number().nullable(), revision: z.number(), at: z.number(), reason: z.string().optional() }).strict();
export type Ack = z.infer<typeof ackSchema>;

export const mutationIdPattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/**
 * Why the nodes refuse a key under mutations/ (never applied, never acked), or null: an id the CLI
 * could not have published (`a/b` would ack under acks/a/b/<node>), or a key rewritten after
 * publication (create-only: a second value would leave the ack describing the first). The feed and
 * `fleet gc` each say it in their own words.
 */
export function mutationKeyProblem(id: string, kv: { createRevision: number; modRevision: number }): "bad-id" | "rewritten" | null {
  if (!mutationIdPattern.test(id)) return "bad-id";
  return kv.createRevision !== kv.modRevision ? "rewritten" : null;
}
