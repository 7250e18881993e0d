// Fleet-wide mutations, a node's side: it applies every one under mutations/ in revision order and acks it once.
import { join } from "node:path";
import { z } from "zod";
import { logger } from "../log.ts";
import { b64, kvSchema, parseKvJson, prefixEnd, toKv, type EtcdClient, type Kv, type LeaseId } from "./etcd-client.ts";
import { abortableSleep } from "./retry.ts";
import { watchOnce } from "./etcd-watch.ts";
import { acksPrefix, fleetMutationSchema, keyOnLease, mutationKeyProblem, mutationsPrefix, onOwnLease, type Ack, type FleetMutation } from "./keys.ts";
import { readCheckpoint } from "./fleet-checkpoint.ts";
import { AppliedRevision } from "./applied-revision.ts";
import { issuesText } from "../util/issues-text.ts";

const log = logger("fleet");

export interface FeedOptions {
  client: EtcdClient;
  fleet: string;
  node: string;
  /** Where the last applied revision is kept (the node's state dir). */
  stateDir: string;
  /** Runs one mutation through the local CTRM gate and journal; resolves once it is durable (or rejected). */
  apply(m: FleetMutation): Promise<Outcome>;
  /** The node's membership (Membership): mutations are applied and acked only while it is a member. */
  member: { leaseId: LeaseId | null; leaseAlive(): boolean; whenJoined(signal: AbortSignal): Promise<void>; lostKey(): void };
}

/** The node is not a fleet member now: what arrived is left unapplied and unacked (read again on joining). */
class NotMember extends Error {}

/**
 * Outcomes that only say this node's own machinery cannot apply a mutation now, nothing about the
 * mutation: its journal stopped with it (JOURNAL_FAILED: the outcome unknown), it was not taken
 * (NOT_TAKEN: nothing journaled; evolution closing, not judged, the journal stopped before it), a
 * journaled write failed to apply (APPLY_FAILED: evolution fail-stopped), evolution disabled at boot
 * (EVOLUTION_DISABLED). Acked as refusals, they were final: after the operator mended the disk and
 * rebooted, the node never applied those mutations (and `fleet gc` could drop one every node had
 * "refused" fleet-wide). Only the gate's verdicts and MALFORMED are acked as refusals.
 */
export const notAVerdict: ReadonlySet<string> = new Set(["JOURNAL_FAILED", "NOT_TAKEN", "APPLY_FAILED", "EVOLUTION_DISABLED"]);

/** A mutation this node could not apply (notAVerdict): it and what follows are left unacked, `applied` stays before it; tried again after a back-off, and after a restart. */
class NotApplied extends Error {}

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 60_000;

/** What a node did with one mutation (its ack); `reason` says why a malformed one was refused. */
type Outcome = { accepted: boolean; status: string; journalSeq: number | null; reason?: string };

const rangeResponse = z.object({ header: z.object({ revision: z.union([z.string(), z.number()]).transform(Number) }).passthrough(), kvs: z.array(kvSchema).optional(), more: z.boolean().optional() }).passthrough();

/**
 * The node's side. Catch-up: the fleet checkpoint when it covers revisions above the last applied
 * one, then every live mutation key above it (a range, so compaction of etcd's history cannot hide
 * one); then a watch from there. Each mutation: local gate + journal, then an ack created once under
 * acks/<id>/<node>, then the revision saved (fsync; at most every 250 ms, and 250 ms after the last
 * batch at the latest). A crash in between re-applies it on return (absolute values: what a local
 * mutation wrote to the same range since is overwritten again), never acked twice (create-only).
 */
export class MutationFeed {
  private readonly saved: AppliedRevision;
  private ctl = new AbortController();
  /** Mutations were held back (not a member): logged once until the feed resumes. */
  private heldBack = false;
  /** A mutation this node could not apply holds the feed back (NotApplied): logged once until one goes through; `retryMs` is the back-off. */
  private stalled = false;
  private retryMs = RETRY_MIN_MS;
  private loop: Promise<void> | null = null;

  constructor(private readonly o: FeedOptions) {
    this.saved = new AppliedRevision(join(o.stateDir, "fleet-applied.json"));
  }

  /** The last revision applied (fleet-applied.json). */
  private get applied(): number {
    return this.saved.revision;
  }

  get revision(): number {
    return this.applied;
  }

  start(): void {
    if (this.ctl.signal.aborted) this.ctl = new AbortController();
    this.loop ??= this.run();
  }

