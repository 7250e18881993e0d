// One etcd member frozen (SIGSTOP): the CLI's read spent its whole deadline on it and exited 71 though two members answered.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { signalMember, type EtcdCluster } from "../../scripts/etcd-cluster.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { cluster, stopCluster } from "./fleet-harness.ts";

const FLEET = "frozen1";
let etcd: EtcdCluster;

beforeAll(async () => {
  etcd = await cluster();
}, 60_000);

afterAll(() => {
  if (etcd) {
    for (const m of etcd.members) signalMember(m, "SIGCONT");
    stopCluster(etcd);
  }
});

test("fleet status and fleet gc with the first endpoint's member SIGSTOPped waited out --timeout on it and exited 71: they move on to the members that answer", async () => {
  const where = ["--endpoints", etcd.endpoints.join(","), "--name", FLEET];
  // Warm: the cluster answers (a leader is elected) before the first member is frozen.
  expect((await runShippedAsync(["fleet", "status", ...where, "--json"], 30_000)).code).toBe(0);
  signalMember(etcd.members[0]!, "SIGSTOP");
  const status = await runShippedAsync(["fleet", "status", ...where, "--json", "--timeout", "6000"], 30_000);
  expect({ code: status.code, err: status.err }).toEqual({ code: 0, err: "" });
  expect(JSON.parse(status.out)).toMatchObject({ fleet: FLEET, nodes: [] });
  const gc = await runShippedAsync(["fleet", "gc", ...where, "--json", "--timeout", "6000"], 60_000);
  expect({ code: gc.code, err: gc.err }).toEqual({ code: 0, err: "" });
  expect(JSON.parse(gc.out)).toMatchObject({ fleet: FLEET, folded: 0 });
}, 120_000);
