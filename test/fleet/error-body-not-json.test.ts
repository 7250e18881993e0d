// An endpoint answering an HTTP error whose body is not JSON (Go's "404 page not found", a load balancer's HTML page): the client threw a SyntaxError that lost the status, then took it for etcd's refusal and stayed on that member.
import { afterAll, expect, test } from "bun:test";
import { EtcdClient } from "../../src/fleet/etcd-client.ts";

// What Go's net/http answers for a path it does not serve (an endpoint that is not etcd's gateway, a wrong port).
const stub = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("404 page not found\n", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } }) });
// A member that answers as etcd does.
let goodHits = 0;
const good = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch: () => {
    goodHits++;
    return Response.json({ header: { revision: "7", cluster_id: "1" }, kvs: [], count: "0" });
  },
});
afterAll(() => {
  stub.stop(true);
  good.stop(true);
});

test("a read answered 404 with a text body reported 'no member answered (SyntaxError ...)': the status and the body are named, as not an etcd answer", async () => {
  const c = new EtcdClient({ endpoints: [`http://127.0.0.1:${stub.port}`], callTimeoutMs: 1000 });
  const e = await c.get("/x").catch((err: unknown) => err);
  expect(String(e)).toContain(`etcd /v3/kv/range at http://127.0.0.1:${stub.port}: HTTP 404: 404 page not found`);
  expect(String(e)).toContain("not an etcd answer");
  expect(String(e)).not.toContain("SyntaxError");
});

test("a first endpoint that is not etcd (a 404 text page) was taken for etcd refusing for good: every call failed and stayed on it while the next member was healthy; reads and writes go on to the next member", async () => {
  const c = new EtcdClient({ endpoints: [`http://127.0.0.1:${stub.port}`, `http://127.0.0.1:${good.port}`], callTimeoutMs: 3000 });
  for (let i = 0; i < 3; i++) expect((await c.get("/x")).revision).toBe(7);
  // The write never reached etcd at the first address: sent to the next member, not "outcome unknown".
  const w = await c.put("/x", "v").catch((err: unknown) => err);
  expect(String(w)).not.toContain("outcome unknown");
  expect(String(w)).not.toContain("HTTP 404");
  expect(goodHits).toBeGreaterThanOrEqual(4);
});
