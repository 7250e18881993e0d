// A second node with the same node_id: it logs the conflict and stays out, and joins only once the first node's key is gone (docs/fleet.md).
import { expect, test } from "bun:test";
import { join } from "node:path";
import { nodeKey } from "../../src/fleet/keys.ts";
import { killLeftovers, tempDir } from "../pid1/harness.ts";
import { bootNode, useCluster, waitForAsync } from "./fleet-harness.ts";

const FLEET = "dupid";

const etcd = useCluster({ beforeStop: [killLeftovers] });

const lease = async (): Promise<string | null> => (await etcd.client.get(nodeKey(FLEET, "d0"))).kvs[0]?.lease ?? null;

test("a second node with the same node_id stays out while the first holds the key, and joins on its own lease once the first has left", async () => {
  const first = bootNode(etcd.cluster, FLEET, "d0", ["--set", `state_dir=${join(tempDir("fleet-dup-a-"), "state")}`]);
  await waitForAsync(async () => (await lease()) !== null, 60_000, "the first d0 listed", 100);
  const firstLease = (await lease())!;
  const second = bootNode(etcd.cluster, FLEET, "d0", ["--set", `state_dir=${join(tempDir("fleet-dup-b-"), "state")}`]);
  await waitForAsync(async () => second.run.log().includes("fleet node id already in use"), 60_000, "the second d0's conflict", 100);
  expect(await lease()).toBe(firstLease);
  // An orderly shutdown revokes the first node's lease: its key goes at once.
  process.kill(await first.run.initPid(), "SIGTERM");
  // PID 1 of its own namespace: its power-off, reboot(2) there, ends it as if by SIGINT (unshare: 130).
  expect((await first.run.result(30_000)).code).toBe(130);
  await waitForAsync(async () => second.run.log().includes("fleet node key free again: joined"), 30_000, "the second d0 joining", 100);
  const now = await lease();
  expect(now).not.toBeNull();
  expect(now).not.toBe(firstLease);
  expect(second.run.log()).toContain(`fleet node key free again: joined key=${nodeKey(FLEET, "d0")}`);
}, 120_000);
