// A node down while `fleet gc --compact` folds and deletes the history it needs resyncs from the fleet checkpoint (never guesses); Python publishes once.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { checkpointKey, checkpointSchema } from "../../src/fleet/fleet-checkpoint.ts";
import { acksPrefix, mutationsPrefix } from "../../src/fleet/keys.ts";
import { publishUntil } from "../../src/fleet/publish-mutation.ts";
import { runShippedAsync, shippedPython } from "../harness/artifact.ts";
import { python } from "../harness/python.ts";
import { childrenOf, killLeftovers, tempDir } from "../pid1/harness.ts";
import { bootNode, checkpointTensor, useCluster, waitForAsync, type Node } from "./fleet-harness.ts";

const FLEET = "ckpt";
const TENSOR = "pixel.0.weight";
const stateDirs = new Map<string, string>();
const nodes = new Map<string, Node>();
/** offset -> the value the fleet last wrote there. */
const expected = new Map<number, number>();

const boot = (id: string) => nodes.set(id, bootNode(etcd.cluster, FLEET, id, ["--set", `state_dir=${stateDirs.get(id)!}`]));

const etcd = useCluster({
  beforeStop: [killLeftovers],
  setUp: () => {
    for (const id of ["c0", "c1"]) {
      stateDirs.set(id, join(tempDir("fleet-ckpt-"), "state"));
      boot(id);
    }
  },
});

const ackedBy = async (id: string): Promise<string[]> => (await etcd.client.get(acksPrefix(FLEET, id), { prefix: true })).kvs.map((kv) => kv.key.slice(acksPrefix(FLEET, id).length)).sort();

async function publish(i: number): Promise<string> {
  const id = `m-${String(i).padStart(4, "0")}`;
  const offset = (i * 7) % 16; // offsets 0..15, some written twice: the checkpoint keeps the later value
  const value = i / 8 - 2;
  await publishUntil(etcd.client, FLEET, id, { tensor: TENSOR, offset, values: [value], confidence: 0.95 }, Date.now() + 30_000);
  expected.set(offset, value);
  return id;
}

async function shutdown(id: string): Promise<void> {
  const n = nodes.get(id)!;
  process.kill(await n.run.initPid(), "SIGTERM");
  // PID 1 of its own namespace: its power-off, reboot(2) there, ends it as if by SIGINT (unshare: 130).
  expect((await n.run.result(30_000)).code).toBe(130);
}

