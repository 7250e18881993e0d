// Fleet over TLS with client certificates (openssl-made in the test) and etcd authentication (password from a file).
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { z } from "zod";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startCluster } from "../../scripts/etcd-cluster.ts";
import { EtcdClient } from "../../src/fleet/etcd-client.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { killLeftovers, start, tempDir, writeJson } from "../pid1/harness.ts";
import { useCluster, waitForAsync } from "./fleet-harness.ts";

let dir: string;

function openssl(args: string[]): void {
  const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by it. */
function makeCerts(): void {
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/CN=vb-test-ca"]);
  writeFileSync(join(dir, "ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n");
  // The client's subject has no CommonName: etcd 3.4's gateway refuses password authentication from a
  // client whose certificate names one ("CommonName of client sending a request against gateway will be ignored").
  for (const [n, subj] of [["server", "/CN=server"], ["client", "/O=vector-boot"]] as const) {
    openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${n}-key.pem`, "-out", `${n}.csr`, "-subj", subj]);
    openssl(["x509", "-req", "-in", `${n}.csr`, "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-out", `${n}.pem`, "-days", "2", "-extfile", "ext.cnf"]);
  }
}

const etcd = useCluster({
  beforeStop: [killLeftovers],
  start: async () => {
    dir = tempDir("fleet-tls-");
    makeCerts();
    const p = (f: string) => join(dir, f);
    return startCluster({
      dir: join(dir, "etcd"),
      scheme: "https",
      waitHealthy: false,
      extraArgs: [`--cert-file=${p("server.pem")}`, `--key-file=${p("server-key.pem")}`, "--client-cert-auth", `--trusted-ca-file=${p("ca.pem")}`],
    });
  },
});

test("over TLS with client certificates and etcd auth a node joins and fleet status lists it; without a client certificate etcd refuses", async () => {
  const p = (f: string) => join(dir, f);
  const tls = { ca: p("ca.pem"), cert: p("client.pem"), key: p("client-key.pem") };
  const admin = new EtcdClient({ endpoints: etcd.cluster.endpoints, tls, callTimeoutMs: 5000 });
  await waitForAsync(async () => (await Promise.all(etcd.cluster.endpoints.map((e) => admin.health(e)))).every(Boolean), 30_000, "TLS members healthy", 200);
  // Auth on: a root user whose password only lives in a file.
  writeFileSync(p("password"), "s3cret-pw\n", { mode: 0o600 });
  const any = z.unknown();
  await admin.call("/v3/auth/user/add", { name: "root", password: "s3cret-pw" }, any, { idempotent: false });
  await admin.call("/v3/auth/user/grant", { user: "root", role: "root" }, any, { idempotent: false });
  await admin.call("/v3/auth/enable", {}, any, { idempotent: false });

  const fleet = { endpoints: etcd.cluster.endpoints, name: "sec", node_id: "t0", lease_ttl_s: 10, tls, auth: { user: "root", password_file: p("password") } };
  const cfg = writeJson(dir, "config.json", { fleet });
  const node = start(["boot", "--config", cfg, "--set", "pixel_test=0"], { pid1: true });
  await waitForAsync(async () => {
    const r = await runShippedAsync(["fleet", "status", "--config", cfg, "--json"], 15_000);
    return r.code === 0 && JSON.parse(r.out).nodes.length === 1;
  }, 60_000, "the node listed over TLS + auth", 500);
  expect(node.log()).toContain("fleet lease granted");

  // Without the client certificate, or without the password, etcd says no.
  const noCert = await runShippedAsync(["fleet", "status", "--endpoints", etcd.cluster.endpoints.join(","), "--name", "sec", "--timeout", "2000"], 15_000);
  expect(noCert.code).toBe(71);
  const noAuth = writeJson(dir, "noauth.json", { fleet: { ...fleet, auth: undefined } });
  const r = await runShippedAsync(["fleet", "status", "--config", noAuth, "--json"], 15_000);
  expect(r.code).toBe(71);
  expect(r.err).toMatch(/user name is empty|permission denied|401|authenticat/i);
}, 120_000);
