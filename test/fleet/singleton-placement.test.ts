// Where fleet services may run: a hand-started singleton ran beside the leader's copy, and a leader whose lease was revoked kept its copy ~2 s.
import { expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { nodeKey } from "../../src/fleet/keys.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { killLeftovers, tempDir, writeJson } from "../pid1/harness.ts";
import { bootNode, useCluster, waitForAsync, type Node } from "./fleet-harness.ts";

const FLEET = "place";
let starts: string;
const nodes: (Node & { sock: string })[] = [];

const etcd = useCluster({
  beforeStop: [killLeftovers],
  setUp: () => {
    const dir = tempDir("fleet-place-");
    starts = join(dir, "starts.log");
    writeFileSync(starts, "");
    for (const id of ["p0", "p1"]) {
      const cfg = writeJson(dir, `${id}.json`, {
        run_dir: join(dir, id),
        services: [
          { name: "one", argv: ["/bin/sh", "-c", `echo "one $FLEET_NODE rev=$FLEET_LEADER_REV" >> ${starts}; exec sleep 1000`], fleet: "singleton", grace_ms: 500 },
          { name: "q", argv: ["/bin/sh", "-c", `echo "q" >> ${starts}; exec sleep 1000`], fleet: "after-quorum", grace_ms: 500 },
        ],
      });
      // A quorum of 3 with 2 nodes: "q" never starts by itself.
      nodes.push({ ...bootNode(etcd.cluster, FLEET, id, ["--config", cfg, "--set", "fleet.quorum=3"]), sock: join(dir, id, "control") });
    }
  },
});

const startLines = () => readFileSync(starts, "utf8").split("\n").filter(Boolean);

test("vector-boot start of a singleton on a node that does not lead it ran a second copy (rc 0, empty FLEET_LEADER_REV): refused, exit 75", async () => {
  await waitForAsync(async () => startLines().length === 1, 60_000, "the singleton started on its leader", 100);
  const leader = startLines()[0]!.split(" ")[1]!;
  const other = nodes.find((n) => n.id !== leader)!;
  const r = await runShippedAsync(["start", "one", "--socket", other.sock]);
  expect({ code: r.code, err: r.err }).toMatchObject({ code: 75 });
  expect(r.err).toContain("a fleet singleton runs only on the node elected for it");
  expect(startLines().length).toBe(1);
}, 90_000);

test("vector-boot start of an after-quorum service before the quorum started it: refused, exit 75", async () => {
  const r = await runShippedAsync(["start", "q", "--socket", nodes[0]!.sock]);
  expect(r.code).toBe(75);
  expect(r.err).toContain("an after-quorum service starts once 3 nodes are fleet members");
  expect(startLines().filter((l) => l === "q")).toEqual([]);
}, 30_000);

test("a singleton leader whose lease is revoked kept its copy until its next keepalive: it stops at its next election round", async () => {
  await waitForAsync(async () => startLines().length >= 1, 60_000, "the singleton started on its leader", 100);
  const leader = nodes.find((n) => n.id === startLines()[0]!.split(" ")[1])!;
  const lease = (await etcd.client.get(nodeKey(FLEET, leader.id))).kvs[0]!.lease;
  await etcd.client.revoke(lease);
  await waitForAsync(async () => leader.run.log().includes("singleton stopping"), 10_000, "the old leader to stop its copy", 50);
  expect(leader.run.log()).toContain(`singleton stopping service=one`);
  expect(leader.run.log()).toContain(`why="this node's candidacy key is gone (its lease was revoked or expired)"`);
}, 30_000);
