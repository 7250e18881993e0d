// A node frozen while its rollout re-exec's preflight asked the new image went on to exec after its lease (the one its slot was on) had expired: a slot the next node counts as free.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { nodeKey } from "../../src/fleet/keys.ts";
import { doneKey, readSem, rolloutKey } from "../../src/fleet/rollout.ts";
import { killLeftovers, tempDir } from "../pid1/harness.ts";
import { waitFor } from "../harness/wait.ts";
import { bootNode, fleetStatus, TTL_S, useCluster, waitForAsync } from "./fleet-harness.ts";

const FLEET = "rollreexeclapse";
const etcd = useCluster({ beforeStop: [killLeftovers], timeoutMs: 30_000 });

test("a node frozen (SIGSTOP) while its rollout re-exec asked the new image (the preflight, up to 30 s a question) exec'd once it resumed though its lease, the one its slot was on, had expired meanwhile: the re-exec is not now, and the node acts again on a later round on a live lease", async () => {
  const stateA = join(tempDir("fleet-reexeclapse-a-"), "state");
  const la = bootNode(etcd.cluster, FLEET, "la", ["--set", `state_dir=${stateA}`]);
  await waitForAsync(async () => ((await fleetStatus(etcd.cluster, FLEET)).nodes.find((n) => n.node === "la")?.beats ?? 0) > 0, 90_000, "la beating, a member", 500);
  const lease = (await etcd.client.get(nodeKey(FLEET, "la"))).kvs[0]!.lease;
  const pid = await la.run.initPid();
  const id = `${Date.now().toString().padStart(15, "0")}-reexec`;
  const marker = join(stateA, `fleet-rollout-${id}.acted`);
  await etcd.client.put(rolloutKey(FLEET, id), JSON.stringify({ action: "reexec", max_unavailable: 1, nodes: ["la"], created_at: Date.now() }));
  // The marker is written as la starts acting: its preflight (two children, each a new Bun) is then under way.
  await waitFor(() => existsSync(marker), 30_000, "la to start acting on its slot", { pollMs: 1 });
  process.kill(pid, "SIGSTOP");
  try {
    await waitForAsync(async () => (await etcd.client.get(nodeKey(FLEET, "la"))).kvs.length === 0, (TTL_S + 10) * 1000, "la's key gone with its lease", 200);
  } finally {
    process.kill(pid, "SIGCONT");
  }
  expect((await readSem(etcd.client, FLEET, id)).holders.map((h) => h.lease)).toEqual([lease]);
  // The old code: la exec'd the new image on the slot of its expired lease.
  const execd = /resuming after re-exec generation=1 /;
  const notNow = /rollout: action refused for now/;
  await waitFor(() => execd.test(la.run.log()) || notNow.test(la.run.log()), 60_000, "la to exec, or to put its re-exec off", { pollMs: 20 });
  expect({ execdOnTheExpiredLease: execd.test(la.run.log()), putOff: notNow.test(la.run.log()) }).toEqual({ execdOnTheExpiredLease: false, putOff: true });
  // A member again on a new lease: the slot taken on it, one re-exec, done.
  await waitForAsync(async () => (await etcd.client.get(doneKey(FLEET, id, "la"))).kvs.length === 1, 90_000, "la done", 250);
  const log = la.run.log();
  expect(JSON.parse((await etcd.client.get(doneKey(FLEET, id, "la"))).kvs[0]!.value)).toMatchObject({ node: "la", outcome: "ok" });
  expect({ gen1: execd.test(log), gen2: log.includes("resuming after re-exec generation=2 ") }).toEqual({ gen1: true, gen2: false });
}, 240_000);
