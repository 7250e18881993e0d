// A fleet mutation the node's stopped journal could not take (JOURNAL_FAILED, NOT_TAKEN) was acked as a refusal and passed as applied: never applied after the disk was mended.
import { afterEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EtcdClient } from "../../src/fleet/etcd-client.ts";
import { checkpointKey } from "../../src/fleet/fleet-checkpoint.ts";
import { acksPrefix, ackSchema } from "../../src/fleet/keys.ts";
import { Membership } from "../../src/fleet/membership.ts";
import { MutationFeed } from "../../src/fleet/mutations.ts";
import { publishUntil } from "../../src/fleet/publish-mutation.ts";
import { tempDir } from "../harness/artifact.ts";
import { useCluster, waitForAsync } from "./fleet-harness.ts";

let membership: Membership | null = null;
const feeds: MutationFeed[] = [];

const etcd = useCluster({ beforeStop: [() => feeds.forEach((f) => f.halt()), () => membership?.halt()] });
afterEach(async () => {
  await Promise.all(feeds.splice(0).map((f) => f.stop()));
  await membership?.stop();
  membership = null;
});

const summary = () => ({ pid1: false, generation: 0, model: null, journal_seq: null, beats: null, lateness_ms: null, missed: null, interrupts: [], services: {} });
type Apply = ConstructorParameters<typeof MutationFeed>[0]["apply"];
const ACCEPTED: Apply = async () => ({ accepted: true, status: "ACCEPTED", journalSeq: 1 });
const JOURNAL_FAILED: Apply = async () => ({ accepted: false, status: "JOURNAL_FAILED", journalSeq: null });
const NOT_TAKEN: Apply = async () => ({ accepted: false, status: "NOT_TAKEN", journalSeq: null });

async function joined(fleet: string): Promise<{ client: EtcdClient; m: Membership }> {
  const client = new EtcdClient({ endpoints: etcd.cluster.endpoints, callTimeoutMs: 3000 });
  const m = new Membership({ client, fleet, node: "j0", ttlS: 10, summary });
  membership = m;
  m.start();
  await waitForAsync(async () => m.leaseAlive(), 20_000, "j0 to join", 50);
  return { client, m };
}

function feed(client: EtcdClient, m: Membership, fleet: string, stateDir: string, apply: Apply): MutationFeed {
  const f = new MutationFeed({ client, fleet, node: "j0", stateDir, member: m, apply });
  feeds.push(f);
  f.start();
  return f;
}

const savedRevision = (stateDir: string): number => (JSON.parse(readFileSync(join(stateDir, "fleet-applied.json"), "utf8")) as { revision: number }).revision;

test("a mutation the node's journal could not take (JOURNAL_FAILED: stopped on a disk error) was acked as refused and its revision saved as applied, so after the disk was mended and the node restarted it was never applied: now it is not acked, `applied` stays below it, and the restarted feed applies and acks it", async () => {
  const FLEET = "journalfailed";
  const { client, m } = await joined(FLEET);
  const stateDir = tempDir("fleet-journal-failed-");
  let broken = false;
  let triedM1 = 0;
  const first = feed(client, m, FLEET, stateDir, async (mu) => {
    if (mu.offset === 2) triedM1++;
    return broken ? JOURNAL_FAILED(mu) : ACCEPTED(mu);
  });
  const m0 = await publishUntil(etcd.client, FLEET, "m0", { tensor: "pixel.0.weight", offset: 1, values: [0.5], confidence: 0.9 }, Date.now() + 20_000);
  await waitForAsync(async () => (await etcd.client.get(`${acksPrefix(FLEET, "m0")}j0`)).kvs.length === 1, 20_000, "m0 acked");
  // The journal stops (a disk error): the next mutation comes back JOURNAL_FAILED.
  broken = true;
  const m1 = await publishUntil(etcd.client, FLEET, "m1", { tensor: "pixel.0.weight", offset: 2, values: [0.25], confidence: 0.9 }, Date.now() + 20_000);
  await waitForAsync(async () => triedM1 >= 1, 20_000, "m1 submitted to the journal", 20);
  await Bun.sleep(1500);
  // The old code acked it {accepted: false, status: JOURNAL_FAILED}: final, as a gate's refusal is.
  expect((await etcd.client.get(`${acksPrefix(FLEET, "m1")}j0`)).kvs).toEqual([]);
  expect(first.revision).toBe(m0.revision);
  // Held back and tried again with back-off (1 s, then 2 s): the journal is still down.
  await waitForAsync(async () => triedM1 >= 2, 10_000, "m1 tried again", 50);
  await first.stop();
  expect(savedRevision(stateDir)).toBe(m0.revision);
  // The operator mends the disk; the node restarts with the same state dir.
  const second = feed(client, m, FLEET, stateDir, ACCEPTED);
  await waitForAsync(async () => (await etcd.client.get(`${acksPrefix(FLEET, "m1")}j0`)).kvs.length === 1, 20_000, "m1 acked after the restart");
  const ack = ackSchema.parse(JSON.parse((await etcd.client.get(`${acksPrefix(FLEET, "m1")}j0`)).kvs[0]!.value));
  expect({ accepted: ack.accepted, status: ack.status }).toEqual({ accepted: true, status: "ACCEPTED" });
  await waitForAsync(async () => second.revision >= m1.revision, 10_000, "applied past m1");
}, 90_000);

