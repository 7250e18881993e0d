// A node that read a finished rollout just before `fleet gc` removed it took a slot in it (a semaphore key no gc removes) and acted again.
import { expect, test } from "bun:test";
import { b64, EtcdClient } from "../../src/fleet/etcd-client.ts";
import { doneKey, gcRollouts, rolloutKey, rolloutsPrefix, semKey, type Rollout } from "../../src/fleet/rollout.ts";
import { tempDir } from "../harness/artifact.ts";
import { useCluster } from "./fleet-harness.ts";
import { stepProxy, type StepProxy } from "./etcd-step-proxy.ts";
import { handPolledAgent } from "./rollout-stand-ins.ts";

const FLEET = "gcrace";
let proxy: StepProxy | null = null;

const etcd = useCluster({ beforeStop: [() => proxy?.stop()] });

test("a node that read a finished rollout just before fleet gc removed it took a slot in the removed rollout and acted again, leaving a semaphore key behind: it now leaves the removed rollout alone", async () => {
  // A rollout node g0 finished: its done mark is written, its slot given back.
  const id = `${Date.now().toString().padStart(15, "0")}-reexec`;
  const rollout: Rollout = { action: "reexec", max_unavailable: 1, nodes: ["g0"], created_at: Date.now() };
  await etcd.client.put(rolloutKey(FLEET, id), JSON.stringify(rollout));
  await etcd.client.put(semKey(FLEET, id), JSON.stringify({ holders: [] }));
  await etcd.client.put(doneKey(FLEET, id, "g0"), JSON.stringify({ node: "g0", at: Date.now(), outcome: "ok" }));
  // gc removes it right after the node's poll read rollouts/ (as in the rollout test, where gc ran
  // while the nodes went on polling): the node's next reads find no done mark and no semaphore.
  let removed: string[] = [];
  proxy = stepProxy(etcd.cluster.endpoints[0]!, async (path, body) => {
    if (removed.length > 0 || path !== "/v3/kv/range" || body.key !== b64(rolloutsPrefix(FLEET)) || body.range_end === undefined) return;
    removed = await gcRollouts(etcd.client, FLEET);
  });
  const { id: lease } = await etcd.client.grant(60);
  const acted: string[] = [];
  const agent = handPolledAgent({ client: new EtcdClient({ endpoints: [proxy.url], callTimeoutMs: 10_000 }), fleet: FLEET, node: "g0", lease, stateDir: tempDir("rollout-gc-race-"), act: (action) => acted.push(action) });
  // One poll, as the agent's 1 s timer runs it.
  await agent.round();
  expect(removed).toEqual([id]);
  const left = (await etcd.client.get(`/vector-boot/${FLEET}/rollout`, { prefix: true })).kvs.map((kv) => kv.key);
  // The old code took a slot (creating the semaphore again, which no gc removes: its rollout is gone) and re-exec'd the node.
  expect({ acted, left }).toEqual({ acted: [], left: [] });
}, 60_000);
