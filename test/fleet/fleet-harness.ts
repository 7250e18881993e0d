// Test fleet: a 3-member etcd on loopback and vector-boot nodes, each PID 1 of its own namespace.
import { afterAll, beforeAll } from "bun:test";
import { z } from "zod";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { readGguf } from "../../src/gguf/reader.ts";
import { signalMember, startCluster, stopCluster as stopEtcd, type EtcdCluster } from "../../scripts/etcd-cluster.ts";
import { EtcdClient } from "../../src/fleet/etcd-client.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { waitFor } from "../harness/wait.ts";
import { start, tempDir, type Run } from "../pid1/harness.ts";

export const TTL_S = 10;

/** etcd's data on tmpfs (/dev/shm): its fsyncs would otherwise compete with the nodes' journals on a shared disk. */
export async function cluster(): Promise<EtcdCluster> {
  const dir = existsSync("/dev/shm") ? mkdtempSync("/dev/shm/vb-etcd-") : tempDir("etcd-");
  const c = await startCluster({ dir });
  return c;
}

/** Stops a cluster and removes its tmpfs data. */
export function stopCluster(c: EtcdCluster): void {
  stopEtcd(c);
  if (c.dir.startsWith("/dev/shm/")) rmSync(c.dir, { recursive: true, force: true });
}

/** SIGCONTs every member of a cluster a test may have left SIGSTOPped (nothing if it never started). */
export function thawMembers(c: EtcdCluster | undefined): void {
  for (const m of c?.members ?? []) signalMember(m, "SIGCONT");
}

export interface UseClusterOptions {
  /** The client's per-call deadline: 10 s unless given; null leaves the client's own default. */
  callTimeoutMs?: number | null;
  /** Starts the cluster (default: cluster()). */
  start?: () => Promise<EtcdCluster>;
  /** More set-up in the same beforeAll once the cluster runs (nodes to boot, a wait for them). */
  setUp?: () => Promise<void> | void;
  /** The beforeAll's limit, its set-up included (default 60 s). */
  timeoutMs?: number;
  /** Clean-up run by afterAll in this order before the cluster stops; `c` is undefined if it never started. */
  beforeStop?: ((c: EtcdCluster | undefined) => void)[];
}

export interface ClusterInUse {
  /** The running cluster (once the file's beforeAll has started it). */
  readonly cluster: EtcdCluster;
  /** A client of every member, made on first use. */
  readonly client: EtcdClient;
}

/** A test file's etcd cluster: started by a beforeAll, stopped by an afterAll after the file's own clean-up. */
export function useCluster(opts: UseClusterOptions = {}): ClusterInUse {
  let running: EtcdCluster | undefined;
  let client: EtcdClient | undefined;
  beforeAll(async () => {
    running = await (opts.start ?? cluster)();
    await opts.setUp?.();
  }, opts.timeoutMs ?? 60_000);
  afterAll(() => {
    for (const clean of opts.beforeStop ?? []) clean(running);
    if (running) stopCluster(running);
  });
  const started = (): EtcdCluster => {
    if (!running) throw new Error("no etcd cluster: useCluster's beforeAll has not started one");
    return running;
  };
  return {
    get cluster() {
      return started();
    },
    get client() {
      const callTimeoutMs = opts.callTimeoutMs === null ? undefined : (opts.callTimeoutMs ?? 10_000);
      client ??= new EtcdClient({ endpoints: started().endpoints, callTimeoutMs });
      return client;
    },
  };
}

export interface Node {
  id: string;
  run: Run;
}

/** Boots node `id` as PID 1 (namespace) in fleet `fleet`, heartbeat logged every beat `logEvery`. */
export function bootNode(c: EtcdCluster, fleet: string, id: string, extra: string[] = []): Node {
  const args = ["boot", "--set", `fleet.endpoints=${c.endpoints.join(",")}`, "--set", `fleet.name=${fleet}`, "--set", `fleet.node_id=${id}`, "--set", `fleet.lease_ttl_s=${TTL_S}`, "--set", "pixel_test=0", "--set", "heartbeat_log_every=10", ...extra];
  return { id, run: start(args, { pid1: true }) };
}

const statusSchema = z.object({ revision: z.number(), nodes: z.array(z.object({ node: z.string(), stale: z.boolean(), beats: z.number().nullable() }).passthrough()) });
export type FleetStatus = z.infer<typeof statusSchema>;

/** `vector-boot fleet status --json` from the shipped executable. */
export async function fleetStatus(c: EtcdCluster, fleet: string, endpoints = c.endpoints): Promise<FleetStatus> {
  const r = await runShippedAsync(["fleet", "status", "--endpoints", endpoints.join(","), "--name", fleet, "--json", "--timeout", "3000"], 15_000);
  if (r.code !== 0) throw new Error(`fleet status exited ${r.code}: ${r.err}`);
  return statusSchema.parse(JSON.parse(r.out));
}

/** Polls an async condition until it holds (every `pollMs`; a rejected one counts as not yet), or throws naming `what` after `timeoutMs`. */
export function waitForAsync(cond: () => Promise<boolean>, timeoutMs: number, what: string, pollMs = 100): Promise<void> {
  return waitFor(() => cond().catch(() => false), timeoutMs, what, { pollMs });
}

/** Heartbeat log lines (`beat n=...`) a node has printed so far. */
export const beatLines = (n: Node): number => (n.run.log().match(/heartbeat: beat/g) ?? []).length;

/** Tensor `name` of the newest on-disk checkpoint in `stateDir` (an orderly shutdown writes one). */
export function checkpointTensor(stateDir: string, name: string): Float32Array {
  const dir = join(stateDir, "checkpoints");
  const newest = readdirSync(dir).filter((f) => f.endsWith(".gguf")).sort().pop()!;
  const bytes = new Uint8Array(readFileSync(join(dir, newest)));
  const t = readGguf(bytes).tensorByName(name)!;
  return new Float32Array(bytes.slice(t.absOffset, t.absOffset + t.nBytes).buffer);
}
