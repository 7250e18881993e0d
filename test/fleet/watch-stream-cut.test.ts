// A watch whose stream is cut silently while its member stays healthy (a dropped connection, a stalled proxy): it delivered nothing ever again.
import { afterEach, expect, test } from "bun:test";
import net from "node:net";
import { EtcdClient, type Kv } from "../../src/fleet/etcd-client.ts";
import { watchOnce, type WatchEnd } from "../../src/fleet/etcd-watch.ts";
import { waitFor } from "../harness/wait.ts";
import { useCluster } from "./fleet-harness.ts";

const etcd = useCluster();

/** A TCP proxy in front of `target` (an http://host:port URL); `cut()` silences the watch streams open now (nothing passes, nothing is closed), the rest passes. */
function cuttingProxy(target: string) {
  const to = new URL(target);
  const open: Array<[net.Socket, net.Socket]> = [];
  const all: net.Socket[] = [];
  const server = net.createServer((down) => {
    const up = net.connect(Number(to.port), to.hostname);
    all.push(down, up);
    down.pipe(up).on("error", () => {});
    up.pipe(down).on("error", () => {});
    down.once("data", (d: Buffer) => d.toString("latin1").startsWith("POST /v3/watch ") && open.push([down, up]));
  });
  server.listen(0, "127.0.0.1");
  return {
    url: () => `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    cut() {
      for (const [down, up] of open.splice(0)) {
        down.unpipe(up);
        up.unpipe(down);
        down.pause();
        up.pause();
      }
    },
    close() {
      server.close();
      for (const s of all) s.destroy();
    },
  };
}

let proxies: Array<{ close(): void }> = [];
afterEach(() => {
  for (const p of proxies) p.close();
  proxies = [];
});

/** A watch of a new prefix through a cutting proxy in front of the first member; what it delivered, and its end. */
async function watchThroughProxy(onEvents: (kvs: Kv[]) => Promise<void> = async () => {}) {
  const proxy = cuttingProxy(etcd.cluster.endpoints[0]!);
  proxies.push(proxy);
  await new Promise((r) => setTimeout(r, 10));
  const client = new EtcdClient({ endpoints: [proxy.url()] });
  const prefix = `/vb-test/watch-cut-${Math.random().toString(36).slice(2)}/`;
  const from = await etcd.client.put(`${prefix}a`, "1");
  const got: string[] = [];
  let end: WatchEnd | null = null;
  const ctl = new AbortController();
  void watchOnce(client, { prefix, fromRevision: from, healthEveryMs: 300, signal: ctl.signal, onEvents: async (kvs) => {
    got.push(...kvs.map((k) => k.value));
    await onEvents(kvs);
  } }).then((e) => (end = e));
  await waitFor(() => got.includes("1"), 10_000, "the watch's first event");
  return { proxy, prefix, got, from, ended: () => end, stop: () => ctl.abort() };
}

test("a watch whose stream a proxy cut silently (the member healthy) waited forever and the node applied no later mutation: it ends, broken, once a revision stays undelivered for a check period", async () => {
  const w = await watchThroughProxy();
  w.proxy.cut();
  await etcd.client.put(`${w.prefix}b`, "2");
  await waitFor(() => w.ended() !== null, 5_000, "the cut watch's end");
  expect(w.ended()!).toEqual({ kind: "broken", error: `the watch on ${w.proxy.url()} delivered nothing of what was written after revision ${w.from} in 300 ms (its stream was cut silently)` });
  expect(w.got).toEqual(["1"]);
}, 30_000);

test("a live watch with nothing to deliver, or whose consumer takes many check periods over one event, is not taken for a cut one", async () => {
  let slow = false;
  const w = await watchThroughProxy(async () => {
    if (slow) await Bun.sleep(2_000);
  });
  await Bun.sleep(1_500); // five quiet check periods
  slow = true;
  await etcd.client.put(`${w.prefix}b`, "2");
  await etcd.client.put(`${w.prefix}c`, "3");
  await waitFor(() => w.got.includes("3"), 10_000, "the slow consumer's events", { explain: () => JSON.stringify({ got: w.got, end: w.ended() }) });
  await Bun.sleep(1_000);
  expect(w.ended()).toBeNull();
  w.stop();
  await waitFor(() => w.ended() !== null, 5_000, "the stopped watch's end");
  expect(w.ended()!).toEqual({ kind: "closed" });
}, 30_000);
