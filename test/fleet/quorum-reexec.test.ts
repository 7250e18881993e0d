// The after-quorum barrier across a live re-exec: the new image waited for the quorum again, so restart of such a service stopped it and refused the start.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { killLeftovers, tempDir, writeJson } from "../pid1/harness.ts";
import { bootNode, fleetStatus, useCluster, waitForAsync, type Node } from "./fleet-harness.ts";

const FLEET = "qreexec";
const nodes: (Node & { sock: string })[] = [];

const etcd = useCluster({
  beforeStop: [killLeftovers],
  setUp: () => {
    const dir = tempDir("fleet-qreexec-");
    for (const id of ["qa", "qb"]) {
      const cfg = writeJson(dir, `${id}.json`, { run_dir: join(dir, id), services: [{ name: "q", argv: ["/bin/sleep", "1000"], fleet: "after-quorum", grace_ms: 500 }] });
      nodes.push({ ...bootNode(etcd.cluster, FLEET, id, ["--config", cfg, "--set", "fleet.quorum=2"]), sock: join(dir, id, "control") });
    }
  },
});

const qState = async (sock: string): Promise<string> => (JSON.parse((await runShippedAsync(["services", "--json", "--socket", sock])).out) as { name: string; state: string }[]).find((s) => s.name === "q")!.state;

test("after a live re-exec on a fleet now below its quorum, restart of an after-quorum service stopped it and refused the start (75): the barrier passed before the re-exec stays passed", async () => {
  const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
  await waitForAsync(async () => a.run.log().includes("fleet quorum reached") && b.run.log().includes("fleet quorum reached"), 90_000, "the quorum on both nodes", 100);
  // qb leaves (orderly: its key is revoked at once); the fleet is below its quorum from now on.
  process.kill(await b.run.initPid(), "SIGTERM");
  await b.run.result(60_000);
  await waitForAsync(async () => (await fleetStatus(etcd.cluster, FLEET)).nodes.length === 1, 30_000, "qb gone from the fleet", 200);
  expect((await runShippedAsync(["reexec", "--socket", a.sock, "--timeout", "60000"], 90_000)).code).toBe(0);
  expect(await qState(a.sock)).toBe("running");
  const r = await runShippedAsync(["restart", "q", "--socket", a.sock]);
  expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
  await waitForAsync(async () => (await qState(a.sock)) === "running", 30_000, "q running again", 100);
}, 180_000);