test("a node resyncing from the fleet checkpoint whose journal could not take a folded write (JOURNAL_FAILED) saved the checkpoint's revision as applied all the same, so the write was never applied here: now `applied` stays below it and a restart applies it", async () => {
  const FLEET = "journalfailedcp";
  const { client, m } = await joined(FLEET);
  // A checkpoint `fleet gc` folded while this node was down: one write, through a revision above 0.
  const through = await etcd.client.put(`/vector-boot/${FLEET}/unrelated`, "x");
  await etcd.client.put(checkpointKey(FLEET), JSON.stringify({ through_revision: through, folded: 1, mutations: [{ id: "f1", tensor: "pixel.0.weight", offset: 3, values: [0.125], confidence: 0.9 }], updated_at: Date.now() }));
  const stateDir = tempDir("fleet-journal-failed-cp-");
  let tried = 0;
  const first = feed(client, m, FLEET, stateDir, async (mu) => {
    tried++;
    return JOURNAL_FAILED(mu);
  });
  await waitForAsync(async () => tried >= 1, 20_000, "the folded write submitted to the journal", 20);
  await Bun.sleep(500);
  // The old code set `applied` to the checkpoint's through_revision and saved it.
  expect(first.revision).toBe(0);
  await first.stop();
  const applied: number[] = [];
  const second = feed(client, m, FLEET, stateDir, async (mu) => {
    applied.push(mu.offset);
    return ACCEPTED(mu);
  });
  await waitForAsync(async () => second.revision >= through, 20_000, "the resync to pass the checkpoint");
  // The old code's restart skipped it: its saved revision already covered the checkpoint.
  expect(applied).toEqual([3]);
}, 60_000);

test("a batch whose first mutation could not be taken (not judged: JOURNAL_FAILED) had the mutations after it submitted all the same (journaled, unacked, and journaled again at each retry): they wait behind it, none submitted", async () => {
  const FLEET = "journalfailedbatch";
  const { client, m } = await joined(FLEET);
  const stateDir = tempDir("fleet-journal-failed-batch-");
  // Both published before the feed starts: its catch-up reads them as one batch.
  await publishUntil(etcd.client, FLEET, "n1", { tensor: "pixel.0.weight", offset: 2, values: [0.25], confidence: 0.9 }, Date.now() + 20_000);
  await publishUntil(etcd.client, FLEET, "n2", { tensor: "pixel.0.weight", offset: 3, values: [0.75], confidence: 0.9 }, Date.now() + 20_000);
  const tried: number[] = [];
  feed(client, m, FLEET, stateDir, async (mu) => {
    tried.push(mu.offset);
    return mu.offset === 2 ? JOURNAL_FAILED(mu) : ACCEPTED(mu);
  });
  await waitForAsync(async () => tried.filter((o) => o === 2).length >= 2, 20_000, "n1 tried twice (held back, tried again)", 20);
  expect(tried.filter((o) => o === 3)).toEqual([]);
  expect((await etcd.client.get(`${acksPrefix(FLEET, "n2")}j0`)).kvs).toEqual([]);
}, 60_000);

test("a mutation the node did not take (NOT_TAKEN: nothing journaled, evolution closing or not judged) would be acked as the gate's refusal, final: it is not a verdict, so it is not acked, `applied` stays below it, and it is tried again until the node takes it", async () => {
  const FLEET = "nottaken";
  const { client, m } = await joined(FLEET);
  const stateDir = tempDir("fleet-not-taken-");
  let tries = 0;
  const f = feed(client, m, FLEET, stateDir, async (mu) => (++tries < 3 ? NOT_TAKEN(mu) : ACCEPTED(mu)));
  const m0 = await publishUntil(etcd.client, FLEET, "t0", { tensor: "pixel.0.weight", offset: 4, values: [0.5], confidence: 0.9 }, Date.now() + 20_000);
  await waitForAsync(async () => tries >= 1, 20_000, "t0 submitted", 20);
  // Not taken: no ack (the old feed acked {accepted: false, status: NOT_TAKEN}, as a refusal).
  expect((await etcd.client.get(`${acksPrefix(FLEET, "t0")}j0`)).kvs).toEqual([]);
  expect(f.revision).toBeLessThan(m0.revision);
  // Tried again (1 s, then 2 s of back-off): the third try is taken, and only that one is acked.
  await waitForAsync(async () => (await etcd.client.get(`${acksPrefix(FLEET, "t0")}j0`)).kvs.length === 1, 20_000, "t0 acked once taken");
  const ack = ackSchema.parse(JSON.parse((await etcd.client.get(`${acksPrefix(FLEET, "t0")}j0`)).kvs[0]!.value));
  expect({ accepted: ack.accepted, status: ack.status, tries }).toEqual({ accepted: true, status: "ACCEPTED", tries: 3 });
  await waitForAsync(async () => f.revision >= m0.revision, 10_000, "applied past t0");
}, 60_000);
