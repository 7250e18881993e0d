// A node's applied fleet revision was saved only by a batch 250 ms after the last save, or at stop: the last batch of a burst stayed unsaved, and a crash re-applied it over newer local writes.
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { acksPrefix, mutationsPrefix } from "../../src/fleet/keys.ts";
import { publishUntil } from "../../src/fleet/publish-mutation.ts";
import { killLeftovers, tempDir } from "../pid1/harness.ts";
import { bootNode, useCluster, waitForAsync } from "./fleet-harness.ts";

const FLEET = "saved";
const TENSOR = "pixel.0.weight";

const etcd = useCluster({ beforeStop: [killLeftovers] });

const savedRevision = (file: string): number | null => (existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as { revision: number }).revision : null);

test("the second of two mutations a node applied within 250 ms stayed unsaved in fleet-applied.json until the next batch or the stop (a power cut re-applied it); now saved within the throttle's 250 ms", async () => {
  const dir = join(tempDir("fleet-saved-"), "state");
  const node = bootNode(etcd.cluster, FLEET, "s0", ["--set", `state_dir=${dir}`]);
  await waitForAsync(async () => (await etcd.client.count(`/vector-boot/${FLEET}/nodes/`)) === 1, 90_000, "s0 to join");
  const file = join(dir, "fleet-applied.json");
  const acked = async (id: string) => (await etcd.client.get(`${acksPrefix(FLEET, id)}s0`)).kvs.length === 1;
  // The first is saved at once (no save for 250 ms before it); the second, acked right after, falls inside the throttle.
  await publishUntil(etcd.client, FLEET, "m-first", { tensor: TENSOR, offset: 1, values: [0.5], confidence: 0.95 }, Date.now() + 30_000);
  await waitForAsync(() => acked("m-first"), 30_000, "s0 to ack m-first", 5);
  const firstSavedAt = performance.now();
  await publishUntil(etcd.client, FLEET, "m-second", { tensor: TENSOR, offset: 2, values: [0.25], confidence: 0.95 }, Date.now() + 30_000);
  const second = (await etcd.client.get(`${mutationsPrefix(FLEET)}m-second`)).kvs[0]!.modRevision;
  await waitForAsync(() => acked("m-second"), 30_000, "s0 to ack m-second", 5);
  const inThrottle = performance.now() - firstSavedAt < 250;
  // Saved at most 250 ms after the batch (the timer), not only at the next batch or the stop.
  await waitForAsync(async () => savedRevision(file) === second, 3_000, `fleet-applied.json to reach m-second's revision ${second} (the ack came ${inThrottle ? "inside" : "outside"} the 250 ms throttle)`, 20);
  // A PID 1 in a PID namespace: reboot(2) ends it by SIGINT (130).
  process.kill(await node.run.initPid(), "SIGTERM");
  expect((await node.run.result(30_000)).code).toBe(130);
}, 120_000);