  /**
   * A batch in revision order: the mutations are submitted to the journal one after another, then
   * the acks are created concurrently, then the revision is saved. A mutation this node could not
   * apply (notAVerdict) ends the batch there: unacked, and `applied` stays before it (NotApplied).
   * A stop ends it after the mutation under way: those taken are acked, `applied` goes no further.
   */
  private async handle(kvs: Kv[]): Promise<void> {
    const todo = kvs.filter((kv) => kv.modRevision > this.applied);
    if (todo.length === 0) return;
    this.mustBeMember();
    const fresh = todo.filter((kv) => this.admissible(kv));
    // One after another, up to the first this node cannot take: submitted all at once, the ones after
    // a mutation that could not be judged were journaled (and, unacked, journaled again at each retry).
    const results: Outcome[] = [];
    for (const kv of fresh) {
      if (this.ctl.signal.aborted) break;
      const parsed = parseKvJson(kv.value, fleetMutationSchema);
      let r: Outcome;
      if (parsed.success) r = await this.o.apply(parsed.data);
      else {
        const reason = issuesText(parsed.error.issues, "value").slice(0, 300);
        log.warn("fleet mutation malformed: not applied, acked MALFORMED", { key: kv.key, reason });
        r = { accepted: false, status: "MALFORMED", journalSeq: null, reason };
      }
      results.push(r);
      if (notAVerdict.has(r.status)) break;
    }
    // Acked up to the first one this node could not apply; that one and the rest of the batch are
    // not (those applied after it are applied again, in order, when it is retried: absolute values).
    const stuck = results.findIndex((r) => notAVerdict.has(r.status));
    await Promise.all(fresh.slice(0, stuck < 0 ? results.length : stuck).map((kv, i) => this.ack(kv, results[i]!)));
    if (stuck < 0 && results.length < fresh.length) {
      // Stopped part-way: applied through the last one taken, not past the rest.
      const through = todo.filter((kv) => kv.modRevision < fresh[results.length]!.modRevision);
      if (through.length > 0) await this.saved.advance(through[through.length - 1]!.modRevision);
      return;
    }
    if (stuck >= 0) {
      const first = fresh[stuck]!;
      const before = todo.filter((kv) => kv.modRevision < first.modRevision);
      if (before.length > 0) await this.saved.advance(before[before.length - 1]!.modRevision);
      this.notApplied(first.key.slice(mutationsPrefix(this.o.fleet).length), results[stuck]!.status);
    }
    if (this.stalled && fresh.length > 0) {
      log.info("fleet mutations: applied again", { node: this.o.node, through_revision: todo[todo.length - 1]!.modRevision });
      this.stalled = false;
      this.retryMs = RETRY_MIN_MS;
    }
    await this.saved.advance(todo[todo.length - 1]!.modRevision);
  }

  /** This node could not apply mutation `id` (notAVerdict `status`): said once until one goes through; the feed holds back (NotApplied). */
  private notApplied(id: string, status: string): never {
    if (!this.stalled) log.error("fleet mutation not applied: this node's evolution cannot take it now (its journal stopped, or evolution is disabled); not acked, held back and tried again (and after a restart)", { node: this.o.node, mutation: id, status, applied: this.applied });
    this.stalled = true;
    throw new NotApplied();
  }

  /**
   * Another node holds this node's key (the same node_id), or the lease may have expired: that node
   * is the member and acks/<id>/<node> is its to write, so this one applies and acks nothing.
   */
  private mustBeMember(): void {
    if (this.o.member.leaseAlive()) return;
    if (!this.heldBack) log.warn("fleet mutations held back: this node is not a fleet member now (its node id is held by another lease, or its lease may have expired); applied once it has joined again", { node: this.o.node, applied: this.applied });
    this.heldBack = true;
    throw new NotMember();
  }

  /** Hand-written keys are refused (mutationKeyProblem): logged, never applied nor acked. */
  private admissible(kv: Kv): boolean {
    const problem = mutationKeyProblem(kv.key.slice(mutationsPrefix(this.o.fleet).length), kv);
    if (problem === "bad-id") log.warn("fleet mutation refused: its key's id is not a mutation id (1-128 letters, digits, '_', '.', '-'); not applied, not acked", { key: kv.key });
    else if (problem === "rewritten") log.warn("fleet mutation key rewritten: ignored (mutations are create-only; the first value stands)", { key: kv.key, create_revision: kv.createRevision, mod_revision: kv.modRevision });
    return problem === null;
  }

