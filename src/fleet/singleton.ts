// Fleet singleton: an etcd election (lowest create revision under a prefix, keys on the node's lease) with fencing.
import { logger } from "../log.ts";
import { b64, cmpCreate, cmpLease, cmpUnchanged, opDelete, opPut, prefixEnd, toKv, kvSchema, type EtcdClient } from "./etcd-client.ts";
import { fleetPrefix } from "./keys.ts";
import type { Membership } from "./membership.ts";
import { z } from "zod";

const log = logger("fleet");

const rangeResponse = z.object({ kvs: z.array(kvSchema).optional() }).passthrough();

export const singletonPrefix = (fleet: string, service: string): string => `${fleetPrefix(fleet)}singleton/${service}/`;

export interface SingletonOptions {
  client: EtcdClient;
  membership: Membership;
  fleet: string;
  node: string;
  service: string;
  /** How long stopping the service may take (its grace period + SIGKILL): it is stopped this long before the lease can expire. */
  stopMarginMs: number;
  /** Starts the service with its leader revision (the fencing token). */
  start(rev: number): void;
  /** Stops it; resolves when no process of it is left. */
  stop(): Promise<void>;
  /** Whether the service failed here (its restarts given up): this node then gives the lead up. */
  failed?(): boolean;
}

/** After giving the lead up, a node campaigns again only this much later (another node's turn first), doubled at each give-up in a row up to 32 times. */
const GIVE_UP_MS = 10_000;
/** A lead held this long before its service failed starts the give-ups' back-off afresh. */
const GIVE_UP_RESET_MS = 300_000;

type State = "follower" | "leader" | "stopping";

/**
 * One election per singleton service. A node campaigns by creating `<prefix><node>` on its lease
 * (a txn: created once per lease); the key with the lowest create revision leads and its create
 * revision is the fencing token (FLEET_LEADER_REV). The leader runs the service only while its lease
 * is surely alive with `stopMarginMs` to spare (local monotonic clock: last keepalive sent + TTL); past
 * that, or on losing the key, it stops the service. A rival's key exists until that lease expires or
 * is revoked, so a new leader can only start after the old one's deadline has passed.
 */
export class Singleton {
  private state: State = "follower";
  private rev = 0;
  /** The lease this node's leading key is on: leadership ends with it. */
  private lease: string | null = null;
  private stopped = false;
  private poll: ReturnType<typeof setInterval> | null = null;
  private fence: ReturnType<typeof setInterval> | null = null;
  private busy = false;
  /** The demotion under way (its service stopping), awaited by close. */
  private demoting: Promise<void> | null = null;
  private readonly key: string;
  /** Not before (monotonic ms): a node that gave the lead up lets the others campaign first. */
  private campaignAfter = 0;
  /** Give-ups in a row (the back-off), and when this node was last elected. */
  private giveUps = 0;
  private electedAt = 0;
  /** The candidacy given up and not yet withdrawn (etcd did not answer): withdrawn before campaigning again. */
  private withdraw: { lease: string; rev: number } | null = null;

  constructor(private readonly o: SingletonOptions) {
    this.key = `${singletonPrefix(o.fleet, o.service)}${o.node}`;
  }

  /** This node's part in the election now: `leader` runs the service, `stopping` is stopping it. */
  get role(): State {
    return this.state;
  }

  start(): void {
    this.stopped = false;
    this.poll = setInterval(() => void this.round(), 1000);
    this.fence = setInterval(() => this.check(), 100);
    void this.round();
  }

  /** Fencing: runs every 100 ms, never waits on etcd. */
  private check(): void {
    if (this.state !== "leader") return;
    if (this.o.failed?.()) {
      void this.giveUp();
      return;
    }
    if (this.o.membership.leaseId !== this.lease) void this.demote("the lease this node was elected on is gone (the node joined again on a new one)");
    else if (!this.o.membership.leaseAlive(this.o.stopMarginMs)) void this.demote("the lease may expire before another keepalive succeeds");
  }

  private demote(why: string): Promise<void> {
    if (this.state !== "leader") return this.demoting ?? Promise.resolve();
    this.state = "stopping";
    log.warn("singleton stopping", { service: this.o.service, rev: this.rev, why });
    this.demoting = (async () => {
      try {
        await this.o.stop();
      } finally {
        this.state = "follower";
        this.demoting = null;
      }
    })();
    return this.demoting;
  }

  /**
   * The service failed on this node (a binary missing here only, a crash loop): the lead goes to
   * another node. It kept the lead (and the lowest create revision) for as long as its lease lived,
   * and the singleton ran nowhere. The candidacy is withdrawn, guarded by the lease; this node
   * campaigns again after GIVE_UP_MS, behind the others.
   */
  private async giveUp(): Promise<void> {
    const now = performance.now();
    if (now - this.electedAt > GIVE_UP_RESET_MS) this.giveUps = 0;
    // Set before anything awaits: a round whose reads were under way must not elect this node again.
    this.campaignAfter = now + GIVE_UP_MS * 2 ** Math.min(this.giveUps++, 5);
    if (this.lease !== null) this.withdraw = { lease: this.lease, rev: this.rev };
    await this.demote("the service failed on this node: the lead goes to another node");
    if (!this.stopped) await this.withdrawCandidacy();
  }

  /** Deletes the candidacy given up (only that one: on its lease, of its create revision); false while etcd does not answer. */
  private async withdrawCandidacy(): Promise<boolean> {
    const w = this.withdraw;
    if (w === null) return true;
    try {
      await this.o.client.txn([cmpLease(this.key, w.lease), cmpCreate(this.key, w.rev)], [opDelete(this.key)], [], 2000);
      this.withdraw = null;
      return true;
    } catch (e) {
      log.warn("singleton candidacy not withdrawn after the service failed; tried again before this node campaigns", { service: this.o.service, error: String(e).slice(0, 200) });
      return false;
    }
  }

