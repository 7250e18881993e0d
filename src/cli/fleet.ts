// `vector-boot fleet status`: the fleet's members as etcd lists them (from anywhere; no control socket).
import { issuesText } from "../util/issues-text.ts";
import { readConfigFile } from "../config/load.ts";
import { fleetSchema, type FleetConfig } from "../config/schema.ts";
import { describeError, FleetRefusedError, NotNowError, UsageError } from "../errors.ts";
import { EtcdClient } from "../fleet/etcd-client.ts";
import { isStale, mutationsPrefix, nodeSummarySchema, nodesPrefix, readMembers, type NodeSummary } from "../fleet/keys.ts";
import { ackSchema, acksPrefix, mutationIdPattern, type Ack } from "../fleet/keys.ts";
import { publishUntil } from "../fleet/publish-mutation.ts";
import { gcMutations } from "../fleet/fleet-checkpoint.ts";
import { doneKey, doneSchema, gcRollouts, readSem, rolloutActions, rolloutStates, startRollout, stopRollout, type Rollout, type RolloutAction } from "../fleet/rollout.ts";
import { parseKvJson } from "../fleet/etcd-client.ts";
import { duration } from "../control/cli-support.ts";
import { wantsHelp, type Command } from "./command.ts";
import { mutationArgs } from "./mutation-args.ts";
import { decimalNumber } from "../util/decimal.ts";
import { out, readOptions } from "../util/cli-args.ts";
import { printable } from "../util/terminal-text.ts";

/** A line of text output: what it carries from etcd (node names, states, a refusal's reason) printed with its control characters made "?". */
const outText = (line: string): void => out(printable(line));

const help = `Usage: vector-boot fleet status [--endpoints URL,...] [--name FLEET] [--config FILE] [--json] [--timeout MS]
       vector-boot fleet mutate TENSOR OFFSET --values V1,V2,... --confidence C [--id ID] [--publish-s S] [--wait MS] [common options]
       vector-boot fleet gc [--compact] [common options]
       vector-boot fleet rollout reexec|reboot|poweroff [--max-unavailable K] [--timeout-s S] [common options]

mutate publishes one weight mutation to the whole fleet, once (a new --id; default a fresh one).
Every node runs it through its own CTRM gate and journal and acks it (or rejects it with the
reason) under the mutation's key. Without an etcd quorum publication waits: the same create-only
write is repeated for up to --publish-s seconds (default 120; then exit 75), so it lands once.
A refusal (HTTP 4xx other than 429: permission denied, a request too large) exits 71 at once.
An --id already published with the same content is fine (reported "already published"); with
other content it is an error (exit 64): mutations are create-only.
--wait MS waits for an ack from every member listed now, and exits 0 when all accepted, 65 when one
rejected, 75 when some did not answer in time.

gc folds the oldest mutations every current member has acked into the fleet checkpoint
(/vector-boot/FLEET/checkpoint) and deletes them and their acks (one every node refused is deleted
without being folded); --compact then compacts etcd's
history up to there. A node that was down catches up from the checkpoint when it returns. Prints
what was folded and which mutation (and members) holds the rest back. It also deletes finished
rollouts (every listed node done or gone, no live slot holder) with their semaphore and marks.

rollout asks every current member to re-exec (or reboot, power off), at most K at a time: a node
takes a slot of an etcd semaphore, acts, and gives the slot back after its first heartbeat back; a
node that dies holding a slot frees it when its lease expires. Progress is printed as lines (one
JSON object per line with --json). Exits 0 when every node is done (for poweroff: gone after
taking its slot), 65 when some left the fleet instead or a node's action failed (a refused re-exec: the rollout stops there, no other node is
taken down, and the failed node and its reason are printed), 75 on --timeout-s (default 600) and
while another rollout is still in progress (two at once could take 2K nodes down).

Lists the fleet's nodes from etcd: each node's key lives under a lease, so a node that died is gone
within its lease TTL; a node whose lease has less than a third of its TTL left (two renewals
missed: its keepalives are failing), or whose key is on no lease, is flagged STALE, by etcd's clock
(the value's "updated" time is the node's own clock). Connection settings (endpoints, TLS, auth) come from the config file's
\`fleet\` section; --endpoints and --name override it. Exits 0 when etcd answered, 71 otherwise.

Options:
  --endpoints URLS  etcd client URLs, comma-separated
  --name FLEET      the fleet's name (default "default")
  --config FILE     a vector-boot config file with a fleet section (TLS and auth settings)
  --json            one JSON object: { revision, nodes: [{ ...summary, stale, lease_left_s }] }
  --timeout MS      deadline of each etcd call (default 5000; mutate and gc: 10000)
  -h, --help        this text`;

