// Rolling re-exec of 5 PID-1 nodes through an etcd semaphore: never two out at once; a dead holder frees its slot by lease expiry.
import { expect, test } from "bun:test";
import { runShippedAsync, spawnShipped } from "../harness/artifact.ts";
import { killLeftovers } from "../pid1/harness.ts";
import { bootNode, fleetStatus, TTL_S, useCluster, waitForAsync, type Node } from "./fleet-harness.ts";

const FLEET = "roll";
let nodes: Node[] = [];

const etcd = useCluster({
  beforeStop: [killLeftovers],
  setUp: () => {
    nodes = ["r0", "r1", "r2", "r3", "r4"].map((id) => bootNode(etcd.cluster, FLEET, id));
  },
});

const ts = (line: string) => Number(/^\[\s*([\d.]+)\]/.exec(line)?.[1] ?? NaN) * 1000;

/** Out of service: from "reexec: exec" to the next image's first heartbeat, in the log's clock. */
function outages(n: Node): { from: number; to: number }[] {
  const lines = n.run.log().split("\n");
  const out: { from: number; to: number }[] = [];
  lines.forEach((l, i) => {
    if (!l.includes("reexec: exec ")) return;
    const back = lines.slice(i + 1).find((x) => x.includes("first heartbeat"));
    out.push({ from: ts(l), to: back ? ts(back) : Infinity });
  });
  return out;
}

interface Event {
  event: string;
  holding?: string[];
  done?: string[];
  gone?: string[];
  max_held?: number;
  t_ms?: number;
}

async function rollout(onEvent: (e: Event) => void = () => {}): Promise<{ code: number; events: Event[] }> {
  const p = spawnShipped(["fleet", "rollout", "reexec", "--max-unavailable", "1", "--endpoints", etcd.cluster.endpoints.join(","), "--name", FLEET, "--json", "--timeout-s", "150"]);
  const events: Event[] = [];
  let buf = "";
  const dec = new TextDecoder();
  for await (const chunk of p.stdout as ReadableStream<Uint8Array>) {
    buf += dec.decode(chunk, { stream: true });
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      const e = JSON.parse(buf.slice(0, nl)) as Event;
      buf = buf.slice(nl + 1);
      events.push(e);
      onEvent(e);
    }
  }
  return { code: await p.exited, events };
}

test("a rolling re-exec of 5 nodes with --max-unavailable 1 never has two nodes out at once", async () => {
  await waitForAsync(async () => (await fleetStatus(etcd.cluster, FLEET)).nodes.length === 5, 90_000, "5 members", 500);
  const { code, events } = await rollout();
  expect(code).toBe(0);
  for (const e of events) if (e.holding) expect(e.holding.length).toBeLessThanOrEqual(1);
  expect(events.at(-1)).toMatchObject({ event: "finished", gone: [], max_held: 1 });
  expect(events.at(-1)!.done!.sort()).toEqual(["r0", "r1", "r2", "r3", "r4"]);
  const all = nodes.flatMap((n) => outages(n).map((o) => ({ ...o, node: n.id }))).sort((a, b) => a.from - b.from);
  expect(all.length).toBe(5);
  for (let i = 1; i < all.length; i++) expect(all[i]!.from).toBeGreaterThan(all[i - 1]!.to);
}, 200_000);

test("a node SIGKILLed while holding the slot does not block the rollout beyond its lease TTL", async () => {
  let victim: Node | null = null;
  const { code, events } = await rollout((e) => {
    if (victim === null && e.holding?.length === 1) {
      victim = nodes.find((n) => n.id === e.holding![0])!;
      void victim.run.initPid().then((pid) => process.kill(pid, "SIGKILL"));
    }
  });
  expect(victim).not.toBeNull();
  expect(code).toBe(65);
  const last = events.at(-1)!;
  expect(last.gone).toEqual([victim!.id]);
  expect(last.done!.length).toBe(4);
  // The slot came back within the TTL (+ 1 s polls and start-up) of the kill; the rest re-exec'd after it.
  const taken = events.find((e) => e.holding?.[0] === victim!.id)!;
  const freed = events.find((e) => e.event === "progress" && e.holding!.length === 1 && e.holding![0] !== victim!.id && e.t_ms! > taken.t_ms!);
  expect(freed).toBeDefined();
  expect(freed!.t_ms! - taken.t_ms!).toBeLessThanOrEqual((TTL_S + 3) * 1000);
}, 200_000);

test("finished rollouts do not pile up in etcd: fleet gc removes each one with its semaphore and done marks", async () => {
  const keys = async () => (await etcd.client.get(`/vector-boot/${FLEET}/rollout`, { prefix: true })).kvs.map((kv) => kv.key);
  expect((await keys()).length).toBeGreaterThan(0);
  const r = await runShippedAsync(["fleet", "gc", "--endpoints", etcd.cluster.endpoints.join(","), "--name", FLEET, "--json"], 30_000);
  expect(r.code).toBe(0);
  expect((JSON.parse(r.out) as { rollouts_removed: string[] }).rollouts_removed.length).toBe(2);
  expect(await keys()).toEqual([]);
}, 60_000);