  /**
   * Creates acks/<id>/<node> once; retried with back-off until it lands (create-only: repeating is
   * safe). Through createOnly: a member that froze (after delivering the mutation) is left for the
   * next within the call, where a plain txn waited out its whole deadline there first. Fenced: the
   * same transaction requires this node's key on its lease. Membership was checked only before the
   * journal write, so a node whose lease lapsed during it (a long fsync, the process paused) and whose
   * key another node with the same id took meanwhile still acked, the member's ack under its name.
   */
  private async ack(kv: Kv, res: Outcome): Promise<void> {
    const id = kv.key.slice(mutationsPrefix(this.o.fleet).length);
    const ack: Ack = { node: this.o.node, status: res.status, accepted: res.accepted, journal_seq: res.journalSeq, revision: kv.modRevision, at: Date.now(), ...(res.reason ? { reason: res.reason } : {}) };
    const key = `${acksPrefix(this.o.fleet, id)}${this.o.node}`;
    const since = performance.now();
    let warnedAt: number | null = null;
    for (let backoff = 250, attempts = 1; ; backoff = Math.min(5000, backoff * 2), attempts++) {
      const lease = this.o.member.leaseId;
      if (lease === null) this.notMemberAnyMore(id);
      try {
        const created = (await this.o.client.createOnly(key, JSON.stringify(ack), undefined, [onOwnLease(this.o.fleet, this.o.node, lease)])).succeeded;
        // Not created: the ack is there (an earlier attempt whose answer was lost), or the key is not ours.
        if (!created && !(await keyOnLease(this.o.client, this.o.fleet, this.o.node, lease))) this.notMemberAnyMore(id);
        if (warnedAt !== null) log.info("fleet mutation acked", { mutation: id, attempts });
        return;
      } catch (e) {
        if (e instanceof NotMember || this.ctl.signal.aborted) throw e;
        // Said at once when etcd refused the write (HTTP 4xx: a role without write on acks/, a quota),
        // which no retry mends by itself; a cluster that is only unavailable gets 10 s first. Then once
        // a minute: the mutations after this one wait for it.
        const now = performance.now();
        const refused = / HTTP 4\d\d: /.test(String(e));
        if ((warnedAt === null && (refused || now - since >= 10_000)) || (warnedAt !== null && now - warnedAt >= 60_000)) {
          warnedAt = now;
          log.warn("fleet mutation applied but its ack not stored; retrying (later mutations wait for it)", { mutation: id, key, attempts, error: String(e).slice(0, 300) });
        }
        await abortableSleep(backoff, this.ctl.signal);
      }
    }
  }

  /** A fenced ack found this node's key not on its lease: it is no member now (said once), held back until it joins again. */
  private notMemberAnyMore(id: string): never {
    if (!this.heldBack) log.warn("fleet mutation not acked: this node's key is not on its lease any more (the lease lapsed; another node with the same id may hold the key); held back until it has joined again", { node: this.o.node, mutation: id, applied: this.applied });
    this.heldBack = true;
    this.o.member.lostKey();
    throw new NotMember();
  }

