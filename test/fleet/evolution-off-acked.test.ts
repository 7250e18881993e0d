// A node whose config turns evolution off never acked a fleet mutation (its EVOLUTION_DISABLED was taken for a passing failure): fleet gc and every mutate --wait waited on it for ever.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { acksPrefix, ackSchema } from "../../src/fleet/keys.ts";
import { publishUntil } from "../../src/fleet/publish-mutation.ts";
import { killLeftovers, tempDir, writeJson } from "../pid1/harness.ts";
import { bootNode, useCluster, waitForAsync } from "./fleet-harness.ts";

const FLEET = "evo-off";
const etcd = useCluster({ beforeStop: [killLeftovers] });

test("a node with evolution off by its config refuses a fleet mutation for good: acked EVOLUTION_OFF (it was never acked, holding gc and mutate --wait)", async () => {
  const dir = tempDir("fleet-evo-off-");
  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), evolution: { enabled: false } });
  const node = bootNode(etcd.cluster, FLEET, "off", ["--config", cfg, "--set", `state_dir=${join(dir, "state")}`]);
  await waitForAsync(async () => node.run.log().includes("fleet lease granted"), 60_000, "the node to join");
  await publishUntil(etcd.client, FLEET, "x1", { tensor: "pixel.0.weight", offset: 1, values: [0.5], confidence: 0.9 }, Date.now() + 20_000);
  await waitForAsync(async () => (await etcd.client.get(`${acksPrefix(FLEET, "x1")}off`)).kvs.length === 1, 30_000, "the node's ack");
  const ack = ackSchema.parse(JSON.parse((await etcd.client.get(`${acksPrefix(FLEET, "x1")}off`)).kvs[0]!.value));
  expect({ accepted: ack.accepted, status: ack.status }).toEqual({ accepted: false, status: "EVOLUTION_OFF" });
  process.kill(await node.run.initPid(), "SIGTERM");
  expect((await node.run.result(30_000)).code).toBe(130);
}, 120_000);
