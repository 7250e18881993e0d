// A node holding a slot it has not acted on (its action refused for now, to be tried again) when the rollout was stopped kept the slot: the rollout stayed in progress for as long as the node lived.
import { expect, test } from "bun:test";
import { opPut } from "../../src/fleet/etcd-client.ts";
import { doneKey, gcRollouts, readSem, rolloutKey, semKey, type Rollout } from "../../src/fleet/rollout.ts";
import { tempDir } from "../harness/artifact.ts";
import { useCluster } from "./fleet-harness.ts";
import { handPolledAgent, putMember } from "./rollout-stand-ins.ts";

const FLEET = "stopunacted";

const etcd = useCluster();

/** A member's key the way a node writes it (its summary on its lease); resolves to the lease. */
const member = (node: string) => putMember(etcd.client, FLEET, node);

test("a node holding a slot without having acted (its re-exec refused for now, no marker) when another node's failure stopped the rollout kept its slot: the rollout stayed in progress (fleet gc removed nothing); it gives the slot back", async () => {
  const [v0, v1] = [await member("v0"), await member("v1")];
  const id = "000000000000001-reexec";
  // K=2: v0 took its slot, its re-exec refused for now (another one under way): no marker, to be tried
  // again; v1's re-exec failed and stopped the rollout (its failed mark, its slot kept).
  const stopped: Rollout = { action: "reexec", max_unavailable: 2, nodes: ["v0", "v1"], created_at: Date.now(), stopped: { node: "v1", reason: "re-exec refused" } };
  const holders = [{ node: "v0", lease: v0, generation: 1 }, { node: "v1", lease: v1, generation: 1 }];
  const put = await etcd.client.txn([], [opPut(rolloutKey(FLEET, id), JSON.stringify(stopped)), opPut(semKey(FLEET, id), JSON.stringify({ holders })), opPut(doneKey(FLEET, id, "v1"), JSON.stringify({ node: "v1", at: Date.now(), outcome: "failed", reason: "re-exec refused" }))]);
  expect(put.succeeded).toBe(true);
  const acted: string[] = [];
  const agent = handPolledAgent({ client: etcd.client, fleet: FLEET, node: "v0", lease: v0, stateDir: tempDir("rollout-stopped-unacted-"), act: (action) => acted.push(action) });
  // One poll, as the agent's 1 s timer runs it.
  await agent.round();
  const left = (await readSem(etcd.client, FLEET, id)).holders.map((h) => h.node);
  // The old code: v0 still a holder (a live holder without a done mark), so the stopped rollout was never over.
  expect({ acted, holders: left, removed: await gcRollouts(etcd.client, FLEET) }).toEqual({ acted: [], holders: ["v1"], removed: [id] });
}, 60_000);
