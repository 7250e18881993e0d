// The fleet role over the control socket (status.fleet) and on `vector-boot top`: a node that leads a singleton says so.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { killLeftovers, tempDir, writeJson } from "../pid1/harness.ts";
import { bootNode, useCluster, waitForAsync, type Node } from "./fleet-harness.ts";

const FLEET = "topfleet";
let node: Node;
let sock: string;

const etcd = useCluster({
  beforeStop: [killLeftovers],
  setUp: () => {
    const dir = tempDir("fleet-top-");
    sock = join(dir, "run", "control");
    const cfg = writeJson(dir, "config.json", {
      run_dir: join(dir, "run"),
      services: [
        { name: "lead-only", argv: ["sleep", "1000"], fleet: "singleton", grace_ms: 1000 },
        { name: "everywhere", argv: ["sleep", "1000"] },
      ],
    });
    node = bootNode(etcd.cluster, FLEET, "t0", ["--config", cfg]);
  },
});

test("a node elected for a singleton service reports fleet role leader in status and on top's frame", async () => {
  const status = async () => {
    const r = await runShippedAsync(["status", "--json", "--socket", sock]);
    return r.code === 0 ? (JSON.parse(r.out) as { fleet: { fleet: string; node: string; role: string; singletons: Array<{ service: string; role: string }> } | null }) : null;
  };
  try {
    await waitForAsync(async () => (await status())?.fleet?.role === "leader", 60_000, "the node to lead its singleton", 250);
  } catch (e) {
    console.error(node.run.log().split("\n").slice(-20).join("\n"));
    throw e;
  }
  expect((await status())!.fleet).toEqual({ fleet: FLEET, node: "t0", role: "leader", singletons: [{ service: "lead-only", role: "leader" }] });
  const once = await runShippedAsync(["top", "--once", "--interval", "100", "--socket", sock]);
  expect(once.code).toBe(0);
  expect(once.out).toMatch(/^fleet topfleet  node t0  leader of lead-only  singletons 1$/m);
}, 120_000);
