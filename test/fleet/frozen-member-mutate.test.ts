// One etcd member frozen (SIGSTOP) first in --endpoints: `fleet mutate` sat out its whole per-call deadline (10 s) on it before trying another.
import { expect, test } from "bun:test";
import { leaderMember, signalMember, type EtcdMember } from "../../scripts/etcd-cluster.ts";
import { EtcdClient } from "../../src/fleet/etcd-client.ts";
import { mutationsPrefix } from "../../src/fleet/keys.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { useCluster } from "./fleet-harness.ts";

const FLEET = "frozenw";
let frozen: EtcdMember | null = null;

const etcd = useCluster({ beforeStop: [() => frozen && signalMember(frozen, "SIGCONT")] });

const mutate = (endpoints: string[], id: string) =>
  runShippedAsync(["fleet", "mutate", "pixel.0.weight", "7", "--values", "0.25,0.5", "--confidence", "0.9", "--id", id, "--endpoints", endpoints.join(","), "--name", FLEET], 40_000);

test("fleet mutate waited its whole per-call deadline on a frozen first member before another member took the create-only write: it moves on within seconds and prints what it prints normally", async () => {
  // Warm: a leader is elected and a mutation publishes normally (the output to match).
  const normal = await mutate(etcd.cluster.endpoints, "warm-1");
  expect({ code: normal.code, err: normal.err }).toEqual({ code: 0, err: "" });
  expect(normal.out).toMatch(/^mutation warm-1 published at revision \d+\n$/);
  // Freeze a follower (a frozen leader would add an election to the timing) and name it first: the client contacts it first.
  const leader = await leaderMember(etcd.cluster);
  expect(leader).not.toBeNull();
  frozen = etcd.cluster.members.find((m) => m !== leader)!;
  const order = [frozen.clientUrl, ...etcd.cluster.endpoints.filter((e) => e !== frozen!.clientUrl)];
  signalMember(frozen, "SIGSTOP");
  const t0 = performance.now();
  const r = await mutate(order, "frozen-1");
  const tookMs = performance.now() - t0;
  // The old code printed "etcd did not take the mutation yet ... (outcome unknown)" after 10 s and then published.
  expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
  expect(r.out).toMatch(/^mutation frozen-1 published at revision \d+\n$/);
  expect(tookMs).toBeLessThan(7000);
  // Published once, by this call, at the revision it printed (read from a member that answers).
  const c = new EtcdClient({ endpoints: order.slice(1), callTimeoutMs: 5000 });
  const { kvs } = await c.get(`${mutationsPrefix(FLEET)}frozen-1`);
  expect(kvs.length).toBe(1);
  expect(kvs[0]!.createRevision).toBe(Number(/revision (\d+)/.exec(r.out)![1]));
  expect(JSON.parse(kvs[0]!.value)).toMatchObject({ tensor: "pixel.0.weight", offset: 7, values: [0.25, 0.5], confidence: 0.9 });
}, 90_000);
