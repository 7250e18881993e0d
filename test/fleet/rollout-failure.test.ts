// A rollout whose action fails on a node (its re-exec refused): it counted as done, the next node was taken down, and the CLI exited 0.
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { spawnShipped } from "../harness/artifact.ts";
import { killLeftovers, tempDir, writeJson } from "../pid1/harness.ts";
import { bootNode, fleetStatus, useCluster, waitForAsync, type Node } from "./fleet-harness.ts";

const FLEET = "rollfail";
let nodes: Node[] = [];
let badConfig: string;

const etcd = useCluster({
  beforeStop: [killLeftovers],
  setUp: () => {
    badConfig = writeJson(tempDir("fleet-rollfail-"), "config.json", {});
    nodes = [bootNode(etcd.cluster, FLEET, "f0", ["--config", badConfig]), bootNode(etcd.cluster, FLEET, "f1"), bootNode(etcd.cluster, FLEET, "f2")];
  },
});

interface Event {
  event: string;
  done?: string[];
  failed?: { node: string; reason: string }[];
}

test("a node whose re-exec is refused counted as done and the rollout took the next node down (exit 0): it stops there, exit 65 naming the node", async () => {
  await waitForAsync(async () => (await fleetStatus(etcd.cluster, FLEET)).nodes.filter((n) => (n.beats ?? 0) > 0).length === 3, 90_000, "3 beating members", 500);
  // f0's config is now invalid: its re-exec is refused (the new image would not boot).
  writeFileSync(badConfig, '{"services": ');
  const p = spawnShipped(["fleet", "rollout", "reexec", "--max-unavailable", "1", "--endpoints", etcd.cluster.endpoints.join(","), "--name", FLEET, "--json", "--timeout-s", "120"]);
  const [out, code] = await Promise.all([new Response(p.stdout as ReadableStream).text(), p.exited]);
  const events = out.trim().split("\n").map((l) => JSON.parse(l) as Event);
  const last = events.at(-1)!;
  expect({ code, event: last.event, failed: last.failed?.map((f) => f.node) }).toEqual({ code: 65, event: "failed", failed: ["f0"] });
  expect(last.failed![0]!.reason).toContain("config");
  expect(nodes[0]!.run.log()).toContain("rollout: action failed");
  // No node re-execs after f0's failure: the good ones that did are exactly the ones done before it.
  const reexeced = nodes.slice(1).filter((n) => n.run.log().includes("reexec: exec ")).map((n) => n.id);
  expect(reexeced).toEqual(last.done!.filter((n) => n !== "f0").sort());
}, 180_000);
