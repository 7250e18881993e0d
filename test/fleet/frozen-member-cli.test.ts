// One etcd member frozen (SIGSTOP): the CLI's read spent its whole deadline on it and exited 71 though two members answered.
import { expect, test } from "bun:test";
import { signalMember } from "../../scripts/etcd-cluster.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { thawMembers, useCluster } from "./fleet-harness.ts";

const FLEET = "frozen1";

const etcd = useCluster({ beforeStop: [thawMembers] });

test("fleet status and fleet gc with the first endpoint's member SIGSTOPped waited out --timeout on it and exited 71: they move on to the members that answer", async () => {
  const where = ["--endpoints", etcd.cluster.endpoints.join(","), "--name", FLEET];
  // Warm: the cluster answers (a leader is elected) before the first member is frozen.
  expect((await runShippedAsync(["fleet", "status", ...where, "--json"], 30_000)).code).toBe(0);
  signalMember(etcd.cluster.members[0]!, "SIGSTOP");
  const status = await runShippedAsync(["fleet", "status", ...where, "--json", "--timeout", "6000"], 30_000);
  expect({ code: status.code, err: status.err }).toEqual({ code: 0, err: "" });
  expect(JSON.parse(status.out)).toMatchObject({ fleet: FLEET, nodes: [] });
  const gc = await runShippedAsync(["fleet", "gc", ...where, "--json", "--timeout", "6000"], 60_000);
  expect({ code: gc.code, err: gc.err }).toEqual({ code: 0, err: "" });
  expect(JSON.parse(gc.out)).toMatchObject({ fleet: FLEET, folded: 0 });
}, 120_000);
