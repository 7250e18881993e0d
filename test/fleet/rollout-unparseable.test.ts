// A rollout or semaphore value this image cannot parse (a newer image's extra field, junk) read as "no holders" and "not in progress": a slot past K, a live rollout deleted by gc.
import { expect, test } from "bun:test";
import { gcRollouts, readSem, rolloutKey, semKey, startRollout, takeSlot, type Rollout } from "../../src/fleet/rollout.ts";
import { useCluster } from "./fleet-harness.ts";
import { putMember } from "./rollout-stand-ins.ts";

const etcd = useCluster();

const rollout = (nodes: string[]): Rollout => ({ action: "reboot", max_unavailable: 1, nodes, created_at: Date.now() });

test("a semaphore whose holder carries a field a newer image added read as no holders, so with K = 1 a second node took a slot while the first rebooted: the holder is read (unknown fields kept), and a semaphore that cannot be read at all is full", async () => {
  const FLEET = "unparseablesem";
  const h1 = await putMember(etcd.client, FLEET, "h1");
  const n2 = await putMember(etcd.client, FLEET, "n2");
  // h1, running a newer image, holds rollout r1's only slot (its holder has a field this image does not know).
  await etcd.client.put(semKey(FLEET, "r1"), JSON.stringify({ holders: [{ node: "h1", lease: h1, generation: 2, since_ms: 1234 }] }));
  const r1 = await etcd.client.put(rolloutKey(FLEET, "r1"), JSON.stringify(rollout(["h1", "n2"])));
  // The old code: "taken" (two nodes down with K = 1).
  expect(await takeSlot(etcd.client, FLEET, "r1", 1, { node: "n2", lease: n2, generation: 1 }, r1)).toBe("full");
  // The newer image's field is still there (nothing written over it).
  expect((await readSem(etcd.client, FLEET, "r1")).holders).toEqual([{ node: "h1", lease: h1, generation: 2, since_ms: 1234 }]);
  // A value that is no semaphore at all: its holders unknown, no slot is free.
  await etcd.client.put(semKey(FLEET, "r2"), "{not json");
  const r2 = await etcd.client.put(rolloutKey(FLEET, "r2"), JSON.stringify(rollout(["h1", "n2"])));
  expect(await takeSlot(etcd.client, FLEET, "r2", 1, { node: "n2", lease: n2, generation: 1 }, r2)).toBe("full");
  expect((await etcd.client.get(semKey(FLEET, "r2"))).kvs[0]!.value).toBe("{not json");
}, 60_000);

test("a rollout in progress whose key carries a field a newer image added counted as not in progress: fleet gc deleted it and the next rollout started beside it; it is in progress, and one that cannot be read at all is too", async () => {
  const FLEET = "unparseablerollout";
  await putMember(etcd.client, FLEET, "n1");
  // n1 is listed and not done: in progress.
  await etcd.client.put(rolloutKey(FLEET, "r1"), JSON.stringify({ ...rollout(["n1"]), pause_between_s: 30 }));
  expect(await gcRollouts(etcd.client, FLEET)).toEqual([]);
  expect((await etcd.client.get(rolloutKey(FLEET, "r1"))).kvs.length).toBe(1);
  expect((await startRollout(etcd.client, FLEET, "r9", rollout(["n1"]), Date.now() + 10_000)).busy?.id).toBe("r1");
  // Junk under rollouts/: unknown, so in progress (an operator deletes it), not deleted by gc.
  const JUNK = "unparseablejunk";
  await etcd.client.put(rolloutKey(JUNK, "r1"), "{\"action\":\"reboot\"");
  expect(await gcRollouts(etcd.client, JUNK)).toEqual([]);
  expect((await etcd.client.get(rolloutKey(JUNK, "r1"))).kvs.length).toBe(1);
  const busy = (await startRollout(etcd.client, JUNK, "r9", rollout([]), Date.now() + 10_000)).busy;
  expect(busy?.id).toBe("r1");
  expect(busy?.unreadable).toContain("is not a rollout");
  expect((await etcd.client.get(rolloutKey(JUNK, "r9"))).kvs.length).toBe(0);
}, 60_000);
