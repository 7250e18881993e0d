// A node whose lease ran out while its rollout round waited on etcd (slow answers, keepalives failing) still re-exec'd on the slot it had taken: a slot on a dead lease, free to the next node.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { z } from "zod";
import { b64 } from "../../src/fleet/etcd-client.ts";
import { nodeKey } from "../../src/fleet/keys.ts";
import { doneKey, readSem, rolloutKey, semKey } from "../../src/fleet/rollout.ts";
import { killLeftovers, start, tempDir } from "../pid1/harness.ts";
import { waitFor } from "../harness/wait.ts";
import { stepProxy, type StepProxy } from "./etcd-step-proxy.ts";
import { fleetStatus, TTL_S, useCluster, waitForAsync, type Node } from "./fleet-harness.ts";

const FLEET = "rollactlapse";
const proxies: StepProxy[] = [];
const etcd = useCluster({ beforeStop: [killLeftovers, () => proxies.forEach((p) => p.stop())], timeoutMs: 30_000 });

// The gateway leaves out a TTL of 0.
const timeToLive = z.object({ TTL: z.union([z.string(), z.number()]).transform(Number).optional() }).passthrough();
/** The whole seconds etcd says `lease` has left (-1: gone). */
const leaseLeft = async (lease: string): Promise<number> => (await etcd.client.call("/v3/lease/timetolive", { ID: lease }, timeToLive, { idempotent: true })).TTL ?? 0;
const keyGone = async (): Promise<boolean> => (await etcd.client.get(nodeKey(FLEET, "la"))).kvs.length === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a node whose lease ran out while its rollout round waited on etcd (keepalives failing, each answer slow but within its 3 s deadline) re-exec'd on the slot it had taken, a slot on a dead lease that the next node counts as free: it acts only while its lease is surely alive", async () => {
  let id = "";
  let lease = "";
  // "cut": la's keepalives fail; its rollout round's calls are answered slowly until its lease has little left.
  let phase: "normal" | "cut" = "normal";
  const slot = { answered: false, keyGoneFirst: false };
  const proxy = stepProxy(
    etcd.cluster.endpoints[0]!,
    async (path, body) => {
      if (phase !== "cut") return;
      const success = (body.success as { request_put?: { key?: string } }[] | undefined) ?? [];
      if (path === "/v3/kv/txn" && success[0]?.request_put?.key === b64(semKey(FLEET, id))) {
        // The slot swap was applied (its compare found la's key on its lease): its answer comes once the lease is gone (2 s at most, under the call's 3 s).
        const t0 = Date.now();
        while (Date.now() - t0 < 2000 && !(await keyGone())) await sleep(50);
        slot.keyGoneFirst = await keyGone();
        slot.answered = true;
        return;
      }
      if (slot.answered) return;
      // Every other answer waits (2 s at most) while the lease has more than 1 s left.
      const t0 = Date.now();
      while (Date.now() - t0 < 2000 && (await leaseLeft(lease)) > 1) await sleep(100);
    },
    (path) => phase === "cut" && path === "/v3/lease/keepalive",
  );
  proxies.push(proxy);
  const stateA = join(tempDir("fleet-actlapse-a-"), "state");
  const args = ["boot", "--set", `fleet.endpoints=${proxy.url}`, "--set", `fleet.name=${FLEET}`, "--set", `fleet.node_id=la`, "--set", `fleet.lease_ttl_s=${TTL_S}`, "--set", "pixel_test=0", "--set", "heartbeat_log_every=10", "--set", `state_dir=${stateA}`];
  const la: Node = { id: "la", run: start(args, { pid1: true }) };
  await waitForAsync(async () => ((await fleetStatus(etcd.cluster, FLEET)).nodes.find((n) => n.node === "la")?.beats ?? 0) > 0, 90_000, "la beating, a member", 500);
  lease = (await etcd.client.get(nodeKey(FLEET, "la"))).kvs[0]!.lease;
  // etcd unreachable for la's keepalives; the rollout appears once the lease has about half its TTL left.
  phase = "cut";
  await waitForAsync(async () => (await leaseLeft(lease)) <= TTL_S / 2, TTL_S * 1000, "la's lease half run out", 100);
  id = `${Date.now().toString().padStart(15, "0")}-reexec`;
  await etcd.client.put(rolloutKey(FLEET, id), JSON.stringify({ action: "reexec", max_unavailable: 1, nodes: ["la"], created_at: Date.now() }));
  const acting = /rollout: slot taken, acting/;
  const declined = /rollout: slot taken, but this node's lease may have lapsed/;
  await waitFor(() => acting.test(la.run.log()) || declined.test(la.run.log()), 40_000, "la to act on its slot, or to decline", { pollMs: 20 });
  const heldOn = (await readSem(etcd.client, FLEET, id)).holders.find((h) => h.node === "la")?.lease;
  // The old code: la re-exec'd on a slot held on `lease`, which etcd let expire (or was about to) as the answer reached la.
  expect({ acted: acting.test(la.run.log()), declined: declined.test(la.run.log()), slotOnTheLapsedLease: heldOn === lease, answered: slot.answered }).toEqual({ acted: false, declined: true, slotOnTheLapsedLease: true, answered: true });
  // etcd reachable again: la joins on a new lease, takes the slot on it, re-execs once and is done.
  phase = "normal";
  await waitForAsync(async () => (await etcd.client.get(doneKey(FLEET, id, "la"))).kvs.length === 1, 90_000, "la done", 250);
  const log = la.run.log();
  expect(JSON.parse((await etcd.client.get(doneKey(FLEET, id, "la"))).kvs[0]!.value)).toMatchObject({ node: "la", outcome: "ok" });
  expect({ gen1: log.includes("resuming after re-exec generation=1 "), gen2: log.includes("resuming after re-exec generation=2 ") }).toEqual({ gen1: true, gen2: false });
}, 240_000);
