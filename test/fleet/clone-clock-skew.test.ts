// A clone of a live node's state dir whose clock ran ahead of the node's took the node's key at once: the other instance's value looked older than 1.5 refresh periods by the clone's clock.
import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { nodeKey } from "../../src/fleet/keys.ts";
import { killLeftovers, tempDir } from "../pid1/harness.ts";
import { waitFor } from "../harness/wait.ts";
import { bootNode, TTL_S, useCluster } from "./fleet-harness.ts";

const FLEET = "skew";

const etcd = useCluster({ beforeStop: [killLeftovers] });

test("a clone booted from a live node's state dir with its clock an hour ahead adopted the node's key on the saved lease at once (the value's time looked stale) and counted as a member beside it; it watches the key for 1.5 refresh periods whatever the clocks say, sees it refreshed and leaves the lease", async () => {
  const c = etcd.client;
  // The live node, played here: it holds the lease, keeps it alive, and refreshes its key every
  // TTL/3 with its own wall clock, an hour behind the clone's.
  const lease = (await c.grant(TTL_S)).id;
  const value = () => JSON.stringify({ node: "k0", instance: "0123456789abcdef", updated_at: Date.now() - 3_600_000, lease_ttl_s: TTL_S, pid1: true, generation: 0, model: null, journal_seq: null, beats: null, lateness_ms: null, missed: null, interrupts: [], services: {} });
  await c.put(nodeKey(FLEET, "k0"), value(), { lease });
  let live = true;
  const refresh = (async () => {
    while (live) {
      await Bun.sleep((TTL_S * 1000) / 3);
      if (!live) break;
      await c.keepalive(lease);
      await c.put(nodeKey(FLEET, "k0"), value(), { lease });
    }
  })();
  try {
    const state = join(tempDir("fleet-skew-"), "state");
    mkdirSync(state, { recursive: true });
    writeFileSync(join(state, "fleet-lease"), `${lease}\n`);
    const clone = bootNode(etcd.cluster, FLEET, "k0", ["--set", `state_dir=${state}`]);
    await waitFor(() => /fleet lease shared with another running instance|fleet node key adopted/.test(clone.run.log()), 30_000, "the clone to decide about the key", { explain: () => clone.run.log() });
    expect(clone.run.log()).not.toContain("fleet node key adopted");
    expect(clone.run.log()).toContain("fleet lease shared with another running instance: another instance keeps writing this node's key on the lease saved in its state dir");
    const kv = (await c.get(nodeKey(FLEET, "k0"))).kvs[0]!;
    expect(kv.lease).toBe(lease);
    expect(JSON.parse(kv.value).instance).toBe("0123456789abcdef");
    process.kill(await clone.run.initPid(), "SIGTERM");
    await clone.run.result(30_000);
  } finally {
    live = false;
    await refresh;
    await c.revoke(lease);
  }
}, 90_000);
