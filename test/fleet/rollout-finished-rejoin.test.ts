// A rollout `fleet rollout` reported finished (a node gone) was in progress again when that node rejoined: it blocked the next rollout and the node acted on its own.
import { expect, test } from "bun:test";
import type { Membership } from "../../src/fleet/membership.ts";
import { nodeKey } from "../../src/fleet/keys.ts";
import { RolloutAgent } from "../../src/fleet/rollout-agent.ts";
import { doneKey, rolloutStates, rolloutsPrefix } from "../../src/fleet/rollout.ts";
import { runShippedAsync, tempDir } from "../harness/artifact.ts";
import { useCluster, waitForAsync } from "./fleet-harness.ts";

const FLEET = "rejoin";

const etcd = useCluster();

/** A member's key the way a node writes it (its summary on its lease), with no node behind it. */
async function member(node: string): Promise<string> {
  const { id: lease } = await etcd.client.grant(60);
  const summary = { node, updated_at: Date.now(), lease_ttl_s: 60, pid1: true, generation: 1, model: null, journal_seq: null, beats: 1, lateness_ms: null, missed: 0, interrupts: [], services: {} };
  await etcd.client.put(nodeKey(FLEET, node), JSON.stringify(summary), { lease });
  return lease;
}

test("a rollout fleet rollout reported finished (one node done, one gone) became in progress again when the gone node rejoined: the next rollout was refused (75) and the returning node took a slot and re-exec'd on its own; the finish is now recorded once", async () => {
  await member("j0");
  const j1 = await member("j1");
  const cli = runShippedAsync(["fleet", "rollout", "reexec", "--max-unavailable", "1", "--timeout-s", "30", "--json", "--endpoints", etcd.cluster.endpoints.join(","), "--name", FLEET], 45_000);
  let id = "";
  await waitForAsync(
    async () => {
      id = (await etcd.client.get(rolloutsPrefix(FLEET), { prefix: true })).kvs[0]?.key.slice(rolloutsPrefix(FLEET).length) ?? "";
      return id !== "";
    },
    20_000,
    "the rollout created",
    50,
  );
  // j1 leaves the fleet (its lease revoked, as at an orderly shutdown) before taking a slot; j0 is done.
  await etcd.client.revoke(j1);
  await etcd.client.createOnly(doneKey(FLEET, id, "j0"), JSON.stringify({ node: "j0", at: Date.now(), outcome: "ok" }));
  const r = await cli;
  expect(r.code).toBe(65);
  expect(r.out).toContain('"event":"finished","done":["j0"],"gone":["j1"]');
  // j1 comes back (a new lease, as after a reboot).
  const back = await member("j1");
  const state = (await rolloutStates(etcd.client, FLEET)).states.find((s) => s.id === id);
  const acted: string[] = [];
  const agent = new RolloutAgent({
    client: etcd.client,
    membership: { leaseId: back, joined: true, leaseAlive: () => true, lostKey: () => {} } as unknown as Membership,
    fleet: FLEET,
    node: "j1",
    generation: 1,
    stateDir: tempDir("rollout-rejoin-"),
    beating: () => true,
    act: async (action) => void acted.push(action),
  });
  // One poll, as the agent's 1 s timer runs it.
  await (agent as unknown as { round(): Promise<void> }).round();
  // The old code recomputed the rollout's status from live membership: in progress again, and j1 acted.
  expect({ inProgress: state?.inProgress, acted }).toEqual({ inProgress: false, acted: [] });
}, 90_000);
