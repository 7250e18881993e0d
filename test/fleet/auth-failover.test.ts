// etcd authentication: a member answering 503 to /v3/auth/authenticate failed the whole call (no failover), and concurrent calls each authenticated on their own.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { EtcdClient } from "../../src/fleet/etcd-client.ts";
import { tempDir } from "../harness/artifact.ts";
import { useCluster } from "./fleet-harness.ts";

const etcd = useCluster();
const passwordFile = join(tempDir("fleet-auth-failover-"), "password");

// A member with no leader (an election, a lost quorum): the gateway answers 503 to everything, authenticate included.
let authAttempts = 0;
const leaderless = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch: (req) => {
    if (new URL(req.url).pathname === "/v3/auth/authenticate") authAttempts++;
    return Response.json({ error: "etcdserver: no leader", code: 14, message: "etcdserver: no leader" }, { status: 503 });
  },
});
afterAll(() => leaderless.stop(true));

beforeAll(async () => {
  // Auth on: a root user whose password only lives in a file.
  writeFileSync(passwordFile, "s3cret-pw\n", { mode: 0o600 });
  const any = z.unknown();
  await etcd.client.call("/v3/auth/user/add", { name: "root", password: "s3cret-pw" }, any, { idempotent: false });
  await etcd.client.call("/v3/auth/user/grant", { user: "root", role: "root" }, any, { idempotent: false });
  await etcd.client.call("/v3/auth/enable", {}, any, { idempotent: false });
});

test("authentication answered 503 by the first member was thrown as a final error ('etcd authentication as root failed: HTTP 503'): the call now goes on at the next member and succeeds", async () => {
  authAttempts = 0;
  const c = new EtcdClient({ endpoints: [`http://127.0.0.1:${leaderless.port}`, etcd.cluster.endpoints[0]!], auth: { user: "root", password_file: passwordFile }, callTimeoutMs: 5000 });
  const t0 = performance.now();
  const r = await c.get("/vector-boot/authfailover/x");
  expect(r.kvs).toEqual([]);
  expect(authAttempts).toBe(1);
  expect(performance.now() - t0).toBeLessThan(3000);
  // A write too: its request was never sent to the leaderless member, so it may go on at the next.
  const w = new EtcdClient({ endpoints: [`http://127.0.0.1:${leaderless.port}`, etcd.cluster.endpoints[1]!], auth: { user: "root", password_file: passwordFile }, callTimeoutMs: 5000 });
  expect(await w.put("/vector-boot/authfailover/y", "1")).toBeGreaterThan(0);
}, 30_000);

test("ten calls started together each sent their own authentication (the token was cleared, then set by whichever came last): one authentication now serves them all", async () => {
  let authenticates = 0;
  const realFetch = globalThis.fetch;
  globalThis.fetch = ((input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    if (String(input).endsWith("/v3/auth/authenticate")) authenticates++;
    return realFetch(input, init);
  }) as typeof fetch;
  try {
    const c = new EtcdClient({ endpoints: etcd.cluster.endpoints, auth: { user: "root", password_file: passwordFile }, callTimeoutMs: 5000 });
    const all = await Promise.all(Array.from({ length: 10 }, (_, i) => c.get(`/vector-boot/authfailover/k${i}`)));
    expect(all.map((r) => r.kvs.length)).toEqual(Array(10).fill(0));
    expect(authenticates).toBe(1);
  } finally {
    globalThis.fetch = realFetch;
  }
}, 30_000);
