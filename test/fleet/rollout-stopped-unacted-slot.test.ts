// A node holding a slot it has not acted on (its action refused for now, to be tried again) when the rollout was stopped kept the slot: the rollout stayed in progress for as long as the node lived.
import { expect, test } from "bun:test";
import { opPut } from "../../src/fleet/etcd-client.ts";
import { nodeKey } from "../../src/fleet/keys.ts";
import type { Membership } from "../../src/fleet/membership.ts";
import { RolloutAgent } from "../../src/fleet/rollout-agent.ts";
import { doneKey, gcRollouts, readSem, rolloutKey, semKey, type Rollout } from "../../src/fleet/rollout.ts";
import { tempDir } from "../harness/artifact.ts";
import { useCluster } from "./fleet-harness.ts";

const FLEET = "stopunacted";

const etcd = useCluster();

/** A member's key the way a node writes it (its summary on its lease); resolves to the lease. */
async function member(node: string): Promise<string> {
  const { id: lease } = await etcd.client.grant(60);
  const summary = { node, updated_at: Date.now(), lease_ttl_s: 60, pid1: true, generation: 1, model: null, journal_seq: null, beats: 1, lateness_ms: null, missed: 0, interrupts: [], services: {} };
  await etcd.client.put(nodeKey(FLEET, node), JSON.stringify(summary), { lease });
  return lease;
}

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
  const agent = new RolloutAgent({
    client: etcd.client,
    membership: { leaseId: v0, joined: true, leaseAlive: () => true, lostKey: () => {} } as unknown as Membership,
    fleet: FLEET,
    node: "v0",
    generation: 1,
    stateDir: tempDir("rollout-stopped-unacted-"),
    beating: () => true,
    act: async (action) => void acted.push(action),
  });
  // One poll, as the agent's 1 s timer runs it.
  await (agent as unknown as { round(): Promise<void> }).round();
  const left = (await readSem(etcd.client, FLEET, id)).holders.map((h) => h.node);
  // The old code: v0 still a holder (a live holder without a done mark), so the stopped rollout was never over.
  expect({ acted, holders: left, removed: await gcRollouts(etcd.client, FLEET) }).toEqual({ acted: [], holders: ["v1"], removed: [id] });
}, 60_000);
