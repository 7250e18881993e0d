// `fleet status` flags STALE by the node key's lease as etcd keeps it, not by the value's wall-clock time (the writer's clock).
import { expect, test } from "bun:test";
import { nodeKey } from "../../src/fleet/keys.ts";
import { fleetStatus, useCluster, waitForAsync } from "./fleet-harness.ts";

const FLEET = "stale";
const etcd = useCluster();

/** A node summary as an image writes it, dated `updatedAt` by its own clock. */
const summary = (node: string, updatedAt: number, ttl: number) =>
  JSON.stringify({ node, instance: "0123456789abcdef", updated_at: updatedAt, lease_ttl_s: ttl, pid1: true, generation: 0, model: null, journal_seq: null, beats: 5, lateness_ms: null, missed: 0, interrupts: [], services: {} });

test("a beating node whose clock was an hour behind the reader's was listed STALE, a key on a lease nobody renews (or on none) was listed ok while its value looked fresh: staleness is the lease's time left", async () => {
  const c = etcd.client;
  // Renewed (just granted, 60 s), dated an hour ago by a clock that is behind.
  const renewed = await c.grant(60);
  await c.put(nodeKey(FLEET, "behind"), summary("behind", Date.now() - 3_600_000, 60), { lease: renewed.id });
  // Nobody renews this 10 s lease; its value is dated now.
  const silent = await c.grant(10);
  await c.put(nodeKey(FLEET, "silent"), summary("silent", Date.now(), 10), { lease: silent.id });
  // On no lease at all (a hand-written key), dated now.
  await c.put(nodeKey(FLEET, "unleased"), summary("unleased", Date.now(), 10));
  // Two renewals missed: less than a third of the TTL left.
  await waitForAsync(async () => (await c.timeToLive(silent.id)).remaining < 10 / 3, 15_000, "the silent lease down to a third", 200);
  const s = await fleetStatus(etcd.cluster, FLEET);
  const stale = Object.fromEntries(s.nodes.map((n) => [n.node, n.stale]));
  expect(stale).toEqual({ behind: false, silent: true, unleased: true });
  const left = Object.fromEntries(s.nodes.map((n) => [n.node, n.lease_left_s]));
  expect(left.behind).toBeGreaterThan(40);
  expect(left.unleased).toBeNull();
}, 30_000);
