// A node resyncing from the fleet checkpoint re-applied every folded write, also those it had applied itself: what local mutations had written to the same range since was overwritten.
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { checkpointKey } from "../../src/fleet/fleet-checkpoint.ts";
import { publishUntil } from "../../src/fleet/publish-mutation.ts";
import { acksPrefix } from "../../src/fleet/keys.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { killLeftovers, tempDir } from "../pid1/harness.ts";
import { bootNode, checkpointTensor, useCluster, waitForAsync, type Node } from "./fleet-harness.ts";

const FLEET = "resyncapplied";
const TENSOR = "pixel.0.weight";
const etcd = useCluster({ beforeStop: [killLeftovers] });

const acked = async (id: string, node: string) => (await etcd.client.get(`${acksPrefix(FLEET, id)}${node}`)).kvs.length === 1;

test("r0 applied fleet write M1 (offset 40 = 0.5), then a local mutation wrote 0.75 there; down across a gc that folded M1 and M2, it resynced and offset 40 read 0.5 again: it applies only M2, 0.75 stays", async () => {
  const dirs = { r0: tempDir("fleet-resync-r0-"), r1: tempDir("fleet-resync-r1-") };
  const boot = (id: "r0" | "r1") => bootNode(etcd.cluster, FLEET, id, ["--set", `state_dir=${join(dirs[id], "state")}`, "--set", `run_dir=${join(dirs[id], "run")}`]);
  let r0: Node = boot("r0");
  const r1 = boot("r1");
  await waitForAsync(async () => (await etcd.client.count(`/vector-boot/${FLEET}/nodes/`)) === 2, 90_000, "2 members", 200);
  await publishUntil(etcd.client, FLEET, "m1", { tensor: TENSOR, offset: 40, values: [0.5], confidence: 0.95 }, Date.now() + 30_000);
  await waitForAsync(async () => (await acked("m1", "r0")) && (await acked("m1", "r1")), 60_000, "both to ack m1");
  const local = await runShippedAsync(["mutate", TENSOR, "40", "--values", "0.75", "--confidence", "0.9", "--socket", join(dirs.r0, "run", "control")], 30_000);
  expect(local.code, local.err).toBe(0);
  process.kill(await r0.run.initPid(), "SIGTERM");
  await r0.run.result(30_000);
  expect(checkpointTensor(join(dirs.r0, "state"), TENSOR)[40]).toBe(0.75);
  await publishUntil(etcd.client, FLEET, "m2", { tensor: TENSOR, offset: 41, values: [0.25], confidence: 0.95 }, Date.now() + 30_000);
  await waitForAsync(async () => acked("m2", "r1"), 60_000, "r1 to ack m2");
  const gc = await runShippedAsync(["fleet", "gc", "--endpoints", etcd.cluster.endpoints.join(","), "--name", FLEET, "--json"], 30_000);
  expect(gc.code, gc.err).toBe(0);
  expect((JSON.parse(gc.out) as { folded: number }).folded).toBe(2);
  r0 = boot("r0");
  await waitForAsync(async () => r0.run.log().includes("resyncing from it"), 60_000, "r0 to resync from the checkpoint");
  // The resync is over once r0 has saved the checkpoint's revision as applied.
  const through = (JSON.parse((await etcd.client.get(checkpointKey(FLEET))).kvs[0]!.value) as { through_revision: number }).through_revision;
  const applied = join(dirs.r0, "state", "fleet-applied.json");
  await waitForAsync(async () => existsSync(applied) && (JSON.parse(readFileSync(applied, "utf8")) as { revision: number }).revision >= through, 30_000, "r0 past the resync");
  process.kill(await r0.run.initPid(), "SIGTERM");
  await r0.run.result(30_000);
  const w = checkpointTensor(join(dirs.r0, "state"), TENSOR);
  expect({ 40: w[40], 41: w[41] }).toEqual({ 40: 0.75, 41: 0.25 });
  process.kill(await r1.run.initPid(), "SIGTERM");
  await r1.run.result(30_000);
}, 240_000);
