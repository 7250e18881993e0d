// A node that already held its slot (an earlier round's answer lost) acted on it without the rollout's revision guard: a rollout stopped after its read still had it act.
import { expect, test } from "bun:test";
import { opPut } from "../../src/fleet/etcd-client.ts";
import { nodeKey } from "../../src/fleet/keys.ts";
import { rolloutKey, takeSlot, type Rollout } from "../../src/fleet/rollout.ts";
import { useCluster } from "./fleet-harness.ts";

const FLEET = "heldslot";
const etcd = useCluster({});

test("takeSlot for a node already holding its slot answered 'taken' on a rollout changed (stopped) since the caller read it: now 'full', as a take under the same guards is", async () => {
  const id = `${Date.now().toString().padStart(15, "0")}-reboot`;
  const rollout: Rollout = { action: "reboot", max_unavailable: 1, nodes: ["h0"], created_at: Date.now() };
  const read = await etcd.client.put(rolloutKey(FLEET, id), JSON.stringify(rollout));
  const { id: lease } = await etcd.client.grant(60);
  expect((await etcd.client.txn([], [opPut(nodeKey(FLEET, "h0"), "{}", lease)])).succeeded).toBe(true);
  const me = { node: "h0", lease, generation: 0 };
  expect(await takeSlot(etcd.client, FLEET, id, 1, me, read)).toBe("taken");
  // Held; the same read again (its answer lost, the round repeated) is still good.
  expect(await takeSlot(etcd.client, FLEET, id, 1, me, read)).toBe("taken");
  // The operator stops the rollout after the node's read: that read no longer lets it act.
  await etcd.client.put(rolloutKey(FLEET, id), JSON.stringify({ ...rollout, stopped: { node: "h0", reason: "test" } }));
  expect(await takeSlot(etcd.client, FLEET, id, 1, me, read)).toBe("full");
}, 60_000);