/** The fleet settings of a CLI call: config file's section, then --endpoints/--name. */
export function fleetSettings(v: { endpoints?: string; name?: string; config?: string }): FleetConfig {
  const base = v.config ? readConfigFile(v.config).fleet : undefined;
  const r = fleetSchema.safeParse({ ...base, ...(v.endpoints ? { endpoints: v.endpoints.split(",").filter(Boolean) } : {}), ...(v.name ? { name: v.name } : {}) });
  if (!r.success) throw new UsageError(`fleet: ${issuesText(r.error.issues, "fleet")} (give --endpoints or --config)`);
  return r.data;
}

/** A numeric option: decimal text, a whole number unless `fraction`, above 0 (Number() took "abc" as NaN: --wait abc did not wait). */
function positiveOption(cmd: string, name: string, text: string | undefined, fallback: number, fraction = false): number {
  if (text === undefined) return fallback;
  const n = decimalNumber.test(text.trim()) ? Number(text) : Number.NaN;
  // At most what a timer takes (2^31-1 ms): --timeout 1e20 passed here and failed later as a bug (70).
  const most = name.endsWith("-s") ? 2_147_483 : 2_147_483_647;
  if (!(n > 0 && n <= most) || (!fraction && !Number.isInteger(n))) {
    throw new UsageError(`fleet ${cmd}: --${name} must be a positive ${fraction ? "number" : "whole number"}${name.endsWith("-s") ? " of seconds" : name === "max-unavailable" ? "" : " of milliseconds"}, at most ${most} (see vector-boot fleet --help)`);
  }
  return n;
}

export const clientFor = (f: FleetConfig, timeoutMs: number): EtcdClient => new EtcdClient({ endpoints: f.endpoints, callTimeoutMs: timeoutMs, ...(f.tls ? { tls: f.tls } : {}), ...(f.auth ? { auth: f.auth } : {}) });

/** The options every fleet subcommand takes (where the fleet is, and how to answer). */
const fleetOptions = { endpoints: { type: "string" }, name: { type: "string" }, config: { type: "string" }, json: { type: "boolean" }, timeout: { type: "string" } } as const;

async function status(args: string[]): Promise<number> {
  const v = readOptions("fleet status", args, fleetOptions, { positionals: false, help: "fleet" }).values;
  const f = fleetSettings(v);
  const timeout = positiveOption("status", "timeout", v.timeout, 5000);
  const client = clientFor(f, timeout);
  const { kvs, revision } = await client.get(nodesPrefix(f.name), { prefix: true });
  const now = Date.now();
  const leases = new Map<string, { remaining: number; granted: number }>();
  // One lease that does not answer leaves that node's lease unknown (lease_left_s null, not STALE),
  // not the whole listing failed; at most 16 asked at once.
  const ids = [...new Set(kvs.map((kv) => kv.lease).filter((l) => l !== "0"))];
  for (let i = 0; i < ids.length; i += 16) {
    await Promise.allSettled(ids.slice(i, i + 16).map(async (l) => leases.set(l, await client.timeToLive(l, timeout))));
  }
  const nodes: (NodeSummary & { stale: boolean; lease_left_s: number | null })[] = [];
  const bad: string[] = [];
  for (const kv of kvs) {
    const r = parseKvJson(kv.value, nodeSummarySchema);
    const lease = leases.get(kv.lease) ?? null;
    const unknown = kv.lease !== "0" && lease === null;
    if (r.success) nodes.push({ ...r.data, stale: !unknown && isStale(lease), lease_left_s: lease?.remaining ?? null });
    else bad.push(kv.key);
  }
  if (v.json) {
    out(JSON.stringify({ fleet: f.name, revision, nodes, unreadable: bad }));
    return 0;
  }
  outText(`fleet ${f.name}: ${nodes.length} node(s) at revision ${revision}${bad.length ? `, ${bad.length} unreadable key(s)` : ""}`);
  for (const n of nodes) {
    const svc = Object.entries(n.services).map(([k, s]) => `${k}=${s}`).join(" ") || "-";
    const late = n.lateness_ms ? `late p99 ${n.lateness_ms.p99.toFixed(1)} ms` : "no beats";
    outText(`  ${n.node.padEnd(16)} ${n.stale ? "STALE " : "ok    "} gen ${n.generation} beats ${n.beats ?? "-"} ${late} journal ${n.journal_seq ?? "-"} lease ${n.lease_left_s ?? "-"} s left, updated ${duration(now - n.updated_at)} ago  services: ${svc}`);
  }
  return 0;
}

