// etcd refusing a fleet write for good (HTTP 403 permission denied): `fleet mutate` and `fleet rollout` retried it until their deadline, and mutate said "not now" (75).
import { afterAll, expect, test } from "bun:test";
import { EtcdClient } from "../../src/fleet/etcd-client.ts";
import { startRollout } from "../../src/fleet/rollout.ts";
import { runShippedAsync } from "../harness/artifact.ts";

// A stand-in for an etcd member whose user may read but not write the fleet's keys (the gateway's
// answer to PermissionDenied), or that answers every write as a lost compare (`txnFails`).
let txns = 0;
let txnFails = false;
const stub = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch: (req) => {
    const path = new URL(req.url).pathname;
    const header = { cluster_id: "14841639068965178418", member_id: "10276657743932975437", revision: "5", raft_term: "2" };
    if (path === "/v3/kv/range") return Response.json({ header });
    if (path === "/v3/kv/txn") {
      txns++;
      if (txnFails) return Response.json({ header });
      return Response.json({ error: "etcdserver: permission denied", code: 7, message: "etcdserver: permission denied" }, { status: 403 });
    }
    return new Response("404 page not found\n", { status: 404 });
  },
});
afterAll(() => stub.stop(true));
const endpoint = `http://127.0.0.1:${stub.port}`;

test("fleet mutate refused with HTTP 403 (permission denied) retried the same write until --publish-s ran out and exited 75 (not now); it exits 71 at once, naming the refusal", async () => {
  txnFails = false;
  const t0 = performance.now();
  const r = await runShippedAsync(["fleet", "mutate", "pixel.0.weight", "1", "--values", "0.5", "--confidence", "0.9", "--endpoints", endpoint, "--name", "refused", "--publish-s", "8"], 30_000);
  expect(r.code, r.err).toBe(71);
  expect(r.err).toContain("etcd refused mutation");
  expect(r.err).toContain("HTTP 403");
  expect(r.err).toContain("permission denied");
  expect(performance.now() - t0).toBeLessThan(5000);
}, 40_000);

test("fleet rollout refused with HTTP 403 retried its create for 30 s before exiting 71; it exits 71 at once, naming the refusal", async () => {
  txnFails = false;
  const t0 = performance.now();
  const r = await runShippedAsync(["fleet", "rollout", "reexec", "--endpoints", endpoint, "--name", "refused"], 60_000);
  expect(r.code, r.err).toBe(71);
  expect(r.err).toContain("etcd refused rollout");
  expect(r.err).toContain("HTTP 403");
  expect(performance.now() - t0).toBeLessThan(10_000);
}, 70_000);

test("startRollout went round its check-and-create loop without a pause while the create's guard kept failing (hundreds of transactions a second); it backs off between rounds", async () => {
  txnFails = true;
  txns = 0;
  const c = new EtcdClient({ endpoints: [endpoint] });
  const rollout = { action: "reexec" as const, max_unavailable: 1, nodes: [], created_at: Date.now() };
  const t0 = performance.now();
  await expect(startRollout(c, "refused", "r1", rollout, Date.now() + 2000)).rejects.toThrow("kept changing until the deadline");
  expect(performance.now() - t0).toBeLessThan(3000);
  // 100 + 200 + 400 + 800 ms of back-off in 2 s: about 5 rounds, one create each.
  expect(txns).toBeGreaterThanOrEqual(3);
  expect(txns).toBeLessThanOrEqual(8);
});
