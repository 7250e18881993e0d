// A leader's shutdown that keeps its lease (a rollout's reboot or power-off: the slot is held on it) left its candidacy key on it, and no other node could lead until the lease lapsed; a close during a demotion did not wait for the service to stop.
import { expect, test } from "bun:test";
import { EtcdClient, opDelete } from "../../src/fleet/etcd-client.ts";
import { Membership } from "../../src/fleet/membership.ts";
import { Singleton, singletonPrefix } from "../../src/fleet/singleton.ts";
import { useCluster, waitForAsync } from "./fleet-harness.ts";

const FLEET = "resign";
const SERVICE = "solo";
const members: Membership[] = [];
const singletons: Singleton[] = [];

const etcd = useCluster({ beforeStop: [() => singletons.forEach((s) => void s.close()), () => members.forEach((m) => m.halt())] });

const summary = () => ({ pid1: false, generation: 0, model: null, journal_seq: null, beats: null, lateness_ms: null, missed: null, interrupts: [], services: {} });

/** A node: its membership (lease TTL 10 s) and its singleton for `service`, recording its starts. */
async function node(id: string, service = SERVICE, stop: () => Promise<void> = async () => {}) {
  const client = new EtcdClient({ endpoints: etcd.cluster.endpoints, callTimeoutMs: 3000 });
  const m = new Membership({ client, fleet: FLEET, node: id, ttlS: 10, summary });
  members.push(m);
  m.start();
  await waitForAsync(async () => m.leaseAlive(), 20_000, `${id} to join`, 50);
  const started: number[] = [];
  const s = new Singleton({ client, membership: m, fleet: FLEET, node: id, service, stopMarginMs: 1500, start: (rev) => void started.push(rev), stop });
  singletons.push(s);
  s.start();
  return { m, s, started };
}

test("a leader closed for a shutdown that keeps its lease left its candidacy on it: the other node led only once the lease lapsed (here 10 s); resigning, the other node leads within two election rounds, with a higher token", async () => {
  const a = await node("a0");
  await waitForAsync(async () => a.s.role === "leader", 20_000, "a0 to lead", 50);
  const b = await node("b0");
  await Bun.sleep(1500);
  expect(b.s.role).toBe("follower");
  // The shutdown's order: singletons closed, then the membership paused (the lease is not revoked).
  const t0 = performance.now();
  await a.s.close(true);
  await a.m.pause();
  await waitForAsync(async () => b.s.role === "leader", 15_000, "b0 to lead", 50);
  expect(performance.now() - t0).toBeLessThan(4000);
  expect(b.started[0]!).toBeGreaterThan(a.started[0]!);
}, 60_000);

test("a close while the leader was being demoted (its service still stopping) returned at once: the shutdown revoked the lease and another node led beside the copy still in its grace; close waits for the stop", async () => {
  let stopping = false;
  let stopped = false;
  const c = await node("c0", "solo2", async () => {
    stopping = true;
    await Bun.sleep(1500);
    stopped = true;
  });
  await waitForAsync(async () => c.s.role === "leader", 20_000, "c0 to lead", 50);
  // Its candidacy key deleted behind its back: the next round demotes it.
  expect((await etcd.client.txn([], [opDelete(`${singletonPrefix(FLEET, "solo2")}c0`)])).succeeded).toBe(true);
  await waitForAsync(async () => stopping, 10_000, "c0's demotion to begin", 20);
  expect(stopped).toBe(false);
  await c.s.close();
  expect(stopped).toBe(true);
}, 60_000);

test("a clone of a leader (same node id) that took over its lease while the leader was cut off led on the leader's candidacy key, with the leader's fencing token: the clone withdraws that key and leads on a new one, a higher token", async () => {
  const a = await node("d0", "solo3");
  await waitForAsync(async () => a.s.role === "leader", 20_000, "d0 to lead", 50);
  // d0 is cut off from etcd (no keepalive, no publish; its singleton leads on until its own deadline);
  // its clone keeps d0's lease alive itself, as a clone that adopted the node's key does.
  a.m.halt();
  const client = new EtcdClient({ endpoints: etcd.cluster.endpoints, callTimeoutMs: 3000 });
  const m = new Membership({ client, fleet: FLEET, node: "d0", ttlS: 10, summary, leaseId: a.m.leaseId! });
  members.push(m);
  m.start();
  await waitForAsync(async () => m.leaseAlive(), 20_000, "the clone to take the lease", 50);
  const started: number[] = [];
  const clone = new Singleton({ client, membership: m, fleet: FLEET, node: "d0", service: "solo3", stopMarginMs: 1500, start: (rev) => void started.push(rev), stop: async () => {} });
  singletons.push(clone);
  clone.start();
  await waitForAsync(async () => started.length > 0, 20_000, "the clone to lead", 50);
  expect(started[0]!).toBeGreaterThan(a.started[0]!);
}, 60_000);