  /**
   * Everything above `applied`, in revision order; returns the revision it read at. The checkpoint
   * first: when `fleet gc` folded history this node had not applied (it was down), the checkpoint's
   * mutations are applied in order and `applied` jumps to the revision it was folded through. Then
   * the live mutation keys above it, read at the checkpoint read's revision (one snapshot: a gc run
   * in between cannot hide a key; if etcd compacted that snapshot away, the call fails and the
   * loop starts over).
   */
  private async catchUp(): Promise<number> {
    const prefix = mutationsPrefix(this.o.fleet);
    const cp = await readCheckpoint(this.o.client, this.o.fleet, 10_000);
    const atRevision = cp.revision;
    this.saved.sameHistory(cp.clusterId, atRevision);
    if (cp.checkpoint && cp.checkpoint.through_revision > this.applied) {
      this.mustBeMember();
      const c = cp.checkpoint;
      log.warn("fleet mutations: the history this node needs was folded into the fleet checkpoint; resyncing from it", { applied: this.applied, needed_from: this.applied + 1, checkpoint_through: c.through_revision, checkpoint_mutations: c.mutations.length });
      // Only what this node has not applied: one it did was re-applied over what local mutations
      // wrote to the same range since (whether it was depended on the node being up at the gc).
      const rev = (id: string): number | undefined => cp.revisions?.[id];
      const todo = c.mutations.filter((m) => (rev(m.id) ?? Infinity) > this.applied);
      // One after another, up to the first this node cannot take (as a batch: those after it are not journaled at each retry).
      const results: Outcome[] = [];
      for (const m of todo) {
        const r = await this.o.apply({ tensor: m.tensor, offset: m.offset, values: m.values, confidence: m.confidence, published_at: 0 });
        results.push(r);
        if (notAVerdict.has(r.status)) break;
      }
      // One this node could not apply: `applied` stays below the checkpoint (it was set to its
      // revision all the same, a write never applied here), and the resync is tried again.
      const stuck = results.findIndex((r) => notAVerdict.has(r.status));
      if (stuck >= 0) this.notApplied(todo[stuck]!.id, results[stuck]!.status);
      const refused = results.filter((r) => !r.accepted);
      if (refused.length > 0) log.warn("fleet mutations: some checkpoint mutations were refused here", { refused: refused.length, first: refused[0]!.status });
      await this.saved.jump(c.through_revision);
    }
    let from = this.applied + 1;
    for (;;) {
      const body: Record<string, unknown> = { key: b64(prefix), range_end: prefixEnd(prefix), min_mod_revision: String(from), sort_order: "ASCEND", sort_target: "MOD", limit: "500", revision: String(atRevision) };
      const r = await this.o.client.call("/v3/kv/range", body, rangeResponse, { idempotent: true, timeoutMs: 10_000 });
      const kvs = (r.kvs ?? []).map(toKv);
      await this.handle(kvs);
      if (!r.more || kvs.length === 0) return atRevision;
      from = kvs[kvs.length - 1]!.modRevision + 1;
    }
  }

  /**
   * Only while the node is a member: until it has joined (its key on its own lease) nothing is read.
   * A member that stops being one (its lease lapsed, its key taken by a node with the same id) ends
   * its watch at the next mutation and waits to join again; then it catches up from `applied`.
   */
  private async run(): Promise<void> {
    let backoff = 250;
    while (!this.ctl.signal.aborted) {
      const term = new AbortController();
      const endTerm = () => term.abort();
      this.ctl.signal.addEventListener("abort", endTerm);
      try {
        await this.o.member.whenJoined(this.ctl.signal);
        if (this.ctl.signal.aborted) break;
        if (this.heldBack) log.info("fleet mutations: a member again; catching up", { node: this.o.node, applied: this.applied });
        this.heldBack = false;
        const at = await this.catchUp();
        await this.saved.save();
        let notApplied = false;
        const onEvents = (kvs: Kv[]) =>
          this.handle(kvs).catch((e) => {
            if (!(e instanceof NotMember || e instanceof NotApplied)) return Promise.reject(e);
            notApplied = e instanceof NotApplied;
            term.abort();
          });
        const end = await watchOnce(this.o.client, { prefix: mutationsPrefix(this.o.fleet), fromRevision: Math.max(at, this.applied) + 1, onEvents, signal: term.signal });
        if (this.ctl.signal.aborted) break;
        if (notApplied) await this.retryLater();
        // Left the fleet (held back until it has joined again), or a mutation this node could not apply (tried again).
        if (end.kind === "closed") continue;
        if (end.kind === "compacted") log.warn("fleet mutations: the watch's revision was compacted; resyncing from the checkpoint and the live mutation keys", { applied: this.applied, compact_revision: end.compactRevision });
        else log.warn("fleet mutations: watch ended; resuming", { applied: this.applied, why: end.error });
        backoff = 250;
      } catch (e) {
        if (this.ctl.signal.aborted) break;
        if (e instanceof NotMember) continue;
        if (e instanceof NotApplied) {
          await this.retryLater();
          continue;
        }
        log.warn("fleet mutations: catch-up failed; retrying", { applied: this.applied, error: String(e).slice(0, 200), backoff_ms: backoff });
        await abortableSleep(backoff, this.ctl.signal);
        backoff = Math.min(5000, backoff * 2);
      } finally {
        this.ctl.signal.removeEventListener("abort", endTerm);
      }
    }
  }

  /** The back-off after a mutation this node could not apply (1 s doubling to 60 s): a stopped journal or disabled evolution is not mended before a restart. */
  private async retryLater(): Promise<void> {
    await abortableSleep(this.retryMs, this.ctl.signal);
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
  }

  /** Asks the loop to stop without waiting for it (stop() waits). */
  halt(): void {
    this.ctl.abort();
  }

  async stop(): Promise<void> {
    this.ctl.abort();
    await this.loop;
    this.loop = null;
    await this.saved.stop();
  }
}