  private async round(): Promise<void> {
    if (this.busy || this.stopped || performance.now() < this.campaignAfter) return;
    this.busy = true;
    try {
      // A candidacy given up is gone before this node campaigns again (else it led on, first in the queue).
      if (!(await this.withdrawCandidacy())) return;
      const m = this.o.membership;
      const lease = m.leaseId;
      if (lease === null || !m.leaseAlive(this.o.stopMarginMs)) return;
      const c = this.o.client;
      // Campaign: create our key on the current lease (a create-only txn, so repeating it after an
      // unknown outcome is harmless); read first, so a steady round costs reads only, no Raft write.
      const own = (await c.get(this.key)).kvs[0];
      // The candidacy names this run (the membership's instance, handed over across a re-exec).
      const value = JSON.stringify({ node: this.o.node, instance: m.instance });
      if (this.state === "leader" && (!own || own.lease !== lease || own.value !== value)) {
        // Our key went with our lease (revoked, expired): another node may lead already. Before any
        // other call (a create on the dead lease throws, and demotion waited for the next keepalive).
        await this.demote("this node's candidacy key is gone (its lease was revoked or expired)");
        return;
      }
      if (own && own.lease === lease && own.value === this.o.node) {
        // Written by an image before candidacies named their run (the value was the node id), on
        // this lease: this run's after a live re-exec. Rewritten in place (a put keeps the create
        // revision): deleted, the node lost its place in the queue at each upgrade.
        await c.txn([cmpUnchanged(this.key, own.modRevision), cmpLease(this.key, lease)], [opPut(this.key, value, lease)]);
        return;
      }
      if (own && own.lease === lease && own.value !== value) {
        // On our lease but another run's: a clone of this node that adopted its lease (the node cut
        // off, its copy still running until its own deadline), or this node's previous boot. Led on
        // as it was, it carried the same create revision: two copies with one fencing token. Deleted
        // (only while unchanged and on this lease) and made anew next round: a higher token.
        await c.txn([cmpUnchanged(this.key, own.modRevision), cmpLease(this.key, lease)], [opDelete(this.key)]);
        log.info("singleton candidacy of another run on this lease withdrawn; campaigning anew", { service: this.o.service, was: own.value.slice(0, 200) });
        return;
      }
      if (!own || own.lease !== lease) await c.txn([cmpCreate(this.key, 0)], [opPut(this.key, value, lease)]);
      const prefix = singletonPrefix(this.o.fleet, this.o.service);
      const r = await c.call("/v3/kv/range", { key: b64(prefix), range_end: prefixEnd(prefix), sort_order: "ASCEND", sort_target: "CREATE", limit: 1 }, rangeResponse, { idempotent: true });
      const first = r.kvs?.[0] ? toKv(r.kvs[0]) : null;
      const mine = first !== null && first.key === this.key && first.lease === lease && first.value === value;
      if (this.stopped) return;
      // The read says who led while `lease` lived: acted on only while that same lease is surely alive
      // (its key then still exists, and no rival can have been created before it). A lease replaced
      // meanwhile (it lapsed while the read was answered, and the node joined again) proves nothing:
      // a rival may lead by now, so the stale answer started a second copy.
      if (mine && this.state === "follower" && m.leaseId === lease && m.leaseAlive(this.o.stopMarginMs) && performance.now() >= this.campaignAfter && this.withdraw === null) {
        this.electedAt = performance.now();
        this.rev = first.createRevision;
        this.lease = lease;
        this.state = "leader";
        log.info("singleton elected: starting", { service: this.o.service, rev: this.rev });
        this.o.start(this.rev);
      } else if (mine && this.state === "follower" && m.leaseId !== lease) {
        log.warn("singleton not started: the election read was answered on a lease that is gone; campaigning again", { service: this.o.service, lease, now: m.leaseId ?? "none" });
      } else if (!mine && this.state === "leader") {
        await this.demote(`another node leads (${first?.key ?? "none"})`);
      }
    } catch (e) {
      log.debug("singleton round failed", { service: this.o.service, error: String(e).slice(0, 200) });
    } finally {
      this.busy = false;
    }
  }

  /**
   * Shutdown or re-exec: stop campaigning and stop the service, a demotion already under way
   * included (close returned at once then, and the shutdown revoked the lease, or a re-exec exec'd,
   * while the copy being demoted ran out its grace: another node was elected beside it). The key
   * goes with the lease's revoke; `resign` (a shutdown that keeps the lease: a rollout's reboot, its
   * slot held on it) deletes it now, guarded by the lease, so another node is elected at once
   * instead of after the reboot and TTL/2 (the singleton was down fleet-wide all that time).
   */
  async close(resign = false): Promise<void> {
    this.stopped = true;
    if (this.poll) clearInterval(this.poll);
    if (this.fence) clearInterval(this.fence);
    await this.demote("shutting down");
    const lease = this.o.membership.leaseId;
    if (!resign || lease === null) return;
    try {
      const r = await this.o.client.txn([cmpLease(this.key, lease)], [opDelete(this.key)], [], 2000);
      if (r.succeeded) log.info("singleton candidacy withdrawn (the lease stays for the rollout's slot)", { service: this.o.service });
    } catch (e) {
      log.warn("singleton candidacy not withdrawn; it goes when the lease does", { service: this.o.service, error: String(e).slice(0, 200) });
    }
  }
}
