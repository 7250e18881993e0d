// A leader whose singleton service failed on it (a binary missing on that node only) kept the lead for as long as its lease lived: the singleton ran nowhere.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { killLeftovers, tempDir, writeJson } from "../pid1/harness.ts";
import { bootNode, useCluster, waitForAsync, type Node } from "./fleet-harness.ts";

const FLEET = "failed-here";
const etcd = useCluster({ beforeStop: [killLeftovers] });

/** Node `id`: the singleton's binary is missing on node "broken" (127, restart never), runs on any other. */
function boot(id: string): Node {
  const dir = tempDir(`fleet-failed-${id}-`);
  const cfg = writeJson(dir, "config.json", {
    run_dir: join(dir, "run"),
    services: [{ name: "solo", argv: ["/bin/sh", "-c", 'test "$FLEET_NODE" = broken && exec /nonexistent/solo-binary; exec sleep 1000'], fleet: "singleton", restart: "never", grace_ms: 500 }],
  });
  return bootNode(etcd.cluster, FLEET, id, ["--config", cfg, "--set", `state_dir=${join(dir, "state")}`]);
}

test("a node elected for a singleton whose service cannot run there (its binary missing: 127, restart never) kept the lead, and the healthy node never ran it: the failed node gives the lead up and the other runs it", async () => {
  const broken = boot("broken");
  await waitForAsync(async () => /singleton elected: starting service=solo/.test(broken.run.log()), 60_000, "the broken node elected first");
  const healthy = boot("healthy");
  await waitForAsync(async () => /singleton elected: starting service=solo/.test(healthy.run.log()), 30_000, "the healthy node to be elected once the broken one gave the lead up");
  expect(broken.run.log()).toContain("the service failed on this node: the lead goes to another node");
  for (const n of [broken, healthy]) {
    process.kill(await n.run.initPid(), "SIGTERM");
    expect((await n.run.result(30_000)).code).toBe(130);
  }
}, 150_000);
