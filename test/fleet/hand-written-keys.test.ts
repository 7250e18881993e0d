// Keys written by hand with etcdctl (path-traversing ids, rewritten mutations, junk values) and a duplicate node id: refused and logged, never acted on.
import { expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { opDelete } from "../../src/fleet/etcd-client.ts";
import { ackSchema, nodeKey, type Ack } from "../../src/fleet/keys.ts";
import { publishUntil } from "../../src/fleet/publish-mutation.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { killLeftovers, tempDir } from "../pid1/harness.ts";
import { bootNode, fleetStatus, useCluster, waitForAsync, type Node } from "./fleet-harness.ts";

const FLEET = "hand";
const P = `/vector-boot/${FLEET}/`;
let node: Node;
let stateDir: string;

const etcd = useCluster({
  timeoutMs: 90_000,
  beforeStop: [killLeftovers],
  setUp: async () => {
    stateDir = join(tempDir("fleet-hand-"), "state");
    node = bootNode(etcd.cluster, FLEET, "h0", ["--set", `state_dir=${stateDir}`]);
    await waitForAsync(async () => (await fleetStatus(etcd.cluster, FLEET)).nodes.some((n) => (n.beats ?? 0) > 0), 60_000, "h0 beating and listed", 200);
  },
});

const ack = async (id: string): Promise<Ack | null> => {
  const kv = (await etcd.client.get(`${P}acks/${id}/h0`)).kvs[0];
  return kv ? ackSchema.parse(JSON.parse(kv.value)) : null;
};
const publish = (id: string, values: number[]) => publishUntil(etcd.client, FLEET, id, { tensor: "pixel.0.weight", offset: 7, values, confidence: 0.9 }, Date.now() + 30_000);
const acked = (id: string) => waitForAsync(async () => (await ack(id)) !== null, 30_000, `h0's ack of ${id}`, 100);

test("a rollout key rollouts/../../../victim2 made the node re-exec and delete STATE_DIR/../victim2.acted: refused, the key named in the log", async () => {
  const victim = join(dirname(stateDir), "victim2.acted");
  writeFileSync(victim, "not the node's\n");
  const key = `${P}rollouts/../../../victim2`;
  await etcd.client.put(key, JSON.stringify({ action: "reexec", max_unavailable: 1, nodes: ["h0"], created_at: Date.now() }));
  await waitForAsync(async () => node.run.log().includes("rollout refused") || !existsSync(victim), 30_000, "the rollout refused (or acted on)", 100);
  expect(node.run.log()).toContain(`rollout refused: its key's id is not a rollout id`);
  expect(node.run.log()).toContain(key);
  expect(existsSync(victim)).toBe(true);
  expect(node.run.log()).not.toContain("reexec: exec");
  await etcd.client.txn([], [opDelete(key)]);
}, 60_000);

test("a mutation key mutations/a/b was applied and acked under acks/a/b/<node>: refused, the key named in the log, no ack", async () => {
  await etcd.client.put(`${P}mutations/a/b`, JSON.stringify({ tensor: "pixel.0.weight", offset: 3, values: [0.5], confidence: 0.9, published_at: Date.now() }));
  await publish("after-a-b", [0.25]); // handled in revision order: once acked, a/b was seen
  await acked("after-a-b");
  expect(node.run.log()).toContain(`fleet mutation refused: its key's id is not a mutation id`);
  expect(node.run.log()).toContain(`${P}mutations/a/b`);
  expect((await etcd.client.get(`${P}acks/a/`, { prefix: true })).kvs).toEqual([]);
}, 60_000);

test("a mutation key rewritten by hand was applied a second time (journal seq +2) while its ack described the first: ignored and logged", async () => {
  await publish("rw-1", [0.5]);
  await acked("rw-1");
  const first = (await ack("rw-1"))!;
  await etcd.client.put(`${P}mutations/rw-1`, JSON.stringify({ tensor: "pixel.0.weight", offset: 7, values: [0.75], confidence: 0.9, published_at: Date.now() }));
  await publish("rw-2", [0.625]);
  await acked("rw-2");
  expect(node.run.log()).toContain(`fleet mutation key rewritten: ignored (mutations are create-only; the first value stands) key=${P}mutations/rw-1`);
  expect((await ack("rw-2"))!.journal_seq).toBe(first.journal_seq! + 1);
}, 60_000);

test("a malformed mutation (not JSON, an extra key) was acked MALFORMED without a log line or a reason: both now say why", async () => {
  await etcd.client.put(`${P}mutations/junk-1`, "not json");
  await etcd.client.put(`${P}mutations/junk-2`, JSON.stringify({ tensor: "pixel.0.weight", offset: 1, values: [1], confidence: 0.9, published_at: 1, extra: true }));
  await acked("junk-2");
  const a1 = (await ack("junk-1"))!;
  const a2 = (await ack("junk-2"))!;
  expect({ status: a1.status, accepted: a1.accepted }).toEqual({ status: "MALFORMED", accepted: false });
  expect(a1.reason).toBeString();
  expect(a2.reason).toContain("extra");
  expect(node.run.log()).toContain(`fleet mutation malformed: not applied, acked MALFORMED key=${P}mutations/junk-1`);
  expect(node.run.log()).toContain(`key=${P}mutations/junk-2`);
}, 60_000);

test("a junk nodes/ghost key (no lease, not JSON) counted as a member: fleet mutate --wait does not wait for it", async () => {
  await etcd.client.put(`${P}nodes/ghost`, "junk");
  const r = await runShippedAsync(["fleet", "mutate", "pixel.0.weight", "9", "--values", "0.5", "--confidence", "0.9", "--id", "ghost-1", "--endpoints", etcd.cluster.endpoints.join(","), "--name", FLEET, "--wait", "5000", "--json"], 30_000);
  expect(JSON.parse(r.out).missing).toEqual([]);
  expect(r.code).toBe(0);
}, 60_000);

test("two nodes with the same node_id overwrote each other's key: the second logs the conflict and leaves the key alone", async () => {
  const before = (await etcd.client.get(nodeKey(FLEET, "h0"))).kvs[0]!.lease;
  const dup = bootNode(etcd.cluster, FLEET, "h0", ["--set", `state_dir=${join(tempDir("fleet-hand-dup-"), "state")}`]);
  await waitForAsync(async () => dup.run.log().includes("fleet node id already in use") || (await etcd.client.get(nodeKey(FLEET, "h0"))).kvs[0]?.lease !== before, 60_000, "the duplicate's conflict (or its overwrite)", 100);
  expect(dup.run.log()).toContain(`fleet node id already in use: another lease holds this node's key (a second node with the same fleet.node_id, or this node's previous run until its lease expires); not joining until it is gone key=${nodeKey(FLEET, "h0")}`);
  expect((await etcd.client.get(nodeKey(FLEET, "h0"))).kvs[0]!.lease).toBe(before);
}, 90_000);

test("a node restarted right after a SIGKILL found its previous run's key (id in use) and waited up to a TTL: it adopts its previous lease", async () => {
  const dir = join(tempDir("fleet-hand-crash-"), "state");
  const first = bootNode(etcd.cluster, FLEET, "k0", ["--set", `state_dir=${dir}`]);
  await waitForAsync(async () => (await etcd.client.get(nodeKey(FLEET, "k0"))).kvs.length === 1, 60_000, "k0 listed", 100);
  const before = (await etcd.client.get(nodeKey(FLEET, "k0"))).kvs[0]!.lease;
  process.kill(await first.run.initPid(), "SIGKILL");
  await first.run.result(10_000);
  const killedAt = Date.now();
  const again = bootNode(etcd.cluster, FLEET, "k0", ["--set", `state_dir=${dir}`]);
  const fresh = async () => {
    const kv = (await etcd.client.get(nodeKey(FLEET, "k0"))).kvs[0];
    return kv !== undefined && (JSON.parse(kv.value) as { updated_at: number }).updated_at > killedAt;
  };
  await waitForAsync(async () => (await fresh()) || again.run.log().includes("fleet node id already in use"), 30_000, "k0's key written again (or the conflict)", 100);
  expect(again.run.log()).not.toContain("fleet node id already in use");
  expect((await etcd.client.get(nodeKey(FLEET, "k0"))).kvs[0]!.lease).toBe(before);
}, 90_000);

test("fleet gc waited forever on acks of mutations/a/b and folded a rewritten mutation's new value: it stops at each, naming why", async () => {
  const gc = async () => {
    const r = await runShippedAsync(["fleet", "gc", "--endpoints", etcd.cluster.endpoints.join(","), "--name", FLEET, "--json"], 30_000);
    expect(r.code).toBe(0);
    return JSON.parse(r.out) as { blocked_by: { id: string; missing: string[]; refused?: string } | null };
  };
  expect((await gc()).blocked_by).toEqual({ id: "a/b", missing: [], refused: "not a mutation id (written by hand; nodes ignore it)" });
  await etcd.client.txn([], [opDelete(`${P}mutations/a/b`)]);
  // Every member acks what comes before rw-1 (k0 catches up from the start): gc then stops at rw-1.
  await waitForAsync(async () => (await gc()).blocked_by?.id === "rw-1", 30_000, "gc to stop at the rewritten rw-1", 250);
  expect((await gc()).blocked_by!.refused).toBe("rewritten after publication (mutations are create-only; nodes ignore the new value)");
}, 60_000);
