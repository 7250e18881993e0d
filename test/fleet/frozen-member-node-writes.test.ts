// An etcd member frozen (SIGSTOP) while a node's client points at it: the node's create-only writes (mutation acks, rollout done marks) sat out the whole call deadline there.
import { expect, test } from "bun:test";
import { leaderMember, signalMember, type EtcdMember } from "../../scripts/etcd-cluster.ts";
import { EtcdClient } from "../../src/fleet/etcd-client.ts";
import { acksPrefix, nodeKey } from "../../src/fleet/keys.ts";
import { MutationFeed } from "../../src/fleet/mutations.ts";
import { publishUntil } from "../../src/fleet/publish-mutation.ts";
import { doneKey, finish, semKey } from "../../src/fleet/rollout.ts";
import { tempDir } from "../pid1/harness.ts";
import { useCluster, waitForAsync } from "./fleet-harness.ts";

const FLEET = "frozenn";
/** A node's client has the default per-call deadline (3 s); the old writes waited all of it on the frozen member. */
const NODE_CALL_MS = 3000;
let frozen: EtcdMember | null = null;

const etcd = useCluster({ beforeStop: [thaw] });

/** A follower first, then the others (a frozen leader would add an election to the timing); the client for checks skips it. */
async function followerFirst(): Promise<{ follower: EtcdMember; order: string[]; others: EtcdClient }> {
  const leader = await leaderMember(etcd.cluster);
  expect(leader).not.toBeNull();
  const follower = etcd.cluster.members.find((m) => m !== leader)!;
  const rest = etcd.cluster.endpoints.filter((e) => e !== follower.clientUrl);
  return { follower, order: [follower.clientUrl, ...rest], others: new EtcdClient({ endpoints: rest, callTimeoutMs: 5000 }) };
}

function thaw(): void {
  if (frozen) signalMember(frozen, "SIGCONT");
  frozen = null;
}

test("a node's mutation ack waited out its whole call deadline on the member that had just delivered the mutation and then froze: it moves on to another member within about a second", async () => {
  const { follower, order, others } = await followerFirst();
  const client = new EtcdClient({ endpoints: order });
  let frozenAt = 0;
  let endpointAtApply = "";
  // a0 is a member: its key on its lease (acks are fenced on it).
  const { id: lease } = await others.grant(60);
  await others.put(nodeKey(FLEET, "a0"), JSON.stringify({ node: "a0", updated_at: Date.now(), lease_ttl_s: 60, pid1: false, generation: 0, model: null, journal_seq: null, beats: null, lateness_ms: null, missed: null, interrupts: [], services: {} }), { lease });
  // The member serving the node's watch freezes while the node applies what it delivered (a paused VM, a SIGSTOP).
  const feed = new MutationFeed({
    client,
    fleet: FLEET,
    node: "a0",
    stateDir: tempDir("fleet-frozen-ack-"),
    member: { leaseId: lease, leaseAlive: () => true, whenJoined: async () => {}, lostKey: () => {} },
    apply: async () => {
      if (frozenAt === 0) {
        endpointAtApply = client.endpoint;
        frozen = follower;
        signalMember(follower, "SIGSTOP");
        frozenAt = performance.now();
      }
      return { accepted: true, status: "OK", journalSeq: 1 };
    },
  });
  try {
    // The feed reads and watches through the follower (the first endpoint): the mutation comes from it.
    feed.start();
    await publishUntil(others, FLEET, "ack-1", { tensor: "pixel.0.weight", offset: 1, values: [0.5], confidence: 0.9 }, Date.now() + 20_000);
    await waitForAsync(async () => (await others.get(`${acksPrefix(FLEET, "ack-1")}a0`)).kvs.length === 1, 20_000, "a0's ack", 20);
    const ackMs = performance.now() - frozenAt;
    expect(endpointAtApply).toBe(follower.clientUrl);
    // The old ack (a plain txn) waited NODE_CALL_MS on the frozen member, gave up ("outcome unknown") and went on after a back-off.
    expect({ ackMs: Math.round(ackMs), withinMs: ackMs < NODE_CALL_MS - 500 }).toMatchObject({ withinMs: true });
  } finally {
    feed.halt();
    client.abortInFlight();
    await feed.stop();
    thaw();
  }
}, 60_000);

test("a node's rollout done mark failed after the whole call deadline (outcome unknown) when its client was at a frozen member: it is recorded through another member and the slot given back", async () => {
  // Thawed from the last test: every member answers before the next one is frozen.
  const { follower, order, others } = await followerFirst();
  await waitForAsync(async () => (await new EtcdClient({ endpoints: [follower.clientUrl], callTimeoutMs: 1000 }).get("/")).revision > 0, 20_000, "the thawed member answering");
  const id = "000000000000001-reexec";
  // d0 is a member: its key on its lease (the done mark and the release are fenced on it).
  const { id: lease } = await others.grant(60);
  await others.put(nodeKey(FLEET, "d0"), JSON.stringify({ node: "d0", updated_at: Date.now(), lease_ttl_s: 60, pid1: false, generation: 2, model: null, journal_seq: null, beats: null, lateness_ms: null, missed: null, interrupts: [], services: {} }), { lease });
  await others.put(semKey(FLEET, id), JSON.stringify({ holders: [{ node: "d0", lease, generation: 2 }] }));
  // The image after a re-exec starts at the first endpoint; here that member is frozen.
  const client = new EtcdClient({ endpoints: order });
  frozen = follower;
  signalMember(follower, "SIGSTOP");
  try {
    const t0 = performance.now();
    expect(await finish(client, FLEET, id, "d0", lease)).toBe("ok");
    const tookMs = performance.now() - t0;
    expect({ tookMs: Math.round(tookMs), withinMs: tookMs < NODE_CALL_MS - 500 }).toMatchObject({ withinMs: true });
    const done = (await others.get(doneKey(FLEET, id, "d0"))).kvs;
    expect(done.length).toBe(1);
    expect(JSON.parse(done[0]!.value)).toMatchObject({ node: "d0", outcome: "ok" });
    expect(JSON.parse((await others.get(semKey(FLEET, id))).kvs[0]!.value)).toEqual({ holders: [] });
  } finally {
    client.abortInFlight();
    thaw();
  }
}, 60_000);
