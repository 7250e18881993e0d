// Fleet: publish -> all 5 nodes acked vs raw etcd put -> watch (same run), and heartbeat lateness with etcd up and down.
import { mkdirSync, mkdtempSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import { signalMember, startCluster, stopCluster } from "../scripts/etcd-cluster.ts";
import { EtcdClient } from "../src/fleet/etcd-client.ts";
import { watchOnce } from "../src/fleet/etcd-watch.ts";
import { publishMutation } from "../src/fleet/publish-mutation.ts";
import { percentile as pct } from "./stats.ts";

const root = resolve(import.meta.dir, "..");
const exe = join(root, "dist/vector-boot");
mkdirSync(join(root, ".cache/bench"), { recursive: true });
const dir = mkdtempSync(join(root, ".cache/bench/fleet-"));
const NODES = 5;
const M = 200;
const etcd = await startCluster({ dir: join(dir, "etcd") });
const procs: Bun.Subprocess[] = [];
try {
  for (let i = 0; i < NODES; i++) {
    const d = join(dir, `n${i}`);
    const args = ["boot", "--set", `state_dir=${d}/state`, "--set", `run_dir=${d}/run`, "--set", "heartbeat_log_every=0", "--set", "pixel_test=0", "--set", `fleet.endpoints=${etcd.endpoints.join(",")}`, "--set", "fleet.name=bench", "--set", `fleet.node_id=n${i}`, "--set", "fleet.lease_ttl_s=10"];
    procs.push(Bun.spawn([exe, ...args], { stdout: "ignore", stderr: "ignore", env: { ...process.env, JSC_SIGNAL_FOR_GC: "40" } }));
  }
  const client = new EtcdClient({ endpoints: etcd.endpoints, callTimeoutMs: 10_000 });
  for (let t = 0; (await client.count("/vector-boot/bench/nodes/")) < NODES; t++) {
    if (t > 300) throw new Error("nodes did not join within 30 s");
    await Bun.sleep(100);
  }

  // Reference: raw put -> watch delivery on the same cluster, same client code.
  const seen = new Map<string, () => void>();
  const ctl = new AbortController();
  const watch = (prefix: string, onKey: (key: string) => void) =>
    void watchOnce(client, { prefix, fromRevision: 0, signal: ctl.signal, onEvents: async (kvs) => kvs.forEach((kv) => onKey(kv.key)) });
  watch("/bench-raw/", (k) => seen.get(k)?.());
  await Bun.sleep(300);
  const raw: number[] = [];
  for (let i = 0; i < M; i++) {
    const key = `/bench-raw/${i}`;
    const got = new Promise<void>((r) => seen.set(key, r));
    const t0 = performance.now();
    await client.put(key, "x");
    await got;
    raw.push(performance.now() - t0);
  }

  // Fleet: publish -> an ack from every node (watched on the acks prefix).
  const acks = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  watch("/vector-boot/bench/acks/", (k) => {
    const id = k.split("/")[4]!;
    const n = (acks.get(id) ?? 0) + 1;
    acks.set(id, n);
    if (n === NODES) waiters.get(id)?.();
  });
  await Bun.sleep(300);
  const fleet: number[] = [];
  for (let i = 0; i < M; i++) {
    const id = `b${String(i).padStart(5, "0")}`;
    const done = new Promise<void>((r) => waiters.set(id, r));
    const t0 = performance.now();
    await publishMutation(client, "bench", id, { tensor: "pixel.0.bias", offset: i % 64, values: [i / M], confidence: 0.9 });
    await done;
    fleet.push(performance.now() - t0);
  }
  ctl.abort();

  // Heartbeat lateness (the init's own p99 over its window) with etcd up, then with every member stopped.
  const statusSchema = z.object({ heartbeat: z.object({ jitterMs: z.object({ p50: z.number(), p99: z.number() }) }).passthrough() }).passthrough();
  const lateness = async () => {
    const p99s: number[] = [];
    for (let i = 0; i < NODES; i++) {
      const r = Bun.spawnSync([exe, "status", "--json", "--socket", join(dir, `n${i}`, "run/control")]);
      p99s.push(statusSchema.parse(JSON.parse(r.stdout.toString())).heartbeat.jitterMs.p99);
    }
    return p99s;
  };
  await Bun.sleep(12_000);
  const up = await lateness();
  for (const m of etcd.members) signalMember(m, "SIGSTOP");
  await Bun.sleep(12_000);
  const down = await lateness();
  for (const m of etcd.members) signalMember(m, "SIGCONT");

  const f = (x: number) => x.toFixed(2);
  console.log(`## fleet mutation latency, ${M} mutations, ${NODES} nodes (non-PID-1) on a 3-member etcd on loopback`);
  console.log(`raw etcd put -> watch (reference):  p50 ${f(pct(raw, 50))} ms  p99 ${f(pct(raw, 99))} ms`);
  console.log(`publish -> all ${NODES} acked:          p50 ${f(pct(fleet, 50))} ms  p99 ${f(pct(fleet, 99))} ms  = ${f(pct(fleet, 50) / pct(raw, 50))}x / ${f(pct(fleet, 99) / pct(raw, 99))}x the reference`);
  console.log(`(each node: watch event, CTRM gate, journal fsync, create-only ack txn; then the ack's watch event)`);
  console.log(`## heartbeat lateness p99 per node (ms, 100 ms period, window of recent beats)`);
  console.log(`etcd up:   ${up.map(f).join(" ")}  (max ${f(Math.max(...up))})`);
  console.log(`etcd down: ${down.map(f).join(" ")}  (max ${f(Math.max(...down))}) = ${f(Math.max(...down) / Math.max(...up))}x etcd up (reference)`);
} finally {
  for (const p of procs) p.kill("SIGTERM");
  await Promise.all(procs.map((p) => p.exited));
  stopCluster(etcd);
}
