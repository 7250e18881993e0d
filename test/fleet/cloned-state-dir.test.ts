// Two appliances booted from one cloned state dir (the same saved lease, the same node id): one member, not two, whichever side sees the other; a re-exec keeps the run's key its own.
import { expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { opPut } from "../../src/fleet/etcd-client.ts";
import { nodeKey } from "../../src/fleet/keys.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { killLeftovers, tempDir, writeJson } from "../pid1/harness.ts";
import { bootNode, useCluster, waitForAsync, type Node } from "./fleet-harness.ts";

const FLEET = "clone";

const etcd = useCluster({ beforeStop: [killLeftovers] });

interface Appliance extends Node {
  dir: string;
  sock: string;
}

/** Node `id` with its own run dir and state dir (`state`), and a singleton service `service`. */
function boot(id: string, dir: string, service: string): Appliance {
  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), services: [{ name: service, argv: ["/bin/sleep", "1000"], fleet: "singleton", grace_ms: 500 }] });
  return { ...bootNode(etcd.cluster, FLEET, id, ["--config", cfg, "--set", `state_dir=${join(dir, "state")}`]), dir, sock: join(dir, "run", "control") };
}

/** The node's fleet role over its control socket (leader, member, detached), or null while it does not answer. */
async function role(n: Appliance): Promise<string | null> {
  const r = await runShippedAsync(["status", "--json", "--socket", n.sock]);
  return r.code === 0 ? ((JSON.parse(r.out) as { fleet: { role: string } | null }).fleet?.role ?? null) : null;
}

const counts = (r: string | null): boolean => r === "member" || r === "leader";
const keyOf = async (node: string) => (await etcd.client.get(nodeKey(FLEET, node))).kvs[0] ?? null;

test("two appliances booted from one cloned state dir both adopted the saved lease and both counted as members (both led the singleton): the clone sees the key refreshed by another instance, leaves the lease and stays out; the running node is not disturbed", async () => {
  const a = boot("c0", tempDir("fleet-clone-a-"), "solo");
  await waitForAsync(async () => (await role(a)) === "leader", 60_000, "the first c0 leading its singleton", 200);
  // The file holds the lease id, then whose it is (fleet/node).
  const lease = readFileSync(join(a.dir, "state", "fleet-lease"), "utf8").split("\n")[0]!.trim();
  expect((await keyOf("c0"))!.lease).toBe(lease);
  // The clone: a copy of the state dir (its saved lease id live), booted with the same node id.
  const bDir = tempDir("fleet-clone-b-");
  mkdirSync(join(bDir, "state"), { recursive: true });
  copyFileSync(join(a.dir, "state", "fleet-lease"), join(bDir, "state", "fleet-lease"));
  const b = boot("c0", bDir, "solo");
  const bLease = () => (existsSync(join(bDir, "state", "fleet-lease")) ? readFileSync(join(bDir, "state", "fleet-lease"), "utf8").split("\n")[0]!.trim() : null);
  // Within a few refresh periods (TTL/3 each): exactly one of the two counts as a member, and the clone is on a lease of its own.
  let roles: (string | null)[] = [];
  try {
    await waitForAsync(
      async () => {
        roles = [await role(a), await role(b)];
        return roles.filter(counts).length === 1 && roles.every((r) => r !== null) && b.run.log().includes("fleet lease shared") && ![null, lease].includes(bLease());
      },
      30_000,
      "exactly one of the two clones counting as a member, the other on its own lease",
      250,
    );
  } catch (e) {
    throw new Error(`${String(e)}; roles (first, clone): ${roles.join(", ")}`);
  }
  expect(roles).toEqual(["leader", "detached"]);
  expect(b.run.log()).toContain("fleet lease shared with another running instance: another instance keeps writing this node's key on the lease saved in its state dir");
  expect(b.run.log()).not.toContain("fleet node key adopted");
  // Stable: another two refresh periods change nothing; the running node never stopped its singleton.
  await Bun.sleep(7000);
  expect([await role(a), await role(b)]).toEqual(["leader", "detached"]);
  expect((await keyOf("c0"))!.lease).toBe(lease);
  expect(a.run.log()).not.toContain("singleton stopping");
  expect(a.run.log()).not.toContain("fleet lease shared");
  // The first node leaves (its lease revoked): the clone joins on its own lease and leads.
  process.kill(await a.run.initPid(), "SIGTERM");
  // PID 1 of its own namespace: its power-off, reboot(2) there, ends it as if by SIGINT (unshare: 130).
  expect((await a.run.result(30_000)).code).toBe(130);
  await waitForAsync(async () => (await role(b)) === "leader", 30_000, "the clone joining and leading", 200);
  expect((await keyOf("c0"))!.lease).toBe(bLease()!);
  expect(b.run.log()).toContain("fleet node key free again: joined");
}, 180_000);

test("a clone's write of this node's key on its own lease (the clone adopted the saved lease first) was overwritten and both counted as members: the running node leaves the lease, and joins on a fresh one once the key is free", async () => {
  const n = boot("w0", tempDir("fleet-clone-w-"), "solo-w");
  await waitForAsync(async () => (await role(n)) === "leader", 60_000, "w0 leading its singleton", 200);
  const kv = (await keyOf("w0"))!;
  // What a clone that took the key over writes: the same key, on the same lease, with its own instance token.
  const clone = { ...(JSON.parse(kv.value) as Record<string, unknown>), instance: "0123456789abcdef", updated_at: Date.now() };
  await etcd.client.txn([], [opPut(kv.key, JSON.stringify(clone), kv.lease)]);
  await waitForAsync(async () => (await role(n)) === "detached", 15_000, "w0 no longer counting as a member", 200);
  expect(n.run.log()).toContain("fleet lease shared with another running instance: another instance took over this node's key on this node's lease");
  // Nothing keeps the shared lease alive now (the clone is only its write): it expires, the key goes, w0 joins on its own lease.
  await waitForAsync(async () => (await role(n)) === "leader", 40_000, "w0 joining again and leading", 200);
  const now = (await keyOf("w0"))!;
  expect(now.lease).not.toBe(kv.lease);
  expect(n.run.log()).toContain("fleet node key free again: joined");
}, 180_000);

test("a live re-exec keeps the run's instance token: the next image's key is its own (no adoption, no shared-lease conflict) on the same lease", async () => {
  const n = boot("r0", tempDir("fleet-clone-reexec-"), "solo-r");
  await waitForAsync(async () => (await role(n)) === "leader", 60_000, "r0 leading its singleton", 200);
  const before = (await keyOf("r0"))!;
  const token = (JSON.parse(before.value) as { instance?: string }).instance;
  expect(token).toMatch(/^[0-9a-f]{16}$/);
  expect((await runShippedAsync(["reexec", "--socket", n.sock, "--timeout", "60000"], 90_000)).code).toBe(0);
  await waitForAsync(async () => (await role(n)) === "leader" && ((await keyOf("r0"))?.modRevision ?? 0) > before.modRevision, 30_000, "r0 leading again after the re-exec, its key refreshed", 200);
  const after = (await keyOf("r0"))!;
  expect({ lease: after.lease, instance: (JSON.parse(after.value) as { instance?: string }).instance }).toEqual({ lease: before.lease, instance: token });
  expect(n.run.log()).not.toContain("fleet node key adopted");
  expect(n.run.log()).not.toContain("fleet lease shared");
  expect(n.run.log()).not.toContain("fleet node id already in use");
}, 180_000);
