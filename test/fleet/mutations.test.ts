// Fleet-wide mutations on a real 3-member etcd and 5 PID-1 nodes: every node applies and acks each exactly once.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { leaderMember } from "../../scripts/etcd-cluster.ts";
import { ackSchema } from "../../src/fleet/keys.ts";
import { publishUntil } from "../../src/fleet/publish-mutation.ts";
import { mulberry32 } from "../../src/util/prng.ts";
import { killLeftovers, tempDir } from "../pid1/harness.ts";
import { bootNode, checkpointTensor, fleetStatus, useCluster, waitForAsync, type Node } from "./fleet-harness.ts";

const FLEET = "mut";
const N = 1000;
const TENSOR = "pixel.0.weight";
const stateDirs = new Map<string, string>();
const nodes = new Map<string, Node>();

const boot = (id: string) => nodes.set(id, bootNode(etcd.cluster, FLEET, id, ["--set", `state_dir=${stateDirs.get(id)!}`]));

const etcd = useCluster({
  beforeStop: [killLeftovers],
  setUp: () => {
    for (const id of ["m0", "m1", "m2", "m3", "m4"]) {
      stateDirs.set(id, join(tempDir("fleet-mut-"), "state"));
      boot(id);
    }
  },
});

/** Publishes until etcd takes it: the same id again after an unknown outcome, so never twice. */
const publish = (id: string, m: { tensor: string; offset: number; values: number[]; confidence: number }) => publishUntil(etcd.client, FLEET, id, m, Date.now() + 60_000);

test("1,000 mutations, etcd leader SIGKILLed once, one node restarted and one re-execed live: every node acks each exactly once, weights as expected", async () => {
  await waitForAsync(async () => (await fleetStatus(etcd.cluster, FLEET)).nodes.length === 5, 90_000, "5 members", 500);
  const rand = mulberry32(15);
  const expected = new Map<number, number>();
  const ids: string[] = [];
  for (let i = 0; i < N; i++) {
    if (i === 300) {
      const leader = await leaderMember(etcd.cluster);
      expect(leader).not.toBeNull();
      process.kill(leader!.pid, "SIGKILL");
    }
    if (i === 450) {
      // A live re-exec (SIGHUP) mid-stream: the feed saves its revision in the handoff's stop and the
      // next image resumes from it; acks are create-only, so none is written twice.
      const n = nodes.get("m3")!;
      process.kill(await n.run.initPid(), "SIGHUP");
    }
    if (i === 600) {
      const n = nodes.get("m2")!;
      process.kill(await n.run.initPid(), "SIGTERM");
      // PID 1 of its own namespace: its power-off, reboot(2) there, ends it as if by SIGINT (unshare: 130).
      expect((await n.run.result(30_000)).code).toBe(130);
      boot("m2");
    }
    const offset = Math.floor(rand() * 6144);
    const value = Math.round((rand() * 8 - 4) * 1000) / 1000;
    const id = `mut-${String(i).padStart(5, "0")}`;
    await publish(id, { tensor: TENSOR, offset, values: [value], confidence: 0.9 });
    expected.set(offset, value);
    ids.push(id);
  }
  const acksPrefix = `/vector-boot/${FLEET}/acks/`;
  await waitForAsync(async () => (await etcd.client.get(acksPrefix, { prefix: true, timeoutMs: 10_000 })).kvs.length === 5 * N, 120_000, "5,000 acks", 500);
  const { kvs } = await etcd.client.get(acksPrefix, { prefix: true, timeoutMs: 10_000 });
  const perNode = new Map<string, Set<string>>();
  for (const kv of kvs) {
    expect(kv.createRevision).toBe(kv.modRevision); // written once, never overwritten
    const ack = ackSchema.parse(JSON.parse(kv.value));
    expect(ack.accepted).toBe(true);
    const id = kv.key.slice(acksPrefix.length).split("/")[0]!;
    perNode.set(ack.node, (perNode.get(ack.node) ?? new Set()).add(id));
  }
  expect([...perNode.keys()].sort()).toEqual(["m0", "m1", "m2", "m3", "m4"]);
  expect(nodes.get("m3")!.run.log()).toContain("resuming after re-exec generation=1 ");
  for (const s of perNode.values()) expect(s.size).toBe(N);

  // Orderly shutdown writes a final checkpoint: each node's weights equal the expected ones.
  for (const n of nodes.values()) process.kill(await n.run.initPid(), "SIGTERM");
  for (const n of nodes.values()) await n.run.result(30_000);
  for (const [id, dir] of stateDirs) {
    const w = checkpointTensor(dir, TENSOR);
    for (const [off, v] of expected) expect({ id, off, v: w[off] }).toEqual({ id, off, v: Math.fround(v) });
  }
}, 300_000);
