// A machine whose node_id changed (restarted within the lease's TTL, or re-exec'd) adopted its previous run's lease: the old node's key lived on beside the new one's for as long as the machine ran (counted twice; rollouts and gc waited on it for ever).
import { expect, test } from "bun:test";
import { join } from "node:path";
import { nodeKey } from "../../src/fleet/keys.ts";
import { killLeftovers, tempDir } from "../pid1/harness.ts";
import { bootNode, TTL_S, useCluster, waitForAsync } from "./fleet-harness.ts";

const FLEET = "renamed";

const etcd = useCluster({ beforeStop: [killLeftovers] });

const present = async (id: string): Promise<boolean> => (await etcd.client.get(nodeKey(FLEET, id))).kvs.length === 1;

test("a node SIGKILLed as 'old-name' and booted again at once as 'new-name' on the same state dir kept old-name's key alive on the lease it adopted; the lease of another node id is revoked, not adopted", async () => {
  const state = join(tempDir("fleet-renamed-"), "state");
  const first = bootNode(etcd.cluster, FLEET, "old-name", ["--set", `state_dir=${state}`]);
  await waitForAsync(() => present("old-name"), 60_000, "old-name's key");
  process.kill(await first.run.initPid(), "SIGKILL");
  await first.run.result(10_000);
  const second = bootNode(etcd.cluster, FLEET, "new-name", ["--set", `state_dir=${state}`]);
  await waitForAsync(() => present("new-name"), 60_000, "new-name's key");
  // Well before old-name's lease could have run out by itself (TTL after the kill): revoked at the start.
  await waitForAsync(async () => !(await present("old-name")), (TTL_S * 1000) / 2, "old-name's key to go");
  expect(second.run.log()).toContain("fleet lease of this machine's previous node id or fleet revoked");
  process.kill(await second.run.initPid(), "SIGTERM");
  expect((await second.run.result(30_000)).code).toBe(130);
}, 120_000);
