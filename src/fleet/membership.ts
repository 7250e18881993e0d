// Fleet membership: this node's key under a lease, refreshed every TTL/3 by an async loop that never blocks PID 1.
import { existsSync } from "node:fs";
import { logger } from "../log.ts";
import { cmpUnchanged, opPut, type EtcdClient, type Kv, type LeaseId } from "./etcd-client.ts";
import { nodeKey, onOwnLease, type NodeSummary } from "./keys.ts";
import { keepLeaseFile, leaseOwner, newInstance, readLeaseFile, revokeForeignLease, writerOf } from "./run-identity.ts";

const log = logger("fleet");

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 5000;

export interface MembershipOptions {
  client: EtcdClient;
  fleet: string;
  node: string;
  ttlS: number;
  summary: () => Omit<NodeSummary, "node" | "instance" | "updated_at" | "lease_ttl_s">;
  /** A lease adopted from the previous image at a re-exec (kept alive, not granted again). */
  leaseId?: LeaseId | null;
  /** A lease the previous image held for another node or fleet (node_id or fleet.name changed): revoked, never adopted. */
  foreignLeaseId?: LeaseId | null;
  /** The previous image's instance token at a re-exec (the same run goes on: its key stays its own). */
  instance?: string | null;
  /**
   * Where the lease id is kept (the state dir): a run after a crash adopts its previous run's lease
   * while it lives, so it owns its node key once the key has gone quiet (about half a TTL after the
   * crash at most; else it waited up to the TTL, "id in use").
   */
  leaseFile?: string;
}

/**
 * Keeps `/vector-boot/<fleet>/nodes/<node>` alive. etcd being slow or down only delays this loop
 * (every call has a deadline; failures back off up to 5 s); nothing local waits on it. `validUntil`
 * is the local monotonic time before which the lease surely still exists (last successful keepalive
 * sent + the TTL it returned): fenced work stops before it.
 */
export class Membership {
  leaseId: LeaseId | null;
  validUntil = 0;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private failures = 0;
  /** Another lease holds this node's key (a duplicate node_id). */
  private conflict = false;
  /** The last publish found this node's key on its current lease. */
  private owned = false;
  /** Called at each confirmed publish (whenJoined). */
  private readonly joinWaiters = new Set<() => void>();
  readonly key: string;
  /**
   * This run's token, in its node value (kept across a re-exec): two appliances booted from one
   * cloned state dir adopt the same saved lease, and only the token tells their writes apart.
   */
  readonly instance: string;
  /** The mod revision of this run's last write of its key (0: none known). */
  private lastRev = 0;
  /**
   * The lease came from before this run, so its key may carry another instance's token and be taken
   * over, once: at once after a re-exec (the previous image is gone: it exec'd this one), when quiet
   * after a crash (the saved lease; a clone of the state dir runs on and keeps writing it).
   */
  private adopt: "at-once" | "when-quiet" | null;
  /** The other instance's write seen on the saved lease, watched for a refresh (its mod revision, local time seen). */
  private watching: { modRevision: number; at: number } | null = null;
  /** A previous run's lease for another node or fleet: revoked (best effort) before this run's first grant. */
  private foreignLease: LeaseId | null;

  constructor(private readonly o: MembershipOptions) {
    const saved = o.leaseId ? null : o.leaseFile && existsSync(o.leaseFile) ? readLeaseFile(o.leaseFile) : null;
    // A lease kept for another node or fleet (node_id or fleet.name changed since): adopted, it kept the
    // old node's key (and its singleton candidacies) alive for as long as this run lived.
    const foreign = saved !== null && saved.owner !== null && saved.owner !== leaseOwner(o.fleet, o.node);
    this.foreignLease = o.foreignLeaseId ?? (foreign ? saved.id : null);
    this.leaseId = o.leaseId ?? (foreign ? null : (saved?.id ?? null));
    this.key = nodeKey(o.fleet, o.node);
    this.instance = o.instance ?? newInstance();
    this.adopt = o.leaseId ? "at-once" : this.leaseId !== null ? "when-quiet" : null;
  }

  start(): void {
    this.stopped = false;
    this.loop ??= this.run().finally(() => (this.loop = null));
  }

  /** Is the lease surely alive now (with `marginMs` to spare)? */
  leaseAlive(marginMs = 0): boolean {
    return this.joined && performance.now() + marginMs < this.validUntil;
  }

