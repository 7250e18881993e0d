// The boot barrier counted every node key still on a live lease: a crashed node's key (or a rebooting one's, its lease kept alive) filled the quorum of a fleet cold-started with those nodes down.
import { expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { nodeKey } from "../../src/fleet/keys.ts";
import { killLeftovers, tempDir, writeJson } from "../pid1/harness.ts";
import { bootNode, useCluster, waitForAsync } from "./fleet-harness.ts";

const FLEET = "stale-quorum";
let starts = "";
let args: string[] = [];

const etcd = useCluster({
  beforeStop: [killLeftovers],
  setUp: () => {
    const dir = tempDir("fleet-stale-quorum-");
    starts = join(dir, "starts.log");
    writeFileSync(starts, "");
    const cfg = writeJson(dir, "config.json", { services: [{ name: "q", argv: ["/bin/sh", "-c", `echo started >> ${starts}; exec sleep 1000`], fleet: "after-quorum", grace_ms: 500 }] });
    args = ["--config", cfg, "--set", "fleet.quorum=3"];
  },
});

/** A node summary as a live node writes it (the fields the member list checks). */
const summary = (node: string) => JSON.stringify({ node, updated_at: Date.now(), lease_ttl_s: 60, pid1: true, generation: 1, model: null, journal_seq: null, beats: 1, lateness_ms: null, missed: 0, interrupts: [], services: {} });

test("two nodes' keys left on a live lease (crashed, or rebooting with their lease kept alive) passed a cold-started node's quorum of 3 at once: members count once their key is written again, as a live node does every TTL/3", async () => {
  // Two nodes that went down: their keys outlive them on a lease nobody rewrites them on.
  const lease = await etcd.client.grant(60);
  for (const ghost of ["ghost-1", "ghost-2"]) await etcd.client.put(nodeKey(FLEET, ghost), summary(ghost), { lease: lease.id });
  const node = bootNode(etcd.cluster, FLEET, "live", args);
  // The barrier counts the node itself once its key is rewritten (TTL/3), and not the ghosts.
  await waitForAsync(async () => /fleet members members=1 quorum=3/.test(node.run.log()), 30_000, "the barrier to count this node alone", 200);
  expect(node.run.log()).not.toContain("fleet quorum reached");
  expect(readFileSync(starts, "utf8")).toBe("");
  // The two nodes come back (their keys written again): the barrier passes.
  for (const ghost of ["ghost-1", "ghost-2"]) await etcd.client.put(nodeKey(FLEET, ghost), summary(ghost), { lease: lease.id });
  await waitForAsync(async () => readFileSync(starts, "utf8").includes("started"), 30_000, "q to start once 3 members are live");
  expect(node.run.log()).toContain("fleet quorum reached");
}, 120_000);
