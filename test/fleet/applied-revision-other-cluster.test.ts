// A fleet-applied.json from another etcd cluster (a copied disk image, etcd rebuilt) was taken as it was: every mutation up to its revision was skipped without a word and acked by no one.
import { expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { acksPrefix } from "../../src/fleet/keys.ts";
import { publishUntil } from "../../src/fleet/publish-mutation.ts";
import { killLeftovers, tempDir } from "../pid1/harness.ts";
import { bootNode, useCluster, waitForAsync } from "./fleet-harness.ts";

const FLEET = "othercluster";
const TENSOR = "pixel.0.weight";

const etcd = useCluster({ beforeStop: [killLeftovers] });

for (const [n, what] of [
  [0, "a revision past this cluster's (no cluster id: an older file)"],
  [1, "another cluster's id (a revision this cluster has reached, past the mutation's)"],
] as const) {
  test(`a saved applied revision with ${what} made the node skip this cluster's mutations silently: it catches up from the start, applies and acks them, and saves this cluster's id`, async () => {
    const dir = join(tempDir("fleet-other-"), "state");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "fleet-applied.json");
    // Published before the node boots: its revision is below the saved one in both cases.
    await publishUntil(etcd.client, FLEET, `m-early-${n}`, { tensor: TENSOR, offset: 1, values: [0.5], confidence: 0.95 }, Date.now() + 30_000);
    const now = (await etcd.client.get("/")).revision;
    writeFileSync(file, JSON.stringify(n === 0 ? { revision: now + 1_000_000 } : { revision: now, cluster_id: "1" }));
    const node = bootNode(etcd.cluster, FLEET, `o${n}`, ["--set", `state_dir=${dir}`]);
    await waitForAsync(async () => (await etcd.client.get(`${acksPrefix(FLEET, `m-early-${n}`)}o${n}`)).kvs.length === 1, 60_000, `o${n} to ack m-early-${n}`);
    expect(node.run.log()).toContain("fleet applied revision is not of this etcd cluster's history: catching up from the start");
    const ack = JSON.parse((await etcd.client.get(`${acksPrefix(FLEET, `m-early-${n}`)}o${n}`)).kvs[0]!.value) as { accepted: boolean };
    expect(ack.accepted).toBe(true);
    const clusterId = (await etcd.client.get("/")).clusterId;
    await waitForAsync(async () => (JSON.parse(readFileSync(file, "utf8")) as { cluster_id?: string }).cluster_id === clusterId, 10_000, "this cluster's id saved");
    process.kill(await node.run.initPid(), "SIGTERM");
    expect((await node.run.result(30_000)).code).toBe(130);
  }, 120_000);
}
