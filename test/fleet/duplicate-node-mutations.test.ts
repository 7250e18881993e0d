// A duplicate node_id (a second node, not joined) applied fleet mutations and acked them under the member's name: it waits until it joins, then catches up.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { ackSchema, acksPrefix, nodeKey } from "../../src/fleet/keys.ts";
import { publishUntil } from "../../src/fleet/publish-mutation.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { killLeftovers, tempDir } from "../pid1/harness.ts";
import { bootNode, checkpointTensor, useCluster, waitForAsync, type Node } from "./fleet-harness.ts";

const FLEET = "dupmut";
const TENSOR = "pixel.0.weight";

const etcd = useCluster({ beforeStop: [killLeftovers] });

/** Node d0 with its own state and run dirs (its control socket at <dir>/run/control). */
const boot = (dir: string): Node => bootNode(etcd.cluster, FLEET, "d0", ["--set", `state_dir=${join(dir, "state")}`, "--set", `run_dir=${join(dir, "run")}`]);

/** The node's next journal sequence (control socket `status`), or null while it does not answer. */
async function journalSeq(dir: string): Promise<number | null> {
  const r = await runShippedAsync(["status", "--json", "--socket", join(dir, "run", "control")]);
  return r.code === 0 ? (JSON.parse(r.out) as { journal: { nextSeq: number } | null }).journal?.nextSeq ?? null : null;
}

test("a second node with the same node_id, not joined, applied fleet mutations and acked them under the member's name: it applies and acks nothing until it joins, then catches up", async () => {
  const dirA = tempDir("fleet-dupmut-a-");
  const dirB = tempDir("fleet-dupmut-b-");
  const first = boot(dirA);
  await waitForAsync(async () => (await etcd.client.get(nodeKey(FLEET, "d0"))).kvs.length === 1 && (await journalSeq(dirA)) !== null, 60_000, "the first d0 listed and answering", 100);
  // Local mutations put the first node's journal ahead: its ack's journal_seq tells it from the duplicate's.
  for (const offset of ["1", "2", "3"]) {
    const r = await runShippedAsync(["mutate", TENSOR, offset, "--values", "0.25", "--confidence", "0.9", "--socket", join(dirA, "run", "control")]);
    expect(r.code).toBe(0);
  }
  const dup = boot(dirB);
  await waitForAsync(async () => dup.run.log().includes("fleet node id already in use") && (await journalSeq(dirB)) !== null, 60_000, "the duplicate's conflict and its control socket", 100);
  const dupBefore = (await journalSeq(dirB))!;
  const firstBefore = (await journalSeq(dirA))!;
  expect(firstBefore).toBeGreaterThan(dupBefore);

  await publishUntil(etcd.client, FLEET, "dup-1", { tensor: TENSOR, offset: 11, values: [0.375], confidence: 0.9 }, Date.now() + 30_000);
  const ackKey = `${acksPrefix(FLEET, "dup-1")}d0`;
  await waitForAsync(async () => (await etcd.client.get(ackKey)).kvs.length === 1, 30_000, "d0's ack of dup-1", 50);
  await waitForAsync(async () => (await journalSeq(dirA)) === firstBefore + 1, 10_000, "the first d0 to journal dup-1", 50);
  const ack = ackSchema.parse(JSON.parse((await etcd.client.get(ackKey)).kvs[0]!.value));
  // The ack is the first node's (its journal position), not the duplicate's.
  expect(ack.journal_seq).toBe(firstBefore);
  // The duplicate got it from the same watch: had it applied it, its journal would move within milliseconds.
  await waitForAsync(async () => (await journalSeq(dirB)) !== dupBefore, 3000, "the duplicate to journal dup-1", 50).catch(() => {});
  expect({ duplicateJournal: await journalSeq(dirB) }).toEqual({ duplicateJournal: dupBefore });

  // The first node leaves (its lease revoked): the duplicate joins and catches up from its saved revision.
  process.kill(await first.run.initPid(), "SIGTERM");
  // PID 1 of its own namespace: its power-off, reboot(2) there, ends it as if by SIGINT (unshare: 130).
  expect((await first.run.result(30_000)).code).toBe(130);
  await waitForAsync(async () => dup.run.log().includes("fleet node key free again: joined"), 30_000, "the duplicate joining", 100);
  await waitForAsync(async () => (await journalSeq(dirB)) === dupBefore + 1, 30_000, "the joined node to apply dup-1", 50);
  // Its ack finds the first node's in place (create-only): the record of who applied what stands.
  const after = (await etcd.client.get(ackKey)).kvs[0]!;
  expect(after.createRevision).toBe(after.modRevision);
  expect(ackSchema.parse(JSON.parse(after.value)).journal_seq).toBe(firstBefore);

  // Its weights carry the mutation (an orderly shutdown writes a checkpoint).
  process.kill(await dup.run.initPid(), "SIGTERM");
  // PID 1 of its own namespace: its power-off, reboot(2) there, ends it as if by SIGINT (unshare: 130).
  expect((await dup.run.result(30_000)).code).toBe(130);
  expect(checkpointTensor(join(dirB, "state"), TENSOR)[11]).toBe(Math.fround(0.375));
}, 180_000);
