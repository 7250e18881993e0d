// A node's failed action was marked on the rollout (stopped) only by a watching `fleet rollout`: after the command left (--timeout-s), the other nodes went on taking slots.
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { rolloutSchema, rolloutsPrefix } from "../../src/fleet/rollout.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { killLeftovers, tempDir, writeJson } from "../pid1/harness.ts";
import { bootNode, fleetStatus, useCluster, waitForAsync, type Node } from "./fleet-harness.ts";

const FLEET = "rollunwatched";
let nodes: Node[] = [];
let badConfig: string;

const etcd = useCluster({
  beforeStop: [killLeftovers],
  setUp: () => {
    badConfig = writeJson(tempDir("fleet-rollunwatched-"), "config.json", {});
    nodes = [bootNode(etcd.cluster, FLEET, "u0", ["--config", badConfig]), bootNode(etcd.cluster, FLEET, "u1")];
  },
});

test("a node whose re-exec is refused after fleet rollout stopped watching (--timeout-s) marks the rollout stopped itself, naming itself and the reason", async () => {
  await waitForAsync(async () => (await fleetStatus(etcd.cluster, FLEET)).nodes.filter((n) => (n.beats ?? 0) > 0).length === 2, 90_000, "2 beating members", 500);
  writeFileSync(badConfig, '{"services": ');
  // u0 is frozen while the command watches, so its refusal comes after the command left: when u0 was
  // quick (a rollout poll right after the create), the command saw the failure itself and exited 65.
  const u0 = await nodes[0]!.run.initPid();
  process.kill(u0, "SIGSTOP");
  let cli;
  try {
    cli = await runShippedAsync(["fleet", "rollout", "reexec", "--max-unavailable", "1", "--endpoints", etcd.cluster.endpoints.join(","), "--name", FLEET, "--timeout-s", "1"], 60_000);
  } finally {
    process.kill(u0, "SIGCONT");
  }
  expect(cli.code).toBe(75);
  await waitForAsync(async () => nodes[0]!.run.log().includes("rollout: failure recorded"), 120_000, "u0's failure recorded", 200);
  const kvs = (await etcd.client.get(rolloutsPrefix(FLEET), { prefix: true })).kvs;
  expect(kvs.length).toBe(1);
  const r = rolloutSchema.parse(JSON.parse(kvs[0]!.value));
  expect(r.stopped?.node).toBe("u0");
  expect(r.stopped?.reason).toContain("config");
}, 240_000);
