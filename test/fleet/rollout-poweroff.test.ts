// A rolling power-off that did what it was asked ended "0 done, N left the fleet" with exit 65.
import { expect, test } from "bun:test";
import { spawnShipped } from "../harness/artifact.ts";
import { killLeftovers } from "../pid1/harness.ts";
import { bootNode, fleetStatus, useCluster, waitForAsync, type Node } from "./fleet-harness.ts";

const FLEET = "rolloff";
let nodes: Node[] = [];

const etcd = useCluster({
  beforeStop: [killLeftovers],
  setUp: () => {
    nodes = ["o0", "o1"].map((id) => bootNode(etcd.cluster, FLEET, id));
  },
});

interface Event {
  event: string;
  done?: string[];
  gone?: string[];
  max_held?: number;
}

test("fleet rollout poweroff whose nodes all powered off one at a time exited 65 ('0 done, 2 left the fleet'): a node gone after taking its slot is done, exit 0", async () => {
  await waitForAsync(async () => (await fleetStatus(etcd.cluster, FLEET)).nodes.filter((n) => (n.beats ?? 0) > 0).length === 2, 90_000, "2 beating members", 500);
  const p = spawnShipped(["fleet", "rollout", "poweroff", "--max-unavailable", "1", "--endpoints", etcd.cluster.endpoints.join(","), "--name", FLEET, "--json", "--timeout-s", "120"]);
  const [out, code] = await Promise.all([new Response(p.stdout as ReadableStream).text(), p.exited]);
  const last = out.trim().split("\n").map((l) => JSON.parse(l) as Event).at(-1)!;
  expect({ code, event: last.event, done: last.done?.sort(), gone: last.gone, max_held: last.max_held }).toEqual({ code: 0, event: "finished", done: ["o0", "o1"], gone: [], max_held: 1 });
  for (const n of nodes) {
    const r = await n.run.result(30_000);
    expect(r.stderr).toContain('reason="fleet rollout poweroff" mode=poweroff');
  }
}, 200_000);