  private async sleep(ms: number): Promise<void> {
    if (this.stopped) return;
    await new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      this.wake = () => {
        clearTimeout(t);
        r();
      };
    });
    this.wake = null;
  }

  private async run(): Promise<void> {
    const c = this.o.client;
    let backoff = BACKOFF_MIN_MS;
    const period = (this.o.ttlS * 1000) / 3;
    if (this.foreignLease !== null) await revokeForeignLease(c, this.foreignLease);
    this.foreignLease = null;
    while (!this.stopped) {
      try {
        if (this.leaseId === null) {
          const g = await c.grant(this.o.ttlS);
          this.leaseId = g.id;
          this.validUntil = performance.now() + g.ttl * 1000;
          log.info("fleet lease granted", { lease: g.id, ttl_s: g.ttl });
          await this.keepLeaseId(g.id);
        }
        const sent = performance.now();
        const ttl = await c.keepalive(this.leaseId);
        if (ttl <= 0) {
          log.warn("fleet lease expired: granting a new one", { lease: this.leaseId });
          this.leaseId = null;
          this.owned = false;
          this.validUntil = 0;
          this.lastRev = 0;
          this.adopt = null;
          this.watching = null;
          await this.sleep(BACKOFF_MIN_MS);
          continue;
        }
        this.validUntil = sent + ttl * 1000;
        if (this.stopped) break;
        // A put of the whole value: applying it twice is harmless, so an unknown outcome is just retried next round.
        await this.publish(this.leaseId);
        if (this.leaseId === null) continue; // a shared lease dropped: a fresh one at once
        if (this.failures > 0) log.info("fleet: etcd reachable again", { after_failures: this.failures });
        this.failures = 0;
        backoff = BACKOFF_MIN_MS;
        // Watching the saved lease's key for another instance's refresh: looked at again soon.
        await this.sleep(this.watching ? Math.min(period, 500) : period);
      } catch (e) {
        if (this.stopped) break;
        if (this.failures++ === 0 || this.failures % 10 === 0) log.warn("fleet: etcd call failed, retrying with back-off", { error: String(e).slice(0, 300), failures: this.failures, backoff_ms: backoff });
        await this.sleep(backoff);
        backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
      }
    }
  }

  /**
   * Writes the node's value only onto its own key: unchanged since this run's last write of it, or
   * created when absent. Another node with the same node_id (the key on a lease not ours) overwrote
   * it; now this one logs the conflict, is not joined (no singleton, no rollout) and tries again next
   * round. The key on our lease but written by another instance: the previous run's, taken over once
   * (see `adopt`), or a second live instance on our lease (a cloned state dir): this one leaves it.
   */
  private async publish(lease: LeaseId): Promise<void> {
    const c = this.o.client;
    const value = opPut(this.key, JSON.stringify({ ...this.o.summary(), node: this.o.node, instance: this.instance, updated_at: Date.now(), lease_ttl_s: this.o.ttlS }), lease);
    const onLease = onOwnLease(this.o.fleet, this.o.node, lease);
    // A put of the whole value, guarded: applying it twice is harmless, an unknown outcome is read back next round.
    const write = async (modRevision: number): Promise<boolean> => {
      const r = await c.txn(modRevision === 0 ? [cmpUnchanged(this.key, 0)] : [onLease, cmpUnchanged(this.key, modRevision)], [value]);
      if (r.succeeded) this.lastRev = r.revision;
      return r.succeeded;
    };
    let ok = (this.lastRev !== 0 && (await write(this.lastRev))) || (await write(0));
    let holder: Kv | undefined;
    if (!ok) {
      holder = (await c.get(this.key)).kvs[0];
      if (holder?.lease === lease) {
        const other = writerOf(holder.value);
        let gone: "gone" | "live" | "wait" = "gone";
        if (other.instance !== this.instance) {
          if (this.adopt === null) return this.leaveSharedLease(lease, other.instance, "another instance took over this node's key on this node's lease");
          if (this.adopt === "when-quiet") gone = this.previousRunGone(holder.modRevision);
          if (gone === "live") return this.leaveSharedLease(lease, other.instance, "another instance keeps writing this node's key on the lease saved in its state dir");
        }
        // Our own write whose answer was lost, or the previous run's key (gone quiet): written over.
        // Not yet (still watching it), or written meanwhile: not joined, read again next round.
        ok = gone !== "wait" && (await write(holder.modRevision));
        if (!ok) {
          this.owned = false;
          return;
        }
        if (other.instance !== this.instance) log.info("fleet node key adopted: it was on this node's lease from before this run, written by its previous run (or the image before a re-exec)", { key: this.key, lease, previous_instance: other.instance ?? "none", instance: this.instance });
      }
    }
    if (!ok && !this.conflict) log.error("fleet node id already in use: another lease holds this node's key (a second node with the same fleet.node_id, or this node's previous run until its lease expires); not joining until it is gone", { key: this.key, holder_lease: holder?.lease ?? "none", lease });
    if (ok && this.conflict) log.info("fleet node key free again: joined", { key: this.key });
    if (ok) this.adopt = this.watching = null;
    this.conflict = !ok;
    this.owned = ok;
    if (ok) for (const w of [...this.joinWaiters]) w();
  }

  /**
   * Is the other writer of our key on the saved lease gone? `gone` once its revision stayed unchanged
   * for 1.5 refresh periods while watched (this machine's monotonic clock), `live` when it wrote again
   * meanwhile (a live instance refreshes every period), else `wait`. Never by the value's wall-clock
   * time: another machine's clock, behind this one's (an appliance booted before its clock was set),
   * made a live node's fresh value look stale, and the clone took its key at once. A crash that just
   * happened costs that wait; a clone running on is told apart without either counting twice.
   */
  private previousRunGone(modRevision: number): "gone" | "live" | "wait" {
    const quietMs = this.o.ttlS * 500;
    if (this.watching && this.watching.modRevision !== modRevision) return "live";
    if (this.watching === null) {
      this.watching = { modRevision, at: performance.now() };
      log.info("fleet node key on the saved lease written by another instance moments ago (this node's previous run, or a clone of its state dir): adopted once it stays unrefreshed", { key: this.key, quiet_ms: quietMs });
    }
    return performance.now() - this.watching.at >= quietMs ? "gone" : "wait";
  }

  /**
   * Another live instance writes our key on our lease (two machines booted from one cloned state
   * dir, the same node id: both found the saved lease). This one stops being a member at once and
   * drops the lease without revoking it (the other's now): the run loop grants a fresh one, on which
   * the key is another lease's (`id in use`) until the other has gone. Its etcd-side fences (acks,
   * elections) go by the node key's lease, so they exclude it from here on.
   */
  private async leaveSharedLease(lease: LeaseId, other: string | null, why: string): Promise<void> {
    log.error(`fleet lease shared with another running instance: ${why} (two machines booted from one cloned state dir, with the same node id); leaving the lease to it, not joining while it holds the key`, { key: this.key, lease, other_instance: other ?? "none", instance: this.instance });
    this.conflict = true;
    this.owned = false;
    this.leaseId = null;
    this.validUntil = 0;
    this.lastRev = 0;
    this.adopt = this.watching = null;
    await this.keepLeaseId(null);
  }

  /** Saves the lease id for a run after a crash (null: removes it). */
  private async keepLeaseId(id: LeaseId | null): Promise<void> {
    if (this.o.leaseFile) await keepLeaseFile(this.o.leaseFile, id, leaseOwner(this.o.fleet, this.o.node));
  }

  /**
   * Does this node's key carry its value on its lease? Only once a publish has found it so: false
   * before the first one (a lease just granted or adopted) and while another node with the same id
   * holds the key.
   */
  get joined(): boolean {
    return this.owned && this.leaseId !== null;
  }

  /**
   * Resolves once the node is a member with its lease surely alive (at once if it is now, else at the
   * next publish that finds its key on its lease), or when `signal` aborts. No polling: publish wakes it.
   */
  whenJoined(signal: AbortSignal): Promise<void> {
    if (this.leaseAlive() || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.joinWaiters.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.joinWaiters.add(done);
      signal.addEventListener("abort", done);
    });
  }

  /**
   * A write fenced on this node's key (its lease) found the key not on the lease: not joined from now
   * until the next publish finds it so, which runs at once (no waiting out the period).
   */
  lostKey(): void {
    this.owned = false;
    this.wake?.();
  }

  /** Asks the loop to stop without waiting (the caller then aborts the client's calls in flight). */
  halt(): void {
    this.stopped = true;
    this.wake?.();
  }

  /** Stops the loop (the lease is left alone: a re-exec hands it over). */
  async pause(): Promise<LeaseId | null> {
    this.halt();
    await this.loop;
    return this.leaseId;
  }

  /**
   * A rollout's reboot or power-off (after pause): the lease stays, the slot held on it, and is
   * renewed every third of its TTL until the process ends (reboot(2)). The loop stopped at the start
   * of the shutdown, so the TTL ran from the last keepalive through the services' stop, the final
   * checkpoint and the reboot: with TTL 15 s the slot was free ~10 s into a shutdown, and a second
   * node went down with --max-unavailable 1.
   */
  renewUntilEnd(): void {
    const lease = this.leaseId;
    if (lease === null) return;
    const renew = () => void this.o.client.keepalive(lease, 2000).catch(() => {});
    renew();
    setInterval(renew, (this.o.ttlS * 1000) / 3).unref?.();
  }

  /** Shutdown: stops the loop and revokes the lease (the node's key goes at once), under a deadline. */
  async stop(timeoutMs = 2000): Promise<void> {
    const lease = await this.pause();
    if (lease === null) return;
    try {
      await this.o.client.revoke(lease, timeoutMs);
      log.info("fleet lease revoked", { lease: lease });
      await this.keepLeaseId(null);
    } catch (e) {
      log.warn("fleet lease not revoked (it expires by itself)", { error: String(e).slice(0, 200) });
    }
    this.leaseId = null;
    this.owned = false;
    this.lastRev = 0;
  }
}