async function mutate(args: string[]): Promise<number> {
  const p = readOptions("fleet mutate", args, { ...fleetOptions, values: { type: "string" }, confidence: { type: "string" }, id: { type: "string" }, wait: { type: "string" }, "publish-s": { type: "string" } }, { help: "fleet" });
  const v = p.values;
  const { tensor, offset, values, confidence } = mutationArgs("fleet mutate", p.positionals, v.values, v.confidence);
  const id = v.id ?? `${Date.now().toString().padStart(15, "0")}-${crypto.randomUUID().slice(0, 8)}`;
  if (!mutationIdPattern.test(id)) throw new UsageError("fleet mutate: --id must be 1-128 letters, digits, '_', '.', '-' (see vector-boot fleet --help)");
  const f = fleetSettings(v);
  const c = clientFor(f, positiveOption("mutate", "timeout", v.timeout, 10_000));
  const publishS = positiveOption("mutate", "publish-s", v["publish-s"], 120, true);
  const waitMs = v.wait === undefined ? 0 : positiveOption("mutate", "wait", v.wait, 0);
  const pub = await publishUntil(c, f.name, id, { tensor, offset, values, confidence }, Date.now() + publishS * 1000, (e, n) => {
    if (n === 1) process.stderr.write(`fleet mutate: etcd did not take the mutation yet (${String(e).slice(0, 160)}); retrying the same create-only write for up to ${publishS} s\n`);
  }).catch((e: unknown) => {
    // Refused for good (permission denied, a request too large): waiting cannot mend it (71, at once).
    if (e instanceof FleetRefusedError) throw new FleetRefusedError(`fleet mutate: etcd refused mutation ${id} (HTTP ${e.httpStatus}; not retried: check the etcd user's permissions on the fleet's keys and the request's size): ${describeError(e).slice(0, 300)}`, e.httpStatus, { cause: e });
    // Not published yet (no quorum, etcd unreachable): try again later, as the help says.
    throw new NotNowError(`fleet mutate: etcd did not take mutation ${id} within --publish-s ${publishS} s: ${describeError(e).slice(0, 300)}`, { cause: e });
  });
  if (!pub.same) throw new UsageError(`fleet mutate: --id ${id} is already taken by a different mutation (published at revision ${pub.revision}); mutations are create-only: give a new --id`);
  const result: { id: string; revision: number; created: boolean; acks: Ack[]; missing: string[] } = { id, revision: pub.revision, created: pub.created, acks: [], missing: [] };
  let code = 0;
  if (waitMs > 0) {
    const until = Date.now() + waitMs;
    // Not a node with evolution off in its config: it takes no fleet mutation (and acks none).
    const members = [...(await readMembers(c, f.name, undefined, { takingMutations: true })).keys()];
    for (;;) {
      const acks = (await c.get(acksPrefix(f.name, id), { prefix: true })).kvs.flatMap((kv) => {
        const r = parseKvJson(kv.value, ackSchema);
        return r.success ? [r.data] : [];
      });
      result.acks = acks;
      result.missing = members.filter((m) => !acks.some((a) => a.node === m));
      // A rejection decides it (65): waiting longer for the others changes nothing.
      if (result.missing.length === 0 || acks.some((a) => !a.accepted) || Date.now() > until) break;
      await Bun.sleep(100);
    }
    // A node that rejected it decides (65, as the help says): waiting longer for the others cannot change that.
    code = result.acks.some((a) => !a.accepted) ? 65 : result.missing.length > 0 ? 75 : 0;
  }
  if (v.json) out(JSON.stringify(result));
  else {
    outText(`mutation ${id} ${pub.created ? "published" : "already published"} at revision ${pub.revision}`);
    for (const a of result.acks) outText(`  ${a.node.padEnd(16)} ${a.accepted ? "accepted" : "REJECTED"} ${a.status}${a.journal_seq !== null ? ` journal ${a.journal_seq}` : ""}`);
    for (const m of result.missing) outText(`  ${m.padEnd(16)} no answer yet`);
  }
  return code;
}

