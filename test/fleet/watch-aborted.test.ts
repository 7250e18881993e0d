// A watch begun with its signal already aborted (the node stopping between its catch-up and the watch) went to the member and watched on: nothing would end it, and a node's stop hung.
import { expect, test } from "bun:test";
import { EtcdClient } from "../../src/fleet/etcd-client.ts";
import { watchOnce } from "../../src/fleet/etcd-watch.ts";

test("a watch whose signal was aborted before it began went to a silent member and did not end: it ends at once, closed, without connecting", async () => {
  // A member that accepts connections and never answers, as a SIGSTOPped etcd does.
  let connections = 0;
  const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: () => void connections++, data() {} } });
  const client = new EtcdClient({ endpoints: [`http://127.0.0.1:${silent.port}`] });
  const stopping = new AbortController();
  stopping.abort();
  try {
    const t0 = performance.now();
    const end = await Promise.race([
      watchOnce(client, { prefix: "/vb/x/mutations/", fromRevision: 1, healthEveryMs: 60_000, signal: stopping.signal, onEvents: async () => {} }),
      Bun.sleep(3000).then(() => ({ kind: "still waiting after 3 s" })),
    ]);
    expect(end).toEqual({ kind: "closed" });
    expect(performance.now() - t0).toBeLessThan(500);
    expect(connections).toBe(0);
  } finally {
    client.abortInFlight();
    silent.stop(true);
  }
});
