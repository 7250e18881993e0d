// A second `fleet rollout` while one was in progress started with its own K slots: 2K nodes could be down at once.
import { expect, test } from "bun:test";
import { runShippedAsync, spawnShipped } from "../harness/artifact.ts";
import { killLeftovers } from "../pid1/harness.ts";
import { bootNode, useCluster, waitForAsync } from "./fleet-harness.ts";

const FLEET = "once";

const etcd = useCluster({
  timeoutMs: 120_000,
  beforeStop: [killLeftovers],
  setUp: async () => {
    for (const id of ["o0", "o1"]) bootNode(etcd.cluster, FLEET, id);
    await waitForAsync(async () => (await etcd.client.count(`/vector-boot/${FLEET}/nodes/`)) === 2, 90_000, "2 members", 200);
  },
});

const rolloutArgs = ["fleet", "rollout", "reexec", "--max-unavailable", "1", "--json", "--timeout-s", "120"];

test("a second fleet rollout while one is in progress is refused (75, naming it); once the first has finished, the next one runs", async () => {
  const first = spawnShipped([...rolloutArgs, "--endpoints", etcd.cluster.endpoints.join(","), "--name", FLEET]);
  const out = new Response(first.stdout).text();
  // In progress: the rollout key exists, and its nodes have not all re-exec'd (each takes a beat at least).
  await waitForAsync(async () => (await etcd.client.count(`/vector-boot/${FLEET}/rollouts/`)) === 1, 30_000, "the first rollout's key", 20);
  const second = await runShippedAsync([...rolloutArgs, "--endpoints", etcd.cluster.endpoints.join(","), "--name", FLEET], 30_000);
  expect(second.code).toBe(75);
  expect(second.err).toMatch(/rollout \d+-reexec is still in progress \(\d of 2 node\(s\) done\); two at once could take more than --max-unavailable nodes down/);
  expect(await etcd.client.count(`/vector-boot/${FLEET}/rollouts/`)).toBe(1);
  expect(await first.exited).toBe(0);
  expect((await out).trim().split("\n").map((l) => (JSON.parse(l) as { event: string }).event).at(-1)).toBe("finished");
  const third = await runShippedAsync([...rolloutArgs, "--endpoints", etcd.cluster.endpoints.join(","), "--name", FLEET], 150_000);
  expect({ code: third.code, err: third.err }).toEqual({ code: 0, err: "" });
}, 300_000);
