// Two `fleet rollout` at the same moment both passed the one-at-a-time check (a read) and both created a rollout: 2K nodes could be down at once. A create etcd did not take within one call's timeout was never retried.
import { expect, test } from "bun:test";
import { b64, EtcdClient } from "../../src/fleet/etcd-client.ts";
import { rolloutKey, rolloutsPrefix, startRollout, type Rollout } from "../../src/fleet/rollout.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { useCluster } from "./fleet-harness.ts";
import { stepProxy, type StepProxy } from "./etcd-step-proxy.ts";
import { putMember } from "./rollout-stand-ins.ts";

const FLEET = "sim";
let proxy: StepProxy | null = null;

const etcd = useCluster({ beforeStop: [() => proxy?.stop()] });

test("two fleet rollouts started at the same moment both passed the one-at-a-time check and both created a rollout: the one whose check is overtaken is refused (75, naming the other) and creates nothing", async () => {
  // A member the way a node writes its key (on its lease), with no node behind it: a rollout listing
  // it stays in progress for the whole test (a real node would finish it, and the check would pass).
  await putMember(etcd.client, FLEET, "s0");
  // The other operator's rollout is created right after this command's check read rollouts/ (found
  // none) and before its create: the proxy runs that step before passing the read's answer on.
  const other = `${Date.now().toString().padStart(15, "0")}-reboot`;
  const otherRollout: Rollout = { action: "reboot", max_unavailable: 1, nodes: ["s0"], created_at: Date.now() };
  let overtaken = false;
  proxy = stepProxy(etcd.cluster.endpoints[0]!, async (path, body) => {
    if (overtaken || path !== "/v3/kv/range" || body.key !== b64(rolloutsPrefix(FLEET)) || body.range_end === undefined) return;
    overtaken = true;
    await etcd.client.put(rolloutKey(FLEET, other), JSON.stringify(otherRollout));
  });
  const r = await runShippedAsync(["fleet", "rollout", "reexec", "--max-unavailable", "1", "--timeout-s", "2", "--endpoints", proxy.url, "--name", FLEET], 30_000);
  expect(overtaken).toBe(true);
  const rollouts = (await etcd.client.get(rolloutsPrefix(FLEET), { prefix: true })).kvs.map((kv) => kv.key.slice(rolloutsPrefix(FLEET).length));
  // The old code created its own rollout beside the other (two rollouts, each with a slot) and watched it until --timeout-s.
  expect({ code: r.code, rollouts }).toEqual({ code: 75, rollouts: [other] });
  expect(r.err).toContain(`fleet rollout: rollout ${other} is still in progress (0 of 1 node(s) done); two at once could take more than --max-unavailable nodes down: wait for it to finish`);
  expect(r.out).toBe("");
}, 60_000);

test("a rollout's create that etcd did not take within one call's timeout (no leader for longer) was not retried: every etcd error counted as final, so the command gave up at once; now it is retried until the create lands", async () => {
  const fleet = "simretry";
  const id = `${Date.now().toString().padStart(15, "0")}-reexec`;
  const rollout: Rollout = { action: "reexec", max_unavailable: 1, nodes: ["s1"], created_at: Date.now() };
  // Transactions (the create) fail as from a member without a leader for 1.5 s; reads go through.
  const refusedUntil = Date.now() + 1_500;
  proxy?.stop();
  proxy = stepProxy(etcd.cluster.endpoints[0]!, async () => {}, (path) => path === "/v3/kv/txn" && Date.now() < refusedUntil);
  const retries: string[] = [];
  const c = new EtcdClient({ endpoints: [proxy.url], callTimeoutMs: 500 });
  const r = await startRollout(c, fleet, id, rollout, Date.now() + 20_000, (e) => retries.push(String(e)));
  expect(r.busy).toBeNull();
  expect(retries.length).toBeGreaterThan(0);
  expect(retries[0]).toContain("no leader");
  const kv = (await etcd.client.get(rolloutKey(fleet, id))).kvs[0];
  expect(kv?.value).toBe(JSON.stringify(rollout));
}, 60_000);
