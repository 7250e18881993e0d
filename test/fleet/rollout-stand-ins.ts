// Stand-ins for a fleet's nodes in the rollout tests: a member's key with no node behind it, and a node's rollout agent polled by hand.
import type { EtcdClient } from "../../src/fleet/etcd-client.ts";
import { nodeKey } from "../../src/fleet/keys.ts";
import type { Membership } from "../../src/fleet/membership.ts";
import { RolloutAgent } from "../../src/fleet/rollout-agent.ts";

/** Writes `node`'s member key in `fleet` the way a node writes it (its summary on a new 60 s lease), with no node behind it; resolves to the lease. */
export async function putMember(client: EtcdClient, fleet: string, node: string): Promise<string> {
  const { id: lease } = await client.grant(60);
  const summary = { node, updated_at: Date.now(), lease_ttl_s: 60, pid1: true, generation: 1, model: null, journal_seq: null, beats: 1, lateness_ms: null, missed: 0, interrupts: [], services: {} };
  await client.put(nodeKey(fleet, node), JSON.stringify(summary), { lease });
  return lease;
}

/** What a hand-polled agent needs: the node (a member on `lease`, generation 1, beating), where its markers go, and what it does to act. */
export interface HandPolledOptions {
  client: EtcdClient;
  fleet: string;
  node: string;
  lease: string;
  stateDir: string;
  act: (action: string) => void;
}

/** `node`'s rollout agent, its timer not started: `round()` is one poll, as the agent's 1 s timer runs it. */
export function handPolledAgent(o: HandPolledOptions): { round(): Promise<void> } {
  const agent = new RolloutAgent({
    client: o.client,
    membership: { leaseId: o.lease, joined: true, leaseAlive: () => true, lostKey: () => {} } as unknown as Membership,
    fleet: o.fleet,
    node: o.node,
    generation: 1,
    stateDir: o.stateDir,
    beating: () => true,
    act: async (action) => void o.act(action),
  });
  return agent as unknown as { round(): Promise<void> };
}
