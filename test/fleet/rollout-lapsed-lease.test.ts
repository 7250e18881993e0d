// A node frozen past its lease TTL took a rollout slot on its dead lease when it resumed: a holder the others count as dead, so with K=1 a second node was taken down beside it.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { b64 } from "../../src/fleet/etcd-client.ts";
import { nodeKey } from "../../src/fleet/keys.ts";
import { doneKey, readSem, rolloutKey, rolloutsPrefix, semKey } from "../../src/fleet/rollout.ts";
import { killLeftovers, start, tempDir } from "../pid1/harness.ts";
import { stepProxy, type StepProxy } from "./etcd-step-proxy.ts";
import { fleetStatus, TTL_S, useCluster, waitForAsync, type Node } from "./fleet-harness.ts";

const FLEET = "rolllapse";
const proxies: StepProxy[] = [];
const etcd = useCluster({ beforeStop: [killLeftovers, () => proxies.forEach((p) => p.stop())], timeoutMs: 30_000 });

/** Node `id` as PID 1 whose only etcd endpoint is `endpoint` (a step proxy), state in `stateDir`. */
function bootVia(id: string, endpoint: string, stateDir: string): Node {
  const args = ["boot", "--set", `fleet.endpoints=${endpoint}`, "--set", `fleet.name=${FLEET}`, "--set", `fleet.node_id=${id}`, "--set", `fleet.lease_ttl_s=${TTL_S}`, "--set", "pixel_test=0", "--set", "heartbeat_log_every=10", "--set", `state_dir=${stateDir}`];
  return { id, run: start(args, { pid1: true }) };
}

const isRange = (path: string, body: Record<string, unknown>, key: string, prefix: boolean) => path === "/v3/kv/range" && body.key === b64(key) && (body.range_end !== undefined) === prefix;

test("a node frozen (SIGSTOP) past its lease TTL took a rollout slot on its dead lease when it resumed, so with --max-unavailable 1 the next node took the slot and re-exec'd beside it: slots, done marks and releases are fenced on the node's key being on its lease", async () => {
  let id = "";
  const stateA = join(tempDir("fleet-lapse-a-"), "state");
  // la's image after its re-exec does not get to its done mark until the test lets it (its rollouts/ reads are held).
  const letDone = Promise.withResolvers<void>();
  const pa = stepProxy(etcd.cluster.endpoints[0]!, async (path, body) => {
    if (id !== "" && isRange(path, body, rolloutsPrefix(FLEET), true) && existsSync(join(stateA, `fleet-rollout-${id}.acted`))) await letDone.promise;
  });
  let lbSlotReads = 0;
  const pb = stepProxy(etcd.cluster.endpoints[1]!, async (path, body) => {
    if (id !== "" && isRange(path, body, semKey(FLEET, id), false)) lbSlotReads++;
  });
  proxies.push(pa, pb);
  const la = bootVia("la", pa.url, stateA);
  await waitForAsync(async () => ((await fleetStatus(etcd.cluster, FLEET)).nodes.find((n) => n.node === "la")?.beats ?? 0) > 0, 90_000, "la beating, a member", 500);
  const before = (await etcd.client.get(nodeKey(FLEET, "la"))).kvs[0]!.lease;
  // la's init freezes (a paused VM) until its lease has expired: its key is gone.
  const pid = await la.run.initPid();
  process.kill(pid, "SIGSTOP");
  try {
    await waitForAsync(async () => (await etcd.client.get(nodeKey(FLEET, "la"))).kvs.length === 0, (TTL_S + 10) * 1000, "la's key gone with its lease", 200);
    // Meanwhile a rolling re-exec of la and lb, one at a time (lb not booted yet: it cannot act before la).
    id = `${Date.now().toString().padStart(15, "0")}-reexec`;
    await etcd.client.put(rolloutKey(FLEET, id), JSON.stringify({ action: "reexec", max_unavailable: 1, nodes: ["la", "lb"], created_at: Date.now() }));
  } finally {
    process.kill(pid, "SIGCONT");
  }
  await waitForAsync(async () => (await readSem(etcd.client, FLEET, id)).holders.some((h) => h.node === "la"), 30_000, "la holding the slot", 100);
  // lb joins and looks at the slot (three rounds) while la has not finished.
  const lb = bootVia("lb", pb.url, join(tempDir("fleet-lapse-b-"), "state"));
  try {
    await waitForAsync(async () => lbSlotReads >= 3, 60_000, "lb to look at the slot three times", 100);
    const holder = (await readSem(etcd.client, FLEET, id)).holders.find((h) => h.node === "la");
    const laKey = (await etcd.client.get(nodeKey(FLEET, "la"))).kvs[0];
    // The old code: la's slot on the lease that had expired (`before`), which lb counted as dead: lb re-exec'd while la did.
    expect({ lbTookSlot: lb.run.log().includes("rollout: slot taken"), laSlotOnItsKeysLease: holder !== undefined && holder.lease === laKey?.lease, laSlotOnDeadLease: holder?.lease === before }).toEqual({ lbTookSlot: false, laSlotOnItsKeysLease: true, laSlotOnDeadLease: false });
  } finally {
    letDone.resolve();
  }
  // Then one after the other: la done and its slot released, lb's turn.
  await waitForAsync(async () => (await etcd.client.get(doneKey(FLEET, id, "lb"))).kvs.length === 1 && (await readSem(etcd.client, FLEET, id)).holders.length === 0, 90_000, "lb done after la", 250);
  const laDone = (await etcd.client.get(doneKey(FLEET, id, "la"))).kvs[0]!;
  expect(JSON.parse(laDone.value)).toMatchObject({ node: "la", outcome: "ok" });
}, 240_000);
