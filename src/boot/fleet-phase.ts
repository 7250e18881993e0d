// Boot phase "fleet": joins the etcd fleet (membership under a lease) when the config has a `fleet` section.
import { hostname } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { EtcdClient } from "../fleet/etcd-client.ts";
import { nodesPrefix, readRefreshedMembers } from "../fleet/keys.ts";
import { Membership } from "../fleet/membership.ts";
import { instancePattern, leaseOwner } from "../fleet/run-identity.ts";
import { MutationFeed } from "../fleet/mutations.ts";
import { ACT_MARGIN_MS, RolloutAgent } from "../fleet/rollout-agent.ts";
import { withDeadline } from "../util/deadline.ts";
import { Singleton } from "../fleet/singleton.ts";
import type { Supervisor } from "../supervisor/supervisor.ts";
import { ConfigError, describeError, NotNowError } from "../errors.ts";
import { unreadableFile } from "../util/regular-file.ts";
import { logger } from "../log.ts";
import { hex } from "../rts/checksum.ts";
import { handedOver, type Boot, type PhaseRun } from "./phase.ts";

const log = logger("fleet");

/** `quorum_met`: the boot barrier was passed before the re-exec (it stays passed: losing members later stops nothing). */
/** `instance`: the run's token in its node value (an older image hands none over: the next draws one and adopts the key once). */
const fleetHandoff = z.object({ lease: z.string().regex(/^[1-9][0-9]{0,19}$/).nullable(), instance: z.string().regex(instancePattern).optional(), quorum_met: z.boolean().optional(), owner: z.string().optional() });

/** The status summary this node publishes (read live at each refresh). */
function summary(b: Boot) {
  let sha: string | null = null;
  return () => {
    const hb = b.heartbeat?.stats() ?? null;
    const evo = b.evolution?.evo.stats() ?? null;
    // Known only: hashing a plain .gguf here (evolution off or failed) held PID 1's loop ~1 s per GiB
    // after the heartbeat had started, at every refresh until it was done and after every re-exec.
    if (sha === null && b.model) {
      const known = b.model.source.sha256;
      sha = evo?.lineage ?? (known ? hex(known) : null);
    }
    return {
      pid1: b.ctx.pid1,
      generation: b.generation,
      model: b.model ? { name: b.model.info.name, sha256: sha } : null,
      journal_seq: evo ? evo.journalDurableSeq : null,
      beats: hb ? hb.beat : null,
      lateness_ms: hb ? hb.jitterMs : null,
      missed: hb ? hb.missed : null,
      interrupts: hb ? hb.interrupts.filter((i) => i.active).map((i) => i.name) : [],
      services: Object.fromEntries((b.supervisor?.list() ?? []).map((s) => [s.name, s.state])),
      // Off in the config: this node takes no fleet mutation (its feed does not run), and nobody waits for its ack.
      mutations: b.config.evolution.enabled,
    };
  };
}

/** Starts membership in the background (never waits on etcd); null without a `fleet` section. */
export function startFleet(b: Boot): PhaseRun | void {
  const f = b.config.fleet;
  if (!f) return;
  let client: EtcdClient;
  try {
    const files: [string, string | undefined][] = [["fleet.tls.ca", f.tls?.ca], ["fleet.tls.cert", f.tls?.cert], ["fleet.tls.key", f.tls?.key], ["fleet.auth.password_file", f.auth?.password_file]];
    for (const [field, path] of files) {
      const why = path === undefined ? null : unreadableFile(path);
      if (why !== null) throw new ConfigError(field, `cannot read ${path}: ${why}`);
    }
    client = new EtcdClient({ endpoints: f.endpoints, ...(f.tls ? { tls: f.tls } : {}), ...(f.auth ? { auth: f.auth } : {}) });
  } catch (e) {
    // Outside PID 1 a bad value ends the command (78, field named); PID 1 boots on without the fleet.
    if (!b.ctx.pid1) throw e;
    log.error("fleet disabled: cannot set up the etcd client", { error: describeError(e) });
    return;
  }
  const inherited = fleetHandoff.safeParse(handedOver(b, "fleet"));
  const node = f.node_id ?? hostname();
  // The previous image's lease for another node or fleet (the config changed at the re-exec): revoked,
  // not adopted (its node key and singleton candidacies lived on beside this node's).
  const foreign = inherited.success && inherited.data.owner !== undefined && inherited.data.owner !== leaseOwner(f.name, node);
  const handed = inherited.success ? inherited.data.lease : null;
  const m = new Membership({ client, fleet: f.name, node, ttlS: f.lease_ttl_s, summary: summary(b), leaseId: foreign ? null : handed, foreignLeaseId: foreign ? handed : null, instance: inherited.success && !foreign ? (inherited.data.instance ?? null) : null, leaseFile: join(b.config.state_dir, "fleet-lease") });
  log.info("phase fleet", { fleet: f.name, node, endpoints: f.endpoints.join(","), lease_ttl_s: f.lease_ttl_s });
  const evo = b.evolution?.evo ?? null;
  const feed = new MutationFeed({
    client,
    fleet: f.name,
    node,
    stateDir: b.config.state_dir,
    // A duplicate node_id (not joined) applies and acks nothing: acks/<id>/<node> is the member's.
    member: m,
    apply: async (mu) => {
      // Failed at boot (a disk, a journal): not a verdict, held back (notAVerdict). Off by the config,
      // the feed does not run at all (acked as refusals, they were never taken once it was on again).
      if (!evo) return { accepted: false, status: "EVOLUTION_DISABLED", journalSeq: null };
      const r = await evo.submit({ tensor: mu.tensor, elementOffset: mu.offset, values: Float32Array.from(mu.values), confidence: mu.confidence });
      return { accepted: r.status === 0, status: r.statusName, journalSeq: r.journalSeq };
    },
  });
  m.start();
  try {
    return startParts(b, f, client, m, feed, node, inherited.success && inherited.data.quorum_met === true);
  } catch (e) {
    // PID-1 duties never depend on the fleet: give the lease back and boot on without it.
    log.error("fleet disabled: set-up failed", { error: describeError(e) });
    void m.stop().catch(() => {});
  }
}