test("the Python client publishes a fleet mutation once (the same id again is not a second one) and sees every node's ack", async () => {
  await waitForAsync(async () => (await etcd.client.count(`/vector-boot/${FLEET}/nodes/`)) === 2, 90_000, "2 members", 200);
  const script = `
import json, sys
from vector_boot_evolution import FleetClient
c = FleetClient(sys.argv[1].split(","), "${FLEET}", call_timeout=5)
a = c.publish("${TENSOR}", 70, [1.5], 0.95, mutation_id="py-1")
b = c.publish("${TENSOR}", 70, [9.0], 0.95, mutation_id="py-1")
acks = c.wait_acked("py-1", ["c0", "c1"], timeout=60)
print(json.dumps({"a": a, "b": b, "acks": {k: v["accepted"] for k, v in acks.items()}}))
`;
  const p = Bun.spawn([python, "-c", script, etcd.cluster.endpoints.join(",")], { env: { ...process.env, PYTHONPATH: shippedPython }, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  expect({ code, err }).toEqual({ code: 0, err: "" });
  const r = JSON.parse(out) as { a: { created: boolean; revision: number }; b: { created: boolean; revision: number }; acks: Record<string, boolean> };
  expect(r.a.created).toBe(true);
  expect(r.b).toEqual({ ...r.b, created: false, revision: r.a.revision });
  expect(r.acks).toEqual({ c0: true, c1: true });
  expected.set(70, 1.5);
}, 120_000);

test("gc holds back a mutation a member has not acked (naming it), folds the rest, and a node down across gc --compact resyncs from the checkpoint with the right weights", async () => {
  for (let i = 0; i < 10; i++) await publish(i);
  await waitForAsync(async () => (await ackedBy("m-0009")).length === 2, 60_000, "both nodes to ack the first 10");

  // c1 frozen: its ack of m-0010 is missing, so gc folds up to m-0009 and names what holds the rest.
  const c1 = nodes.get("c1")!;
  const frozen = [await c1.run.initPid()];
  for (let i = 0; i < frozen.length; i++) frozen.push(...childrenOf(frozen[i]!));
  for (const p of frozen) process.kill(p, "SIGSTOP");
  try {
    await publish(10);
    await waitForAsync(async () => (await ackedBy("m-0010")).join() === "c0", 30_000, "c0 alone to ack m-0010");
    const held = await runShippedAsync(["fleet", "gc", "--endpoints", etcd.cluster.endpoints.join(","), "--name", FLEET, "--json"], 30_000);
    expect(held.code).toBe(0);
    const h = JSON.parse(held.out) as { folded: number; blocked_by: { id: string; missing: string[] } | null };
    expect(h.folded).toBe(11); // py-1 and m-0000..m-0009
    expect(h.blocked_by).toEqual({ id: "m-0010", missing: ["c1"] });
  } finally {
    for (const p of frozen) process.kill(p, "SIGCONT");
  }
  await waitForAsync(async () => (await ackedBy("m-0010")).length === 2, 30_000, "c1 to ack m-0010 once thawed");

  // c1 down (orderly: its key goes at once); 10 more mutations; gc folds all 21 and compacts etcd.
  await shutdown("c1");
  for (let i = 11; i < 21; i++) await publish(i);
  await waitForAsync(async () => (await ackedBy("m-0020")).join() === "c0", 60_000, "c0 to ack m-0020");
  const gc = await runShippedAsync(["fleet", "gc", "--endpoints", etcd.cluster.endpoints.join(","), "--name", FLEET, "--compact", "--json"], 30_000);
  expect(gc.code).toBe(0);
  const g = JSON.parse(gc.out) as { folded: number; blocked_by: unknown; compacted_at: number | null };
  expect(g.folded).toBe(11); // m-0010..m-0020
  expect(g.blocked_by).toBeNull();
  expect(g.compacted_at).toBeGreaterThan(0);
  expect((await etcd.client.get(mutationsPrefix(FLEET), { prefix: true })).kvs).toEqual([]);
  expect((await etcd.client.get(`/vector-boot/${FLEET}/acks/`, { prefix: true })).kvs).toEqual([]);
  const cp = checkpointSchema.parse(JSON.parse((await etcd.client.get(checkpointKey(FLEET))).kvs[0]!.value));
  expect(cp.folded).toBe(22);
  // Same tensor range written twice: only the later write is kept.
  expect(cp.mutations.length).toBe(expected.size);

  // c1 returns: the revisions it needs are gone from etcd (folded, compacted). It says so and resyncs.
  boot("c1");
  await waitForAsync(async () => nodes.get("c1")!.run.log().includes("resyncing from it"), 60_000, "c1 to resync from the checkpoint");
  expect(nodes.get("c1")!.run.log()).toMatch(/needed_from=\d+ checkpoint_through=\d+ checkpoint_mutations=\d+/);
  // And it follows the live stream from there.
  const last = await publish(21);
  await waitForAsync(async () => (await ackedBy(last)).length === 2, 60_000, "both nodes to ack a mutation after the resync");

  await shutdown("c0");
  await shutdown("c1");
  for (const [id, dir] of stateDirs) {
    const w = checkpointTensor(dir, TENSOR);
    for (const [off, v] of expected) expect({ id, off, v: w[off] }).toEqual({ id, off, v: Math.fround(v) });
  }
}, 240_000);
