// Fleet membership: this node's key under a lease, refreshed every TTL/3 by an async loop that never blocks PID 1.
import { existsSync, rmSync } from "node:fs";
import { writeFileAtomicAsync } from "../journal/fs-durable.ts";
import { logger } from "../log.ts";
import { readRegularFile } from "../util/regular-file.ts";
import { b64, cmpCreate, opPut, type EtcdClient, type LeaseId } from "./etcd-client.ts";
import { nodeKey, type NodeSummary } from "./keys.ts";

const log = logger("fleet");

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 5000;

export interface MembershipOptions {
  client: EtcdClient;
  fleet: string;
  node: string;
  ttlS: number;
  summary: () => Omit<NodeSummary, "node" | "updated_at" | "lease_ttl_s">;
  /** A lease adopted from the previous image at a re-exec (kept alive, not granted again). */
  leaseId?: LeaseId | null;
  /**
   * Where the lease id is kept (the state dir): a run after a crash adopts its previous run's lease
   * while it lives, so it owns its node key at once (else it waited up to the TTL, "id in use").
   */
  leaseFile?: string;
}

const leaseIdPattern = /^[1-9][0-9]{0,19}$/;

/** The lease id kept in `file`, or null (missing, unreadable, not a lease id): never throws, never blocks. */
function readLeaseFile(file: string): LeaseId | null {
  try {
    const text = readRegularFile(file).toString("utf8").trim();
    return leaseIdPattern.test(text) ? text : null;
  } catch {
    return null;
  }
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

  constructor(private readonly o: MembershipOptions) {
    this.leaseId = o.leaseId ?? (o.leaseFile && existsSync(o.leaseFile) ? readLeaseFile(o.leaseFile) : null);
    this.key = nodeKey(o.fleet, o.node);
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
          await this.sleep(BACKOFF_MIN_MS);
          continue;
        }
        this.validUntil = sent + ttl * 1000;
        if (this.stopped) break;
        // A put of the whole value: applying it twice is harmless, so an unknown outcome is just retried next round.
        await this.publish(this.leaseId);
        if (this.failures > 0) log.info("fleet: etcd reachable again", { after_failures: this.failures });
        this.failures = 0;
        backoff = BACKOFF_MIN_MS;
        await this.sleep(period);
      } catch (e) {
        if (this.stopped) break;
        if (this.failures++ === 0 || this.failures % 10 === 0) log.warn("fleet: etcd call failed, retrying with back-off", { error: String(e).slice(0, 300), failures: this.failures, backoff_ms: backoff });
        await this.sleep(backoff);
        backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
      }
    }
  }

  /**
   * Writes the node's value only onto its own key: kept on our lease, or created when absent. Another
   * node with the same node_id (the key on a lease not ours) overwrote it; now this one logs the
   * conflict, is not joined (no singleton, no rollout) and tries again next round.
   */
  private async publish(lease: LeaseId): Promise<void> {
    const c = this.o.client;
    const value = opPut(this.key, JSON.stringify({ ...this.o.summary(), node: this.o.node, updated_at: Date.now(), lease_ttl_s: this.o.ttlS }), lease);
    const cmpMine = { key: b64(this.key), target: "LEASE", result: "EQUAL", lease };
    let ok = (await c.txn([cmpMine], [value])).succeeded || (await c.txn([cmpCreate(this.key, 0)], [value])).succeeded;
    if (!ok) {
      // Between the two: our own key may have been created by the first attempt's lost answer.
      const kv = (await c.get(this.key)).kvs[0];
      ok = kv?.lease === lease;
      if (!ok && !this.conflict) log.error("fleet node id already in use: another lease holds this node's key (a second node with the same fleet.node_id, or this node's previous run until its lease expires); not joining until it is gone", { key: this.key, holder_lease: kv?.lease ?? "none", lease });
    }
    if (ok && this.conflict) log.info("fleet node key free again: joined", { key: this.key });
    this.conflict = !ok;
    this.owned = ok;
    if (ok) for (const w of [...this.joinWaiters]) w();
  }

  /** Saves the lease id for a run after a crash; a failure only costs that run a wait (logged). */
  private async keepLeaseId(id: LeaseId | null): Promise<void> {
    const f = this.o.leaseFile;
    if (!f) return;
    try {
      if (id === null) rmSync(f, { force: true });
      else await writeFileAtomicAsync(f, [new TextEncoder().encode(`${id}\n`)]);
    } catch (e) {
      log.warn("fleet lease id not kept in the state dir", { file: f, error: String(e).slice(0, 200) });
    }
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
  }
}
