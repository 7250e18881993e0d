// The etcd client against members that refuse connections: it spun a core retrying them at once (~2000 connect() in 3 s).
import { afterEach, expect, test } from "bun:test";
import { EtcdClient } from "../../src/fleet/etcd-client.ts";

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

test("refused connections were retried in a busy loop until the deadline: a full sweep of failing members backs off first", async () => {
  let attempts = 0;
  globalThis.fetch = ((...a: Parameters<typeof fetch>) => {
    attempts++;
    return realFetch(...a);
  }) as typeof fetch;
  // Ports with nothing listening on loopback: every connect() is refused at once.
  const c = new EtcdClient({ endpoints: ["http://127.0.0.1:1", "http://127.0.0.1:9", "http://127.0.0.1:19"] });
  const t0 = performance.now();
  await expect(c.get("/x", { timeoutMs: 2000 })).rejects.toThrow("no member answered within 2000 ms");
  expect(performance.now() - t0).toBeGreaterThanOrEqual(1900);
  // Sweeps at 0, 250, 750 and 1750 ms (back-off 250, 500, 1000 ms): 4 sweeps of 3 members, with slack.
  expect(attempts).toBeGreaterThanOrEqual(6);
  expect(attempts).toBeLessThanOrEqual(18);
});