async function rollout(args: string[]): Promise<number> {
  const p = readOptions("fleet rollout", args, { ...fleetOptions, "max-unavailable": { type: "string" }, "timeout-s": { type: "string" } }, { help: "fleet" });
  const v = p.values;
  const action = p.positionals[0] as RolloutAction;
  if (!rolloutActions.includes(action)) throw new UsageError(`fleet rollout: expects ${rolloutActions.join("|")} (see vector-boot fleet --help)`);
  const max = positiveOption("rollout", "max-unavailable", v["max-unavailable"], 1);
  const timeoutS = positiveOption("rollout", "timeout-s", v["timeout-s"], 600, true);
  const f = fleetSettings(v);
  const c = clientFor(f, positiveOption("rollout", "timeout", v.timeout, 5000));
  // Member name -> lease: a holder whose lease no longer backs its node's key is dead (its slot is free).
  const members = () => readMembers(c, f.name);
  const nodes = [...(await members()).keys()].sort();
  const id = `${Date.now().toString().padStart(15, "0")}-${action}`;
  const r: Rollout = { action, max_unavailable: max, nodes, created_at: Date.now() };
  // One at a time: a second rollout takes its own K slots, so 2K nodes could be down at once. The
  // check and the create are one transaction: two commands at the same moment cannot both start one.
  const { busy } = await startRollout(c, f.name, id, r, Date.now() + 30_000, (e) => process.stderr.write(`fleet rollout: etcd did not take the rollout yet (${String(e).slice(0, 160)}); retrying the same create-only write\n`)).catch((e: unknown) => {
    if (e instanceof FleetRefusedError) throw new FleetRefusedError(`fleet rollout: etcd refused rollout ${id} (HTTP ${e.httpStatus}; not retried: check the etcd user's permissions on the fleet's keys): ${describeError(e).slice(0, 300)}`, e.httpStatus, { cause: e });
    throw e;
  });
  if (busy?.unreadable) throw new NotNowError(`fleet rollout: rollout ${busy.id} cannot be read (${busy.unreadable}), so it counts as in progress; two at once could take more than --max-unavailable nodes down: delete its keys if it is junk`);
  if (busy) throw new NotNowError(`fleet rollout: rollout ${busy.id} is still in progress (${busy.done} of ${busy.nodes} node(s) done); two at once could take more than --max-unavailable nodes down: wait for it to finish`);
  const t0 = Date.now();
  const until = t0 + timeoutS * 1000;
  const say = (o: Record<string, unknown>, text: string) => (v.json ? out(JSON.stringify({ rollout: id, t_ms: Date.now() - t0, ...o })) : outText(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${text}`));
  say({ event: "started", action, max_unavailable: max, nodes }, `rollout ${id}: ${action} of ${nodes.length} node(s), at most ${max} at a time`);
  let last = "";
  let maxHeld = 0;
  /** Nodes seen holding a slot (they took it to act). */
  const acted = new Set<string>();
  for (;;) {
    try {
      const [sem, now] = await Promise.all([readSem(c, f.name, id), members()]);
      const done: string[] = [];
      const failed: { node: string; reason: string }[] = [];
      for (const n of nodes) {
        const kv = (await c.get(doneKey(f.name, id, n))).kvs[0];
        if (!kv) continue;
        const d = parseKvJson(kv.value, doneSchema);
        if (d.success && d.data.outcome === "failed") failed.push({ node: n, reason: d.data.reason ?? "no reason given" });
        else done.push(n);
      }
      if (failed.length > 0) {
        // Stopped: no node starts on it any more (the failed one keeps its slot until then). A stop
        // already there (the failed node's own, maybe another node's) stands; so does a rollout gone.
        const stored = await stopRollout(c, f.name, id, failed[0]!);
        say({ event: "failed", failed, done, stopped: stored?.stopped ?? null }, `rollout stopped: ${failed.map((x) => `${x.node} failed (${x.reason})`).join("; ")}; ${done.length} done, the other nodes not touched`);
        return 65;
      }
      const held = sem.holders.filter((h) => now.get(h.node) === h.lease).map((h) => h.node);
      for (const n of held) acted.add(n);
      // A powered-off node never comes back to say so: leaving the fleet after holding its slot is
      // its action done (every poweroff rollout exited 65, "0 done, N left the fleet").
      if (action === "poweroff") for (const n of nodes) if (acted.has(n) && !now.has(n) && !done.includes(n)) done.push(n);
      const gone = nodes.filter((n) => !done.includes(n) && !now.has(n));
      maxHeld = Math.max(maxHeld, held.length);
      const state = JSON.stringify({ held, done, gone });
      if (state !== last) {
        last = state;
        say({ event: "progress", holding: held, done, gone }, `${done.length}/${nodes.length} done; in progress: ${held.join(",") || "-"}${gone.length ? `; gone: ${gone.join(",")}` : ""}`);
      }
      // Recorded in the rollout's key (rolloutStates, a compare-and-swap): a node that rejoins finds it
      // finished. Not recorded (a slot taken, a node back since these reads): still in progress.
      if (done.length + gone.length === nodes.length && held.length === 0 && !(await rolloutStates(c, f.name)).states.find((s) => s.id === id)?.inProgress) {
        say({ event: "finished", done, gone, max_held: maxHeld }, `finished: ${done.length} done, ${gone.length} left the fleet`);
        return gone.length > 0 ? 65 : 0;
      }
    } catch (e) {
      say({ event: "etcd-error", error: String(e).slice(0, 200) }, `etcd: ${String(e).slice(0, 200)} (retrying)`);
    }
    if (Date.now() > until) {
      say({ event: "timeout" }, "timed out");
      return 75;
    }
    await Bun.sleep(250);
  }
}

async function gc(args: string[]): Promise<number> {
  const v = readOptions("fleet gc", args, { ...fleetOptions, compact: { type: "boolean" } }, { positionals: false, help: "fleet" }).values;
  const f = fleetSettings(v);
  const timeoutMs = positiveOption("gc", "timeout", v.timeout, 10_000);
  const c = clientFor(f, timeoutMs);
  const rollouts = await gcRollouts(c, f.name);
  const r = await gcMutations(c, f.name, { compact: v.compact === true, timeoutMs });
  if (v.json) out(JSON.stringify({ fleet: f.name, folded: r.folded, dropped: r.dropped, through_revision: r.throughRevision, blocked_by: r.blockedBy, compacted_at: r.compactedAt, rollouts_removed: rollouts }));
  else {
    outText(`fleet ${f.name}: folded ${r.folded} mutation(s) into the checkpoint${r.folded || r.dropped ? ` (through revision ${r.throughRevision})` : ""}${r.dropped ? `; deleted ${r.dropped} every node refused` : ""}${r.compactedAt ? `; etcd compacted at revision ${r.compactedAt}` : ""}`);
    if (r.blockedBy) outText(`  held back from ${r.blockedBy.id}: ${r.blockedBy.refused ? `${r.blockedBy.refused}; delete ${mutationsPrefix(f.name)}${r.blockedBy.id} to go on` : r.blockedBy.missing.length > 0 ? `not acked yet by ${r.blockedBy.missing.join(", ")}` : "not acked by any node yet (no member is up)"}`);
    if (rollouts.length) outText(`  removed ${rollouts.length} finished rollout(s): ${rollouts.join(", ")}`);
  }
  return 0;
}

export const command: Command = {
  name: "fleet",
  summary: "Fleet (etcd): status | mutate | gc | rollout",
  help,
  async run(args) {
    if (wantsHelp(args) || args.length === 0) {
      // No subcommand is a usage error: the help then goes to stderr.
      if (args.length === 0) process.stderr.write(`${help}\n`);
      else out(help);
      return args.length === 0 ? 64 : 0;
    }
    const [sub, ...rest] = args;
    if (sub === "status") return status(rest);
    if (sub === "mutate") return mutate(rest);
    if (sub === "rollout") return rollout(rest);
    if (sub === "gc") return gc(rest);
    throw new UsageError(`fleet: unknown subcommand ${JSON.stringify(sub)} (see vector-boot fleet --help)`);
  },
};
