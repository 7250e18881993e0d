// fleet gc folded a mutation every node refused over an applied write of the same range (a node resyncing from the checkpoint lost the applied value), and deleted as refused one no node had acked, with every node down.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { checkpointKey, checkpointSchema } from "../../src/fleet/fleet-checkpoint.ts";
import { ackSchema, acksPrefix, mutationsPrefix } from "../../src/fleet/keys.ts";
import { publishUntil } from "../../src/fleet/publish-mutation.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { killLeftovers, tempDir } from "../pid1/harness.ts";
import { bootNode, checkpointTensor, useCluster, waitForAsync, type Node } from "./fleet-harness.ts";

const FLEET = "gcref";
const TENSOR = "pixel.0.weight";

const etcd = useCluster({ beforeStop: [killLeftovers] });

const acceptedBy = async (id: string): Promise<Record<string, boolean>> =>
  Object.fromEntries((await etcd.client.get(acksPrefix(FLEET, id), { prefix: true })).kvs.map((kv) => [kv.key.slice(acksPrefix(FLEET, id).length), ackSchema.parse(JSON.parse(kv.value)).accepted]));

async function stop(n: Node): Promise<void> {
  process.kill(await n.run.initPid(), "SIGTERM");
  // PID 1 of its own namespace: its power-off, reboot(2) there, ends it as if by SIGINT (unshare: 130).
  expect((await n.run.result(30_000)).code).toBe(130);
}

test("a mutation every node refused is deleted by gc, not folded over the applied write of the same range, so a node resyncing from the checkpoint keeps the applied value", async () => {
  const dir0 = join(tempDir("fleet-gcref-"), "state");
  const n0 = bootNode(etcd.cluster, FLEET, "r0", ["--set", `state_dir=${dir0}`]);
  await waitForAsync(async () => (await etcd.client.count(`/vector-boot/${FLEET}/nodes/`)) === 1, 90_000, "r0 to join");
  // Applied, then a write of exactly the same range that the CTRM gate refuses (confidence 0.5 <= 0.8).
  await publishUntil(etcd.client, FLEET, "m-applied", { tensor: TENSOR, offset: 5, values: [1.25], confidence: 0.95 }, Date.now() + 30_000);
  await publishUntil(etcd.client, FLEET, "m-refused", { tensor: TENSOR, offset: 5, values: [-7.5], confidence: 0.5 }, Date.now() + 30_000);
  await waitForAsync(async () => Object.keys(await acceptedBy("m-refused")).length === 1, 60_000, "r0 to ack both");
  expect(await acceptedBy("m-applied")).toEqual({ r0: true });
  expect(await acceptedBy("m-refused")).toEqual({ r0: false });

  const gc = await runShippedAsync(["fleet", "gc", "--endpoints", etcd.cluster.endpoints.join(","), "--name", FLEET, "--compact", "--json"], 30_000);
  expect({ code: gc.code, err: gc.err }).toEqual({ code: 0, err: "" });
  const g = JSON.parse(gc.out) as { folded: number; dropped: number; blocked_by: unknown };
  expect({ folded: g.folded, dropped: g.dropped, blocked_by: g.blocked_by }).toEqual({ folded: 1, dropped: 1, blocked_by: null });
  const cp = checkpointSchema.parse(JSON.parse((await etcd.client.get(checkpointKey(FLEET))).kvs[0]!.value));
  expect(cp.mutations.map((m) => [m.id, m.values])).toEqual([["m-applied", [1.25]]]);
  expect(cp.folded).toBe(1);

  // A new node (no history of its own) resyncs from the checkpoint: it must end with r0's weights.
  const dir1 = join(tempDir("fleet-gcref-"), "state");
  const n1 = bootNode(etcd.cluster, FLEET, "r1", ["--set", `state_dir=${dir1}`]);
  await waitForAsync(async () => n1.run.log().includes("resyncing from it"), 60_000, "r1 to resync from the checkpoint");
  await publishUntil(etcd.client, FLEET, "m-after", { tensor: TENSOR, offset: 9, values: [0.5], confidence: 0.95 }, Date.now() + 30_000);
  await waitForAsync(async () => Object.keys(await acceptedBy("m-after")).length === 2, 60_000, "both nodes to ack a mutation after the resync");
  await stop(n0);
  await stop(n1);
  for (const dir of [dir0, dir1]) {
    const w = checkpointTensor(dir, TENSOR);
    expect({ dir, at5: w[5], at9: w[9] }).toEqual({ dir, at5: 1.25, at9: 0.5 });
  }
}, 240_000);

test("fleet gc with every node down (no member) took a mutation no node had acked for one every node refused: it deleted it, and the nodes coming back never applied it; now it is kept, named", async () => {
  const fleet = "gcnone";
  await publishUntil(etcd.client, fleet, "m-waiting", { tensor: TENSOR, offset: 3, values: [0.75], confidence: 0.95 }, Date.now() + 30_000);
  for (const json of [true, false]) {
    const gc = await runShippedAsync(["fleet", "gc", "--endpoints", etcd.cluster.endpoints.join(","), "--name", fleet, ...(json ? ["--json"] : [])], 30_000);
    expect({ code: gc.code, err: gc.err }).toEqual({ code: 0, err: "" });
    if (json) expect((({ folded, dropped, blocked_by }) => ({ folded, dropped, blocked_by }))(JSON.parse(gc.out))).toEqual({ folded: 0, dropped: 0, blocked_by: { id: "m-waiting", missing: [] } });
    else expect(gc.out).toContain("held back from m-waiting: not acked by any node yet (no member is up)");
  }
  expect((await etcd.client.get(`${mutationsPrefix(fleet)}m-waiting`)).kvs.length).toBe(1);
  expect((await etcd.client.get(checkpointKey(fleet))).kvs.length).toBe(0);
}, 60_000);
