// Starts and stops a local etcd cluster on 127.0.0.1 (Debian's etcd-server, installed when missing) for tests and benches.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { z } from "zod";

export const ETCD_BIN = "/usr/bin/etcd";

export interface EtcdMember {
  name: string;
  pid: number;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
}

export interface EtcdCluster {
  dir: string;
  members: EtcdMember[];
  /** Client URLs of every member, in member order. */
  endpoints: string[];
}

const stateSchema = z.object({
  dir: z.string(),
  members: z.array(z.object({ name: z.string(), pid: z.number().int().positive(), clientUrl: z.string(), peerUrl: z.string(), dataDir: z.string() })),
  endpoints: z.array(z.string()),
});

/** Installs etcd-server (and etcdctl) with apt-get when /usr/bin/etcd is missing. */
export function ensureEtcd(): void {
  if (existsSync(ETCD_BIN)) return;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const args = ["-o", "DPkg::Lock::Timeout=300", "install", "-y", "--no-install-recommends", "etcd-server", "etcd-client"];
  let r = spawnSync("apt-get", args, { env, stdio: "inherit" });
  if (r.status !== 0) {
    spawnSync("apt-get", ["-o", "DPkg::Lock::Timeout=300", "update"], { env, stdio: "inherit" });
    r = spawnSync("apt-get", args, { env, stdio: "inherit" });
  }
  if (r.status !== 0 || !existsSync(ETCD_BIN)) throw new Error(`apt-get install etcd-server failed (status ${r.status})`);
}

/** A TCP port on 127.0.0.1 nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

async function healthy(url: string): Promise<boolean> {
  try {
    const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
    return r.ok && ((await r.json()) as { health?: string }).health === "true";
  } catch {
    return false;
  }
}

export interface StartOptions {
  /** Data and logs (default: .cache/etcd in the checkout). */
  dir?: string;
  members?: number;
  /** Extra flags for every member (TLS, ...); `scheme` https when the client URLs use TLS. */
  extraArgs?: string[];
  scheme?: "http" | "https";
  /** Health checks are skipped when the caller checks itself (TLS needs client certs). */
  waitHealthy?: boolean;
}

/** Starts an N-member cluster (default 3) on fresh loopback ports; resolves when every member is healthy. */
export async function startCluster(opts: StartOptions = {}): Promise<EtcdCluster> {
  ensureEtcd();
  const dir = resolve(opts.dir ?? join(import.meta.dir, "../.cache/etcd"));
  mkdirSync(dir, { recursive: true });
  const n = opts.members ?? 3;
  const scheme = opts.scheme ?? "http";
  const ports: number[] = [];
  while (ports.length < 2 * n) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const token = `vb-${process.pid}-${Date.now()}`;
  const names = Array.from({ length: n }, (_, i) => `m${i}`);
  const peer = (i: number) => `http://127.0.0.1:${ports[2 * i + 1]}`;
  const initial = names.map((nm, i) => `${nm}=${peer(i)}`).join(",");
  const members: EtcdMember[] = names.map((name, i) => {
    const dataDir = join(dir, `${token}-${name}`);
    const clientUrl = `${scheme}://127.0.0.1:${ports[2 * i]}`;
    const log = openSync(join(dir, `${token}-${name}.log`), "a");
    const args = [
      `--name=${name}`,
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peer(i)}`,
      `--initial-advertise-peer-urls=${peer(i)}`,
      `--initial-cluster=${initial}`,
      `--initial-cluster-state=new`,
      `--initial-cluster-token=${token}`,
      ...(opts.extraArgs ?? []),
    ];
    const p = Bun.spawn([ETCD_BIN, ...args], { stdin: "ignore", stdout: log, stderr: log, env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.env.ETCD_UNSUPPORTED_ARCH ?? "" } });
    p.unref();
    return { name, pid: p.pid, clientUrl, peerUrl: peer(i), dataDir };
  });
  const cluster: EtcdCluster = { dir, members, endpoints: members.map((m) => m.clientUrl) };
  if (opts.waitHealthy !== false) {
    const deadline = Date.now() + 30_000;
    for (const m of members) {
      while (!(await healthy(m.clientUrl))) {
        if (Date.now() > deadline) {
          stopCluster(cluster);
          throw new Error(`etcd member ${m.name} (${m.clientUrl}) not healthy within 30 s; logs in ${dir}`);
        }
        await Bun.sleep(100);
      }
    }
  }
  return cluster;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Is this pid still the etcd we started (not a reused pid)? */
function isEtcd(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith(ETCD_BIN);
  } catch {
    return false;
  }
}

/** Sends `sig` to one member by its recorded pid. */
export function signalMember(m: EtcdMember, sig: NodeJS.Signals): void {
  if (isEtcd(m.pid)) process.kill(m.pid, sig);
}

/** Stops every member by its recorded pid (SIGCONT first, in case a test stopped it; SIGKILL after 5 s). */
export async function stopClusterAsync(c: EtcdCluster): Promise<void> {
  for (const m of c.members) {
    if (!isEtcd(m.pid)) continue;
    process.kill(m.pid, "SIGCONT");
    process.kill(m.pid, "SIGTERM");
  }
  const deadline = Date.now() + 5000;
  while (c.members.some((m) => alive(m.pid) && isEtcd(m.pid)) && Date.now() < deadline) await Bun.sleep(50);
  stopCluster(c);
}

/** Stops every member at once with SIGKILL (synchronous; safe in afterAll). */
export function stopCluster(c: EtcdCluster): void {
  for (const m of c.members) if (isEtcd(m.pid)) process.kill(m.pid, "SIGKILL");
}

/** The member that is the raft leader now (from /v3/maintenance/status), or null. */
export async function leaderMember(c: EtcdCluster): Promise<EtcdMember | null> {
  for (const m of c.members) {
    try {
      const r = await fetch(`${m.clientUrl}/v3/maintenance/status`, { method: "POST", body: "{}", signal: AbortSignal.timeout(1000) });
      const s = z.object({ header: z.object({ member_id: z.string() }), leader: z.string() }).parse(await r.json());
      if (s.header.member_id === s.leader) return m;
    } catch {
      /* this member does not answer: ask the next */
    }
  }
  return null;
}

if (import.meta.main) {
  const [cmd, ...rest] = process.argv.slice(2);
  const dir = resolve(rest.find((a) => a.startsWith("--dir="))?.slice(6) ?? join(import.meta.dir, "../.cache/etcd"));
  const stateFile = join(dir, "cluster.json");
  if (cmd === "start") {
    const members = Number(rest.find((a) => a.startsWith("--members="))?.slice(10) ?? 3);
    const c = await startCluster({ dir, members });
    writeFileSync(stateFile, JSON.stringify(c, null, 2));
    console.log(c.endpoints.join(","));
  } else if (cmd === "stop") {
    if (!existsSync(stateFile)) {
      console.error(`no cluster recorded in ${stateFile}`);
      process.exit(1);
    }
    await stopClusterAsync(stateSchema.parse(JSON.parse(readFileSync(stateFile, "utf8"))));
    console.log("stopped");
  } else if (cmd === "install") {
    ensureEtcd();
  } else {
    console.error("usage: bun scripts/etcd-cluster.ts start [--members=N] [--dir=DIR] | stop [--dir=DIR] | install");
    process.exit(64);
  }
}
