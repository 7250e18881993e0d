// A node whose lease lapsed while it journaled a fleet mutation (a long fsync) still acked it, under the name another lease then held.
import { expect, test } from "bun:test";
import { EtcdClient } from "../../src/fleet/etcd-client.ts";
import { acksPrefix, nodeKey } from "../../src/fleet/keys.ts";
import { Membership } from "../../src/fleet/membership.ts";
import { MutationFeed } from "../../src/fleet/mutations.ts";
import { publishUntil } from "../../src/fleet/publish-mutation.ts";
import { tempDir } from "../harness/artifact.ts";
import { useCluster, waitForAsync } from "./fleet-harness.ts";

const FLEET = "acklapse";
let membership: Membership | null = null;
let feed: MutationFeed | null = null;

const etcd = useCluster({ beforeStop: [() => feed?.halt(), () => membership?.halt()] });

const summary = () => ({ pid1: false, generation: 0, model: null, journal_seq: null, beats: null, lateness_ms: null, missed: null, interrupts: [], services: {} });
const ackKey = `${acksPrefix(FLEET, "lapse-1")}a0`;

test("a node whose lease lapsed while its journal write of a fleet mutation was in progress, and whose key another node with the same id then took, still acked the mutation under that name (the member's ack): its ack is fenced on its key's lease, and it acks once it holds the key again", async () => {
  const client = new EtcdClient({ endpoints: etcd.cluster.endpoints, callTimeoutMs: 3000 });
  const m = new Membership({ client, fleet: FLEET, node: "a0", ttlS: 10, summary });
  membership = m;
  m.start();
  await waitForAsync(async () => m.leaseAlive(), 20_000, "a0 to join", 50);
  const lease = m.leaseId!;
  let entered = false;
  let release: () => void = () => {};
  const journaled = new Promise<void>((r) => (release = r));
  let applies = 0;
  feed = new MutationFeed({
    client,
    fleet: FLEET,
    node: "a0",
    stateDir: tempDir("fleet-ack-lapse-"),
    member: m,
    // The journal write of the first mutation takes long (a slow fsync, the process paused).
    apply: async () => {
      applies++;
      entered = true;
      await journaled;
      return { accepted: true, status: "OK", journalSeq: applies };
    },
  });
  feed.start();
  await publishUntil(etcd.client, FLEET, "lapse-1", { tensor: "pixel.0.weight", offset: 1, values: [0.5], confidence: 0.9 }, Date.now() + 20_000);
  await waitForAsync(async () => entered, 20_000, "a0 to journal the mutation", 20);
  // Meanwhile a0's lease lapses (its key goes with it) and another node with the same node_id joins.
  await etcd.client.revoke(lease);
  const other = await etcd.client.grant(60);
  await etcd.client.put(nodeKey(FLEET, "a0"), JSON.stringify({ ...summary(), node: "a0", updated_at: Date.now(), lease_ttl_s: 60 }), { lease: other.id });
  release();
  await Bun.sleep(2000);
  // The old code acked right after the journal write: the member's ack, written by a node that was no member.
  expect((await etcd.client.get(ackKey)).kvs).toEqual([]);
  // Once the other node has left, a0 joins again, catches up and acks.
  await etcd.client.revoke(other.id);
  await waitForAsync(async () => (await etcd.client.get(ackKey)).kvs.length === 1, 20_000, "a0's ack once it is a member again", 100);
  expect(m.leaseId).not.toBe(lease);
}, 60_000);
