// A node's failed action was marked on the rollout (stopped) only by a watching `fleet rollout`: after the command left (--timeout-s), the other nodes went on taking slots.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import type { EtcdCluster } from "../../scripts/etcd-cluster.ts";
import { EtcdClient } from "../../src/fleet/etcd-client.ts";
import { rolloutSchema, rolloutsPrefix } from "../../src/fleet/rollout.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { killLeftovers, tempDir, writeJson } from "../pid1/harness.ts";
import { bootNode, cluster, fleetStatus, stopCluster, waitForAsync, type Node } from "./fleet-harness.ts";

const FLEET = "rollunwatched";
let etcd: EtcdCluster;
let client: EtcdClient;
let nodes: Node[] = [];
let badConfig: string;

beforeAll(async () => {
  etcd = await cluster();
  client = new EtcdClient({ endpoints: etcd.endpoints, callTimeoutMs: 10_000 });
  badConfig = writeJson(tempDir("fleet-rollunwatched-"), "config.json", {});
  nodes = [bootNode(etcd, FLEET, "u0", ["--config", badConfig]), bootNode(etcd, FLEET, "u1")];
}, 60_000);

afterAll(() => {
  killLeftovers();
  if (etcd) stopCluster(etcd);
});

test("a node whose re-exec is refused after fleet rollout stopped watching (--timeout-s) marks the rollout stopped itself, naming itself and the reason", async () => {
  await waitForAsync(async () => (await fleetStatus(etcd, FLEET)).nodes.filter((n) => (n.beats ?? 0) > 0).length === 2, 90_000, "2 beating members", 500);
  writeFileSync(badConfig, '{"services": ');
  // u0 is frozen while the command watches, so its refusal comes after the command left: when u0 was
  // quick (a rollout poll right after the create), the command saw the failure itself and exited 65.
  const u0 = await nodes[0]!.run.initPid();
  process.kill(u0, "SIGSTOP");
  let cli;
  try {
    cli = await runShippedAsync(["fleet", "rollout", "reexec", "--max-unavailable", "1", "--endpoints", etcd.endpoints.join(","), "--name", FLEET, "--timeout-s", "1"], 60_000);
  } finally {
    process.kill(u0, "SIGCONT");
  }
  expect(cli.code).toBe(75);
  await waitForAsync(async () => nodes[0]!.run.log().includes("rollout: failure recorded"), 120_000, "u0's failure recorded", 200);
  const kvs = (await client.get(rolloutsPrefix(FLEET), { prefix: true })).kvs;
  expect(kvs.length).toBe(1);
  const r = rolloutSchema.parse(JSON.parse(kvs[0]!.value));
  expect(r.stopped?.node).toBe("u0");
  expect(r.stopped?.reason).toContain("config");
}, 240_000);
