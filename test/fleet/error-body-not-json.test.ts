// An endpoint answering an HTTP error whose body is not JSON (Go's "404 page not found", a load balancer's HTML 502): the client threw a SyntaxError that lost the status.
import { afterAll, expect, test } from "bun:test";
import { EtcdClient } from "../../src/fleet/etcd-client.ts";

// What Go's net/http answers for a path it does not serve (an endpoint that is not etcd's gateway, a wrong port).
const stub = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("404 page not found\n", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } }) });
afterAll(() => stub.stop(true));

test("a read answered 404 with a text body reported 'no member answered within 2000 ms (SyntaxError ...)' after its whole deadline; it fails at once with the status and the body", async () => {
  const c = new EtcdClient({ endpoints: [`http://127.0.0.1:${stub.port}`], callTimeoutMs: 2000 });
  const t0 = performance.now();
  const e = await c.get("/x").catch((err: unknown) => err);
  expect(String(e)).toContain(`etcd /v3/kv/range at http://127.0.0.1:${stub.port}: HTTP 404: 404 page not found`);
  expect(String(e)).not.toContain("SyntaxError");
  expect(performance.now() - t0).toBeLessThan(1000);
});

test("a write answered 404 with a text body reported 'SyntaxError ... (outcome unknown)'; it names the status, which the refusal checks (/ HTTP 4\\d\\d: /) match", async () => {
  const c = new EtcdClient({ endpoints: [`http://127.0.0.1:${stub.port}`], callTimeoutMs: 2000 });
  const e = await c.put("/x", "v").catch((err: unknown) => err);
  expect(String(e)).toContain("HTTP 404: 404 page not found");
  expect(String(e)).not.toContain("outcome unknown");
  expect(/ HTTP 4\d\d: /.test(String(e))).toBe(true);
});
