// Shutdown with every etcd member SIGSTOPped: the fleet phase waited out its calls in flight (~8 s) before the services were stopped.
import { expect, test } from "bun:test";
import { signalMember } from "../../scripts/etcd-cluster.ts";
import { killLeftovers } from "../pid1/harness.ts";
import { bootNode, fleetStatus, thawMembers, useCluster, waitForAsync } from "./fleet-harness.ts";

const FLEET = "frozen";

const etcd = useCluster({ beforeStop: [killLeftovers, thawMembers] });

/** The log's clock (ms) of the first line containing `text`. */
const at = (log: string, text: string): number => Number(/^\[\s*([\d.]+)\]/.exec(log.split("\n").find((l) => l.includes(text)) ?? "")?.[1] ?? NaN) * 1000;

test("with etcd unresponsive the fleet phase's stop took 5-8 s (feed up to 3 s, the keepalive in flight up to 3 s, the revoke 2 s): its calls are aborted, only the 2 s revoke is waited for", async () => {
  const node = bootNode(etcd.cluster, FLEET, "z0");
  await waitForAsync(async () => (await fleetStatus(etcd.cluster, FLEET)).nodes.some((n) => (n.beats ?? 0) > 0), 60_000, "z0 beating and listed", 200);
  for (const m of etcd.cluster.members) signalMember(m, "SIGSTOP");
  // Its calls now hang until their deadlines: the first failed keepalive is logged, the next one is in flight.
  await waitForAsync(async () => node.run.log().includes("fleet: etcd call failed"), 30_000, "z0 to meet the stalled etcd", 100);
  process.kill(await node.run.initPid(), "SIGTERM");
  const r = await node.run.result(30_000);
  const took = at(r.stderr, "stopped phase=fleet") - at(r.stderr, "phase shutdown");
  expect(r.stderr).toContain("fleet lease not revoked");
  expect(took).toBeLessThan(4000);
}, 90_000);
