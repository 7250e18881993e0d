// `vector-boot top`: one snapshot of a running instance (status + services over the control socket, zod-validated).
import { z } from "zod";
import { InputError } from "../errors.ts";
import type { ControlClient } from "../control/client.ts";

const percentiles = z.object({ p50: z.number(), p99: z.number(), max: z.number() });

const heartbeatSchema = z.object({
  state: z.string().optional(),
  periodMs: z.number(),
  beats: z.number(),
  missed: z.number(),
  lastBeat: z.number().optional(),
  jitterMs: percentiles,
  /** Older instances do not send the series: no sparkline then. */
  latenessRecentMs: z.array(z.number()).default([]),
  interrupts: z.array(z.object({ name: z.string(), active: z.boolean(), raised: z.number() })).default([]),
  actions: z.number().default(0),
  recentRecords: z
    .array(
      z.object({
        agoMs: z.number(),
        kind: z.string(),
        interrupt: z.string(),
        action: z.string().nullable(),
        target: z.string().nullable(),
        ok: z.boolean().nullable(),
        detail: z.string().nullable(),
      }),
    )
    .default([]),
});

const checkpointSchema = z.object({ file: z.string(), coveredSeq: z.number(), writtenAt: z.number(), ageMs: z.number() });

export const statusSchema = z.object({
  pid: z.number(),
  version: z.string().optional(),
  uptimeMs: z.number().optional(),
  generation: z.number().default(0),
  heartbeat: heartbeatSchema.nullable().default(null),
  journal: z.object({ nextSeq: z.number(), durableSeq: z.number(), failed: z.string().nullable().optional(), checkpoint: checkpointSchema.nullable().default(null) }).nullable().default(null),
  fleet: z
    .object({
      fleet: z.string(),
      node: z.string(),
      role: z.string(),
      singletons: z.array(z.object({ service: z.string(), role: z.string() })).default([]),
    })
    .nullable()
    .default(null),
});
export type TopStatus = z.infer<typeof statusSchema>;

export const serviceSchema = z.object({
  name: z.string(),
  state: z.string(),
  pid: z.number().nullable(),
  restarts: z.number(),
  runningMs: z.number().nullable().optional(),
  ready: z.boolean().optional(),
  cgroup: z.object({ memoryBytes: z.number().nullable(), cpuUsec: z.number().nullable(), pids: z.number().nullable() }).nullable().optional(),
});
export type TopService = z.infer<typeof serviceSchema> & {
  /** CPU use since the previous snapshot, percent of one CPU (null: no previous sample, or no cgroup). */
  cpuPct: number | null;
};

export interface Snapshot {
  status: TopStatus;
  services: TopService[];
  /** Local monotonic time the snapshot was taken (ms). */
  at: number;
}

function parse<T>(schema: z.ZodType<T>, what: string, value: unknown): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new InputError(`control: unexpected ${what} answer at ${issue.path.join(".") || "(top)"}: ${issue.message}`);
}

/** Asks for status and services on one connection; CPU% from the cgroup CPU time used since `prev`. */
export async function takeSnapshot(client: ControlClient, prev: Snapshot | null, timeoutMs: number): Promise<Snapshot> {
  const [status, services] = await Promise.all([client.request({ op: "status" }, timeoutMs), client.request({ op: "services" }, timeoutMs)]);
  const at = performance.now();
  const list = parse(z.array(serviceSchema), "services", services);
  return { status: parse(statusSchema, "status", status), services: list.map((s) => ({ ...s, cpuPct: cpuPercent(s, prev, at) })), at };
}

function cpuPercent(s: z.infer<typeof serviceSchema>, prev: Snapshot | null, at: number): number | null {
  const before = prev?.services.find((p) => p.name === s.name);
  const now = s.cgroup?.cpuUsec;
  const then = before?.cgroup?.cpuUsec;
  const dt = prev ? at - prev.at : 0;
  // A restarted service has a new cgroup counter (it may go down): no rate for that interval.
  if (typeof now !== "number" || typeof then !== "number" || dt <= 0 || now < then || before?.pid !== s.pid) return null;
  return (now - then) / 1000 / dt * 100;
}
