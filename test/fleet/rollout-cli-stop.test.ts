// `fleet rollout` wrote its stop as a plain put of its own copy of the rollout: it replaced the stop a node had recorded, and re-created a rollout `fleet gc` had removed.
import { expect, test } from "bun:test";
import { opPut } from "../../src/fleet/etcd-client.ts";
import { fleetPrefix } from "../../src/fleet/keys.ts";
import { doneKey, gcRollouts, rolloutKey, rolloutSchema, semKey } from "../../src/fleet/rollout.ts";
import { spawnShipped } from "../harness/artifact.ts";
import { useCluster } from "./fleet-harness.ts";
import { stepProxy, type StepProxy } from "./etcd-step-proxy.ts";
import { putMember } from "./rollout-stand-ins.ts";

const proxies: StepProxy[] = [];

const etcd = useCluster({ beforeStop: [() => proxies.forEach((p) => p.stop())] });

/** A member's key the way a node writes it (its summary on its lease). */
const member = (fleet: string, node: string) => putMember(etcd.client, fleet, node);

const keyOf = (body: Record<string, unknown>): string => (typeof body.key === "string" ? Buffer.from(body.key, "base64").toString() : "");

/**
 * Runs `fleet rollout reexec` (K=2) on members b0 and b1 through a step proxy. At the command's first
 * read of its semaphore both nodes have failed, b1 first: b1 stopped the rollout with its reason, b0
 * found it stopped (both keep their slots). `afterDoneRead(id)` runs after the command read b1's done mark.
 */
async function rolloutSeeingTwoFailures(fleet: string, afterDoneRead: (id: string) => Promise<void> = async () => {}): Promise<{ code: number; last: Record<string, unknown>; id: string }> {
  await member(fleet, "b0");
  await member(fleet, "b1");
  let id = "";
  const proxy = stepProxy(etcd.cluster.endpoints[0]!, async (path, body) => {
    if (path !== "/v3/kv/range") return;
    const key = keyOf(body);
    if (id === "" && key.startsWith(`${fleetPrefix(fleet)}rollout-sem/`)) {
      id = key.slice(`${fleetPrefix(fleet)}rollout-sem/`.length);
      const r = rolloutSchema.parse(JSON.parse((await etcd.client.get(rolloutKey(fleet, id))).kvs[0]!.value));
      const fail = (node: string, reason: string) => opPut(doneKey(fleet, id, node), JSON.stringify({ node, at: Date.now(), outcome: "failed", reason }));
      const leases = [...(await etcd.client.get(`${fleetPrefix(fleet)}nodes/`, { prefix: true })).kvs].map((kv) => kv.lease);
      const holders = ["b0", "b1"].map((node, i) => ({ node, lease: leases[i]!, generation: 1 }));
      const t = await etcd.client.txn([], [opPut(rolloutKey(fleet, id), JSON.stringify({ ...r, stopped: { node: "b1", reason: "b1's reason" } })), opPut(semKey(fleet, id), JSON.stringify({ holders })), fail("b1", "b1's reason"), fail("b0", "b0's reason")]);
      if (!t.succeeded) throw new Error("the failures were not written");
    } else if (id !== "" && key === doneKey(fleet, id, "b1")) await afterDoneRead(id);
  });
  proxies.push(proxy);
  const p = spawnShipped(["fleet", "rollout", "reexec", "--max-unavailable", "2", "--endpoints", proxy.url, "--name", fleet, "--json", "--timeout-s", "60"]);
  const [out, code] = await Promise.all([new Response(p.stdout as ReadableStream).text(), p.exited]);
  const last = out.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>).at(-1)!;
  return { code, last, id };
}

test("fleet rollout seeing two failed nodes replaced the stop the first one had recorded (b1, its reason) with its own copy naming b0: the stop recorded first stands", async () => {
  const fleet = "clistopover";
  const { code, last, id } = await rolloutSeeingTwoFailures(fleet);
  const stored = rolloutSchema.parse(JSON.parse((await etcd.client.get(rolloutKey(fleet, id))).kvs[0]!.value));
  const stop = { node: "b1", reason: "b1's reason" };
  expect({ code, event: last.event, eventStop: last.stopped, stored: stored.stopped }).toEqual({ code: 65, event: "failed", eventStop: stop, stored: stop });
}, 60_000);

test("fleet rollout whose failed rollout fleet gc removed between its read and its stop put the rollout key back (with no semaphore, no done marks): a rollout gone stays gone", async () => {
  const fleet = "clistopgc";
  let removed: string[] = [];
  const { code, last } = await rolloutSeeingTwoFailures(fleet, async () => {
    if (removed.length === 0) removed = await gcRollouts(etcd.client, fleet);
  });
  const left = (await etcd.client.get(`${fleetPrefix(fleet)}rollout`, { prefix: true })).kvs.map((kv) => kv.key);
  expect({ code, event: last.event, removed: removed.length, left }).toEqual({ code: 65, event: "failed", removed: 1, left: [] });
}, 60_000);