/** The fleet's parts beside membership and the feed: singletons, the quorum barrier, the rollout agent. */
function startParts(b: Boot, f: NonNullable<Boot["config"]["fleet"]>, client: EtcdClient, m: Membership, feed: MutationFeed, node: string, quorumMet: boolean): PhaseRun {
  const sup = b.supervisor;
  const services = b.config.services;
  const quorum = sup ? awaitQuorum(client, f.name, f.quorum, sup, services.filter((s) => s.fleet === "after-quorum").map((s) => s.name), quorumMet) : null;
  const singletons = sup
    ? services
        .filter((s) => s.fleet === "singleton")
        .map((s) => {
          // Stopped this long before the lease can expire: its grace period, SIGKILL and some slack.
          const margin = s.grace_ms + 1000;
          const most = (f.lease_ttl_s * 1000 * 2) / 3 - 500;
          if (margin > most) log.warn("singleton's grace period is too long for the lease TTL: it may be stopped and started again", { service: s.name, grace_ms: s.grace_ms, lease_ttl_s: f.lease_ttl_s });
          return new Singleton({
            client,
            membership: m,
            fleet: f.name,
            node,
            service: s.name,
            stopMarginMs: Math.min(margin, most),
            start: (rev) => {
              sup.setEnv(s.name, { FLEET_LEADER_REV: String(rev), FLEET_NODE: node });
              try {
                sup.start(s.name);
              } catch (e) {
                // The machine is shutting down, or the service is still stopping from a lost lead.
                log.warn("singleton not started", { service: s.name, error: describeError(e) });
              }
            },
            stop: () => sup.stop(s.name),
            // Given up on this node: failed (a restart storm, a run that would not die), or it could not
            // be run here (126/127: not executable, not found). Any other exit is the service's own
            // business (restart "never" stands: a job that failed is not run again elsewhere).
            failed: () => {
              const x = sup.status(s.name);
              return x !== undefined && (x.state === "failed" || (x.state === "exited" && (x.lastStatus === 126 || x.lastStatus === 127)));
            },
          });
        })
    : [];
  for (const s of singletons) s.start();
  const singletonNames = services.filter((s) => s.fleet === "singleton").map((s) => s.name);
  // A hand-started copy (`vector-boot start`) ran beside the leader's, without FLEET_LEADER_REV.
  const singletonOf = new Map(singletons.map((s, i) => [singletonNames[i]!, s]));
  const afterQuorum = new Set(services.filter((s) => s.fleet === "after-quorum").map((s) => s.name));
  sup?.setStartGate((name) => {
    const s = singletonOf.get(name);
    if (s && s.role !== "leader") return `a fleet singleton runs only on the node elected for it; this node is ${s.role === "stopping" ? "stopping its copy" : "not the leader"} (see vector-boot fleet status)`;
    if (afterQuorum.has(name) && !quorum?.met()) return `an after-quorum service starts once ${f.quorum} nodes are fleet members`;
    return null;
  });
  b.fleetRole = () => {
    const roles = sup ? singletons.map((s, i) => ({ service: singletonNames[i]!, role: s.role })) : [];
    return { fleet: f.name, node, role: roles.some((r) => r.role === "leader") ? "leader" : m.leaseAlive() ? "member" : "detached", singletons: roles };
  };
  // Evolution off in the config: no fleet mutation is taken (the summary says so: none is waited for).
  const takesMutations = b.config.evolution.enabled;
  if (takesMutations) feed.start();
  const rollout = new RolloutAgent({
    client,
    membership: m,
    fleet: f.name,
    node,
    generation: b.generation,
    stateDir: b.config.state_dir,
    beating: () => (b.heartbeat?.stats().beats ?? 0) > 0,
    act: async (action) => {
      if (action === "reexec") {
        rolloutLease = m.leaseId;
        try {
          await b.reexec!();
        } finally {
          rolloutLease = null;
        }
        return;
      }
      // The lease is kept (not revoked) so the slot stays held until the node is back or the TTL passes.
      keepLease = true;
      b.signals.request({ reason: `fleet rollout ${action}`, mode: action });
    },
  });
  let keepLease = false;
  /** The lease the rollout's slot is on while its re-exec is under way (null: no rollout re-exec). */
  let rolloutLease: string | null = null;
  rollout.start();
  const closeAll = async (resign: boolean) => {
    rollout.stop();
    quorum?.cancel();
    // With etcd not answering, waiting out the calls in flight (3-10 s deadlines) held the shutdown:
    // every loop is told to stop, then their calls are ended at once (the revoke after is a new call).
    m.halt();
    feed.halt();
    client.abortInFlight();
    // A rollout's reboot keeps the lease: renewed from here, before the singletons' stops (a grace
    // each) and the feed's, not after them (the lease could lapse meanwhile, the slot with it).
    if (resign) m.renewUntilEnd();
    await Promise.all([...singletons.map((s) => s.close(resign)), withDeadline(() => feed.stop(), 3000)]);
  };
  return {
    stop: async () => {
      // A rollout's reboot keeps the lease (its slot) alive until the end, but not its singletons' candidacies.
      await closeAll(keepLease);
      if (!keepLease) return m.stop();
      await m.pause();
    },
    // Singletons stop (the next image campaigns again, on the same lease: it keeps its place);
    // the next image keeps the lease (no flap of the node's key across a re-exec).
    handoff: async () => {
      // The rollout's re-exec, after its preflight (up to 30 s a question): the slot is held on the
      // lease it was taken on. Lapsed meanwhile (keepalives failing, the node frozen), the slot was
      // free to the next node and the exec went ahead beside it: not now, the agent acts again on a
      // later round, on a live lease. A third of the TTL to spare: the next image adopts the lease and
      // must renew it before then (a healthy node has two thirds). An operator's re-exec does not depend on etcd.
      if (rolloutLease !== null && (m.leaseId !== rolloutLease || !m.leaseAlive(Math.max(ACT_MARGIN_MS, (f.lease_ttl_s * 1000) / 3)))) throw new NotNowError("re-exec: the fleet lease this node's rollout slot is on may have lapsed while the new image was asked; the rollout tries again once the node is surely a member");
      await closeAll(false);
      return { lease: await m.pause(), instance: m.instance, quorum_met: quorum?.met() ?? false, owner: leaseOwner(f.name, node) };
    },
    resume: () => {
      m.start();
      if (takesMutations) feed.start();
      rollout.start();
      quorum?.resume();
      for (const s of singletons) s.start();
    },
  };
}

