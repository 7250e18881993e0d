// The fleet's key layout in etcd (docs/fleet.md): everything under /vector-boot/<fleet>/.
import { z } from "zod";

export const fleetPrefix = (fleet: string): string => `/vector-boot/${fleet}/`;
export const nodesPrefix = (fleet: string): string => `${fleetPrefix(fleet)}nodes/`;
export const nodeKey = (fleet: string, node: string): string => `${nodesPrefix(fleet)}${node}`;

/** What a node publishes under its key (kept alive by its lease, refreshed every TTL/3). */
export const nodeSummarySchema = z
  .object({
    node: z.string(),
    /** Wall-clock time of this value (ms since the epoch): a reader flags a node stale from it. */
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
  })
  .passthrough();
export type NodeSummary = z.infer<typeof nodeSummarySchema>;

/** A node is stale when its value was not refreshed for a whole TTL (its keepalive has been failing). */
export const isStale = (s: NodeSummary, now = Date.now()): boolean => now - s.updated_at > s.lease_ttl_s * 1000;
