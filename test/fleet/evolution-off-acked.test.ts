// A node whose config turns evolution off never acked a fleet mutation: fleet gc and every mutate --wait waited on it for ever. Acked as a refusal, the mutations were never taken once evolution was on again.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { acksPrefix } from "../../src/fleet/keys.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { killLeftovers, tempDir, writeJson } from "../pid1/harness.ts";
import { bootNode, useCluster, waitForAsync, type Node } from "./fleet-harness.ts";

const FLEET = "evo-off";
const etcd = useCluster({ beforeStop: [killLeftovers] });

function boot(id: string, evolution: boolean): Node {
  const dir = tempDir(`fleet-evo-${id}-`);
  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), evolution: { enabled: evolution } });
  return bootNode(etcd.cluster, FLEET, id, ["--config", cfg, "--set", `state_dir=${join(dir, "state")}`]);
}

test("a node with evolution off by its config held fleet mutate --wait (75) and gc back, never acking: it takes no mutation and says so, so mutate --wait is answered by the others (0) and its revision is not passed", async () => {
  const off = boot("off", false);
  const on = boot("on", true);
  await waitForAsync(async () => (await etcd.client.get(`/vector-boot/${FLEET}/nodes/`, { prefix: true })).kvs.length === 2, 60_000, "both nodes to join");
  const endpoints = etcd.cluster.endpoints.join(",");
  const r = await runShippedAsync(["fleet", "mutate", "pixel.0.weight", "1", "--values", "0.5", "--confidence", "0.9", "--id", "x1", "--endpoints", endpoints, "--name", FLEET, "--wait", "20000", "--json"], 60_000);
  expect({ code: r.code, err: r.err.slice(-300) }).toEqual({ code: 0, err: r.err.slice(-300) });
  const acks = (await etcd.client.get(acksPrefix(FLEET, "x1"), { prefix: true })).kvs.map((kv) => kv.key.slice(acksPrefix(FLEET, "x1").length));
  expect(acks).toEqual(["on"]);
  for (const n of [off, on]) {
    process.kill(await n.run.initPid(), "SIGTERM");
    expect((await n.run.result(30_000)).code).toBe(130);
  }
}, 150_000);
