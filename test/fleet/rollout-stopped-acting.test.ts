// A stopped rollout (one node failed) counted as over while another node that had taken its slot before the stop was still acting: gc removed it and the next rollout took a node down beside it.
import { expect, test } from "bun:test";
import { opPut } from "../../src/fleet/etcd-client.ts";
import { doneKey, gcRollouts, rolloutKey, rolloutsPrefix, semKey, startRollout, type Rollout } from "../../src/fleet/rollout.ts";
import { useCluster } from "./fleet-harness.ts";
import { putMember } from "./rollout-stand-ins.ts";

const FLEET = "stopacting";

const etcd = useCluster();

/** A member's key the way a node writes it (its summary on its lease); resolves to the lease. */
const member = (node: string) => putMember(etcd.client, FLEET, node);

test("a rollout stopped by one node's failure was removed by fleet gc and let the next fleet rollout start while another node that had taken its slot before the stop was still rebooting (two down with K=1): it stays in progress until that node is done or gone", async () => {
  const [t0, t1] = [await member("t0"), await member("t1"), await member("t2")];
  const id = "000000000000001-reboot";
  // K=2: t0 and t1 took their slots; t0's reboot failed and stopped the rollout; t1 is still rebooting (its lease kept: a member, no done mark).
  const stopped: Rollout = { action: "reboot", max_unavailable: 2, nodes: ["t0", "t1", "t2"], created_at: Date.now(), stopped: { node: "t0", reason: "reboot refused" } };
  const holders = [{ node: "t0", lease: t0, generation: 1 }, { node: "t1", lease: t1, generation: 1 }];
  const put = await etcd.client.txn([], [opPut(rolloutKey(FLEET, id), JSON.stringify(stopped)), opPut(semKey(FLEET, id), JSON.stringify({ holders })), opPut(doneKey(FLEET, id, "t0"), JSON.stringify({ node: "t0", at: Date.now(), outcome: "failed", reason: "reboot refused" }))]);
  expect(put.succeeded).toBe(true);
  // The operator cleans up and starts the next rollout (K=1) at once.
  const removed = await gcRollouts(etcd.client, FLEET);
  const next: Rollout = { action: "reexec", max_unavailable: 1, nodes: ["t0", "t1", "t2"], created_at: Date.now() };
  const { busy } = await startRollout(etcd.client, FLEET, "000000000000002-reexec", next, Date.now() + 10_000);
  const ids = (await etcd.client.get(rolloutsPrefix(FLEET), { prefix: true })).kvs.map((kv) => kv.key.slice(rolloutsPrefix(FLEET).length));
  // The old code: removed, and the next rollout created while t1 was down (its first node would go at once).
  expect({ removed, busy: busy?.id ?? null, ids }).toEqual({ removed: [], busy: id, ids: [id] });
  // t1 back and done (its slot given back): the stopped rollout is over; gc removes it, the next one starts.
  await etcd.client.txn([], [opPut(doneKey(FLEET, id, "t1"), JSON.stringify({ node: "t1", at: Date.now(), outcome: "ok" })), opPut(semKey(FLEET, id), JSON.stringify({ holders: [holders[0]] }))]);
  expect(await gcRollouts(etcd.client, FLEET)).toEqual([id]);
  expect((await startRollout(etcd.client, FLEET, "000000000000003-reexec", next, Date.now() + 10_000)).busy).toBeNull();
}, 60_000);