/**
 * Boot barrier: starts `names` once `quorum` nodes are members whose keys were written since it
 * began (polled every second, in the background). `alreadyMet`: passed before a live re-exec; the new image polled again, and until
 * etcd answered with enough members `restart` of such a service stopped it and refused the start.
 */
function awaitQuorum(client: EtcdClient, fleet: string, quorum: number, sup: Supervisor, names: string[], alreadyMet: boolean): { cancel(): void; resume(): void; met(): boolean } | null {
  if (names.length === 0) return null;
  let done = alreadyMet;
  let met = alreadyMet;
  let logged = -1;
  let timer: ReturnType<typeof setInterval> | null = null;
  const startPending = () => {
    for (const n of names) {
      if (sup.list().find((s) => s.name === n)?.state !== "pending") continue;
      try {
        sup.start(n);
      } catch (e) {
        log.warn("after-quorum service not started", { service: n, error: describeError(e) });
      }
    }
  };
  // The revision the barrier began at: a member counts once its key was written after it (a live
  // node rewrites it every TTL/3); a crashed node's key outlives it by up to a TTL and passed a
  // cold-started fleet's barrier with the other nodes down.
  let since: number | null = null;
  const tick = async () => {
    if (done) return;
    try {
      if (since === null) since = (await client.get(nodesPrefix(fleet), { prefix: true })).revision;
      const members = (await readRefreshedMembers(client, fleet, since)).members.length;
      if (members !== logged) log.info("fleet members", { members, quorum });
      logged = members;
      if (members >= quorum && !done) {
        done = true;
        met = true;
        if (timer) clearInterval(timer);
        log.info("fleet quorum reached: starting after-quorum services", { services: names.join(",") });
        startPending();
      }
    } catch (e) {
      log.debug("fleet quorum check failed", { error: String(e).slice(0, 200) });
    }
  };
  const poll = () => {
    done = false;
    timer = setInterval(() => void tick(), 1000);
    void tick();
  };
  const cancel = () => {
    done = true;
    if (timer) clearInterval(timer);
    timer = null;
  };
  if (alreadyMet) {
    log.info("fleet quorum was reached before the re-exec: after-quorum services run", { services: names.join(",") });
    startPending();
  } else poll();
  // A re-exec that did not happen (the exec failed) resumes the barrier where it was.
  return { cancel, resume: () => void (met ? undefined : poll()), met: () => met };
}
