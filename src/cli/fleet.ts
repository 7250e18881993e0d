// `vector-boot fleet status`: the fleet's members as etcd lists them (from anywhere; no control socket).
import { parseArgs } from "node:util";
import { readConfigFile } from "../config/load.ts";
import { fleetSchema, type FleetConfig } from "../config/schema.ts";
import { UsageError } from "../errors.ts";
import { EtcdClient } from "../fleet/etcd-client.ts";
import { isStale, nodeSummarySchema, nodesPrefix, type NodeSummary } from "../fleet/keys.ts";
import { duration, out } from "../control/cli-support.ts";
import { wantsHelp, type Command } from "./command.ts";

const help = `Usage: vector-boot fleet status [--endpoints URL,...] [--name FLEET] [--config FILE] [--json] [--timeout MS]

Lists the fleet's nodes from etcd: each node's key lives under a lease, so a node that died is gone
within its lease TTL; a node whose value was not refreshed for a whole TTL is flagged STALE (its
keepalives are failing). Connection settings (endpoints, TLS, auth) come from the config file's
\`fleet\` section; --endpoints and --name override it. Exits 0 when etcd answered, 71 otherwise.

Options:
  --endpoints URLS  etcd client URLs, comma-separated
  --name FLEET      the fleet's name (default "default")
  --config FILE     a vector-boot config file with a fleet section (TLS and auth settings)
  --json            one JSON object: { revision, nodes: [{ ...summary, stale }] }
  --timeout MS      deadline of the etcd call (default 5000)
  -h, --help        this text`;

/** The fleet settings of a CLI call: config file's section, then --endpoints/--name. */
export function fleetSettings(v: { endpoints?: string; name?: string; config?: string }): FleetConfig {
  const base = v.config ? readConfigFile(v.config).fleet : undefined;
  const r = fleetSchema.safeParse({ ...base, ...(v.endpoints ? { endpoints: v.endpoints.split(",").filter(Boolean) } : {}), ...(v.name ? { name: v.name } : {}) });
  if (!r.success) throw new UsageError(`fleet: ${r.error.issues.map((i) => `${i.path.join(".") || "fleet"}: ${i.message}`).join("; ")} (give --endpoints or --config)`);
  return r.data;
}

export const clientFor = (f: FleetConfig, timeoutMs: number): EtcdClient => new EtcdClient({ endpoints: f.endpoints, callTimeoutMs: timeoutMs, ...(f.tls ? { tls: f.tls } : {}), ...(f.auth ? { auth: f.auth } : {}) });

async function status(args: string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({ args, options: { endpoints: { type: "string" }, name: { type: "string" }, config: { type: "string" }, json: { type: "boolean" }, timeout: { type: "string" } }, strict: true }).values;
  } catch (cause) {
    throw new UsageError(`fleet status: ${(cause as Error).message} (see vector-boot fleet --help)`, { cause });
  }
  const f = fleetSettings(v);
  const timeout = v.timeout ? Number(v.timeout) : 5000;
  if (!Number.isInteger(timeout) || timeout <= 0) throw new UsageError("fleet status: --timeout must be a positive integer (ms)");
  const { kvs, revision } = await clientFor(f, timeout).get(nodesPrefix(f.name), { prefix: true });
  const now = Date.now();
  const nodes: (NodeSummary & { stale: boolean })[] = [];
  const bad: string[] = [];
  for (const kv of kvs) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(kv.value);
    } catch {
      parsed = null;
    }
    const r = nodeSummarySchema.safeParse(parsed);
    if (r.success) nodes.push({ ...r.data, stale: isStale(r.data, now) });
    else bad.push(kv.key);
  }
  if (v.json) {
    out(JSON.stringify({ fleet: f.name, revision, nodes, unreadable: bad }));
    return 0;
  }
  out(`fleet ${f.name}: ${nodes.length} node(s) at revision ${revision}${bad.length ? `, ${bad.length} unreadable key(s)` : ""}`);
  for (const n of nodes) {
    const svc = Object.entries(n.services).map(([k, s]) => `${k}=${s}`).join(" ") || "-";
    const late = n.lateness_ms ? `late p99 ${n.lateness_ms.p99.toFixed(1)} ms` : "no beats";
    out(`  ${n.node.padEnd(16)} ${n.stale ? "STALE " : "ok    "} gen ${n.generation} beats ${n.beats ?? "-"} ${late} journal ${n.journal_seq ?? "-"} updated ${duration(now - n.updated_at)} ago  services: ${svc}`);
  }
  return 0;
}

export const command: Command = {
  name: "fleet",
  summary: "Fleet (etcd): status",
  help,
  async run(args) {
    if (wantsHelp(args) || args.length === 0) {
      out(help);
      return args.length === 0 ? 64 : 0;
    }
    const [sub, ...rest] = args;
    if (sub === "status") return status(rest);
    throw new UsageError(`fleet: unknown subcommand ${JSON.stringify(sub)} (see vector-boot fleet --help)`);
  },
};
