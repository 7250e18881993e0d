// A node's rollout action refused for now (another re-exec under way there) was recorded as a failure and stopped the whole rollout.
import { expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync, spawnShipped } from "../harness/artifact.ts";
import { betweenImages, killLeftovers, tempDir, writeJson } from "../pid1/harness.ts";
import { bootNode, fleetStatus, useCluster, waitForAsync, type Node } from "./fleet-harness.ts";

const FLEET = "rollnotnow";
let node: Node;
let dir: string;

const etcd = useCluster({
  beforeStop: [killLeftovers],
  setUp: () => {
    dir = tempDir("fleet-rollnotnow-");
    node = bootNode(etcd.cluster, FLEET, "w0", ["--config", writeJson(dir, "config.json", { run_dir: join(dir, "run") })]);
  },
});

interface Event {
  event: string;
  done?: string[];
  failed?: { node: string; reason: string }[];
}

test("a rollout reaching a node while another re-exec is under way there (not now, 75) recorded it failed and stopped the rollout (exit 65): the node keeps its slot, re-execs on a later round, and the rollout finishes (exit 0)", async () => {
  await waitForAsync(async () => (await fleetStatus(etcd.cluster, FLEET)).nodes.some((n) => (n.beats ?? 0) > 0) && node.run.log().includes("control socket listening"), 90_000, "w0 beating", 500);
  const go = join(dir, "go");
  const asked = join(dir, "asked");
  // The operator's re-exec waits at the new image's last question (under the preflight's 30 s) until the test lets it go.
  const holder = betweenImages(dir, "held-image.py", "", "", `    open(${JSON.stringify(asked)}, "a").write("x\\n")
    t = time.time()
    while not os.path.exists(${JSON.stringify(go)}) and time.time() - t < 25:
        time.sleep(0.01)`);
  const operator = runShippedAsync(["reexec", holder, "--socket", join(dir, "run/control"), "--timeout", "120000"], 150_000);
  await waitForAsync(async () => existsSync(asked), 60_000, "the operator's re-exec at its last question", 20);
  const p = spawnShipped(["fleet", "rollout", "reexec", "--endpoints", etcd.cluster.endpoints.join(","), "--name", FLEET, "--json", "--timeout-s", "150"]);
  const cli = Promise.all([new Response(p.stdout as ReadableStream).text(), p.exited]);
  // The rollout's re-exec is refused while the operator's is under way (the old code: recorded as failed).
  await waitForAsync(async () => /rollout: action (failed|refused for now)/.test(node.run.log()), 20_000, "the rollout's re-exec refused on w0", 50);
  writeFileSync(go, "");
  expect((await operator).code).toBe(0);
  const [out, code] = await cli;
  const last = out.trim().split("\n").map((l) => JSON.parse(l) as Event).at(-1)!;
  const log = node.run.log();
  const reexecs = log.split("\n").filter((l) => /resuming after re-exec|rollout: (action|done)/.test(l));
  expect({ code, event: last.event, done: last.done, failed: last.failed ?? [] }, reexecs.join("\n")).toEqual({ code: 0, event: "finished", done: ["w0"], failed: [] });
  expect(log).toContain("another re-exec is under way");
  // The operator's image (generation 1), then the rollout's own re-exec on a later round (generation 2).
  expect(log).toContain("resuming after re-exec generation=2 ");
}, 240_000);
