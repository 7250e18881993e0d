// A mutation whose ack etcd kept refusing (a role without write on acks/) was retried for ever without a word, while every later mutation waited behind it.
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { b64, EtcdClient, prefixEnd } from "../../src/fleet/etcd-client.ts";
import { acksPrefix, fleetPrefix } from "../../src/fleet/keys.ts";
import { publishUntil } from "../../src/fleet/publish-mutation.ts";
import { killLeftovers, start, tempDir, writeJson } from "../pid1/harness.ts";
import { TTL_S, useCluster, waitForAsync } from "./fleet-harness.ts";

const FLEET = "refused";
const TENSOR = "pixel.0.weight";
const any = z.unknown();

const etcd = useCluster({ beforeStop: [killLeftovers] });

test("a node whose acks etcd refused (its role may write the fleet's keys but not acks/) retried each ack for ever without a line above debug; it warns at once, once a minute after that, and says when the ack lands", async () => {
  const dir = tempDir("fleet-refused-");
  const fp = fleetPrefix(FLEET);
  const acks = `${fp}acks/`;
  const c = etcd.client;
  // root for the test; the node's role: read and write every key of the fleet but acks/, read acks/.
  for (const [user, pw] of [["root", "root-pw"], ["node", "node-pw"]] as const) {
    writeFileSync(join(dir, user), `${pw}\n`, { mode: 0o600 });
    await c.call("/v3/auth/user/add", { name: user, password: pw }, any, { idempotent: false });
  }
  await c.call("/v3/auth/user/grant", { user: "root", role: "root" }, any, { idempotent: false });
  await c.call("/v3/auth/role/add", { name: "vb-node" }, any, { idempotent: false });
  // Keys and range ends base64 (prefixEnd's already is).
  const grant = (admin: EtcdClient, permType: string, key: string, rangeEnd: string) => admin.call("/v3/auth/role/grant", { name: "vb-node", perm: { permType, key, range_end: rangeEnd } }, any, { idempotent: false });
  await grant(c, "READWRITE", b64(fp), b64(acks));
  await grant(c, "READ", b64(acks), prefixEnd(acks));
  await grant(c, "READWRITE", prefixEnd(acks), prefixEnd(fp));
  await c.call("/v3/auth/user/grant", { user: "node", role: "vb-node" }, any, { idempotent: false });
  await c.call("/v3/auth/enable", {}, any, { idempotent: false });
  const root = new EtcdClient({ endpoints: etcd.cluster.endpoints, callTimeoutMs: 10_000, auth: { user: "root", password_file: join(dir, "root") } });

  const cfg = writeJson(dir, "config.json", { fleet: { endpoints: etcd.cluster.endpoints, name: FLEET, node_id: "r0", lease_ttl_s: TTL_S, auth: { user: "node", password_file: join(dir, "node") } } });
  const node = start(["boot", "--config", cfg, "--set", "pixel_test=0", "--set", "heartbeat_log_every=0"], { pid1: true });
  await waitForAsync(async () => (await root.count(`${fp}nodes/`)) === 1, 60_000, "r0 to join");

  await publishUntil(root, FLEET, "m-refused", { tensor: TENSOR, offset: 1, values: [0.5], confidence: 0.95 }, Date.now() + 30_000);
  const warning = /WARN fleet: fleet mutation applied but its ack not stored; retrying \(later mutations wait for it\) mutation=m-refused key=\S+acks\/m-refused\/r0 attempts=1 error=".*HTTP 4\d\d: .*permission denied/;
  await waitForAsync(async () => warning.test(node.log()), 10_000, "the refused ack's warning");
  // Retried meanwhile (250 ms doubling), said once: the next warning is a minute later.
  await Bun.sleep(3000);
  expect(node.log().match(/ack not stored/g)?.length).toBe(1);
  expect((await root.get(`${acksPrefix(FLEET, "m-refused")}r0`)).kvs).toEqual([]);

  // The role may write acks/ now: the next retry (within the 5 s back-off) lands, and says so.
  await grant(root, "READWRITE", b64(acks), prefixEnd(acks));
  await waitForAsync(async () => (await root.get(`${acksPrefix(FLEET, "m-refused")}r0`)).kvs.length === 1, 15_000, "the ack to land");
  await waitForAsync(async () => /\] fleet: fleet mutation acked mutation=m-refused attempts=\d+/.test(node.log()), 5000, "the line that says it landed");
  process.kill(await node.initPid(), "SIGTERM");
  await node.result(30_000);
}, 120_000);
