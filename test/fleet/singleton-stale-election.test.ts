// A singleton election read answered on the node's old lease was acted on under its new lease: the node started its copy while a rival led.
import { expect, test } from "bun:test";
import { EtcdClient, opPut } from "../../src/fleet/etcd-client.ts";
import { Membership } from "../../src/fleet/membership.ts";
import { Singleton, singletonPrefix } from "../../src/fleet/singleton.ts";
import { useCluster, waitForAsync } from "./fleet-harness.ts";
import { stepProxy, type StepProxy } from "./etcd-step-proxy.ts";

const FLEET = "stalelect";
const SERVICE = "solo";
let proxy: StepProxy | null = null;
let membership: Membership | null = null;
let singleton: Singleton | null = null;

const etcd = useCluster({ beforeStop: [() => void singleton?.close(), () => membership?.halt(), () => proxy?.stop()] });

const summary = () => ({ pid1: false, generation: 0, model: null, journal_seq: null, beats: null, lateness_ms: null, missed: null, interrupts: [], services: {} });

test("a singleton election read that found this node first on its old lease, answered after that lease lapsed and a rival took the lead, started the copy under the new lease (two leaders): it is not acted on", async () => {
  const m = new Membership({ client: new EtcdClient({ endpoints: etcd.cluster.endpoints, callTimeoutMs: 3000 }), fleet: FLEET, node: "n0", ttlS: 10, summary });
  membership = m;
  m.start();
  await waitForAsync(async () => m.leaseAlive(), 20_000, "n0 to join", 50);
  const oldLease = m.leaseId!;
  let stepped = false;
  let rejoined = false;
  // After etcd answered n0's first election read (n0's key first, on its old lease) and before n0 sees
  // the answer: the old lease lapses (revoked: its key goes), a rival campaigns and leads, and n0's
  // membership finds the lease gone and joins again on a new one. The answer n0 then reads is stale.
  proxy = stepProxy(etcd.cluster.endpoints[0]!, async (path, body) => {
    if (stepped || path !== "/v3/kv/range" || body.sort_target !== "CREATE") return;
    stepped = true;
    await etcd.client.revoke(oldLease);
    const rival = await etcd.client.grant(60);
    const put = await etcd.client.txn([], [opPut(`${singletonPrefix(FLEET, SERVICE)}rival`, "rival", rival.id)]);
    expect(put.succeeded).toBe(true);
    await waitForAsync(async () => m.leaseId !== oldLease && m.leaseAlive(), 20_000, "n0 to join again on a new lease", 50);
    rejoined = true;
  });
  const started: number[] = [];
  const stops: number[] = [];
  singleton = new Singleton({
    client: new EtcdClient({ endpoints: [proxy.url], callTimeoutMs: 30_000 }),
    membership: m,
    fleet: FLEET,
    node: "n0",
    service: SERVICE,
    stopMarginMs: 1500,
    start: (rev) => void started.push(rev),
    stop: async () => void stops.push(Date.now()),
  });
  singleton.start();
  await waitForAsync(async () => rejoined, 30_000, "the step after n0's first election read", 50);
  // Rounds after the stale one read the rival first: n0 stays a follower.
  await Bun.sleep(2500);
  // The old code started the copy with the old lease's revision while the rival led (and stopped it a round later).
  expect({ started, role: singleton.role }).toEqual({ started: [], role: "follower" });
}, 60_000);
