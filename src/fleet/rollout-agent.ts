// The node's side of rolling operations: take a slot, act (re-exec, reboot, power off), finish after the first beat back.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NotNowError } from "../errors.ts";
import { logger } from "../log.ts";
import { parseKvJson, type EtcdClient } from "./etcd-client.ts";
import { mutationIdPattern } from "./keys.ts";
import type { Membership } from "./membership.ts";
import { doneKey, doneSchema, finish, markStopped, readSem, releaseSlot, rolloutSchema, rolloutsPrefix, takeSlot, type RolloutAction } from "./rollout.ts";

const log = logger("fleet");

/** A node acts on a slot only while its lease surely lives this much longer (the slot is then surely counted held as it goes down). */
export const ACT_MARGIN_MS = 1000;

export interface AgentOptions {
  client: EtcdClient;
  membership: Membership;
  fleet: string;
  node: string;
  generation: number;
  /** The marker of an action taken lives here (survives a re-exec and a reboot). */
  stateDir: string;
  /** True once this image has beaten at least once. */
  beating(): boolean;
  act(action: RolloutAction): Promise<void>;
}

/** Polls the fleet's rollouts every second (one at a time); never blocks local duties. */
export class RolloutAgent {
  private timer: ReturnType<typeof setInterval> | null = null;
  private busy = false;
  private acting = false;
  private readonly refused = new Set<string>();
  /** Rollouts whose action was refused for now here (logged once each). */
  private readonly deferred = new Set<string>();

  constructor(private readonly o: AgentOptions) {}

  start(): void {
    this.timer ??= setInterval(() => void this.round(), 1000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * A fenced write found this node's key not on its lease (it lapsed; another instance with this id
   * may hold the key): nothing written, the marker kept; the membership loop looks again at once, and
   * the node goes on once it is a member again.
   */
  private notMember(id: string): void {
    log.warn("rollout: this node's key is not on its lease any more (the lease lapsed; another node with this id may hold the key): not acting or recording until it is a member again", { rollout: id, node: this.o.node });
    this.o.membership.lostKey();
  }

  private marker = (id: string) => join(this.o.stateDir, `fleet-rollout-${id}.acted`);

  private async round(): Promise<void> {
    const lease = this.o.membership.leaseId;
    // Surely a member (its lease alive by the local clock): after a freeze past the TTL `joined` still
    // said so until the membership loop ran. The writes are fenced in etcd besides (the lease may lapse
    // during the round).
    if (this.busy || this.acting || lease === null || !this.o.membership.leaseAlive()) return;
    this.busy = true;
    const c = this.o.client;
    try {
      const prefix = rolloutsPrefix(this.o.fleet);
      for (const kv of (await c.get(prefix, { prefix: true })).kvs) {
        const id = kv.key.slice(prefix.length);
        if (!mutationIdPattern.test(id)) {
          // A hand-written key: its id names the marker file (`../../x` would reach outside the state dir).
          if (!this.refused.has(kv.key)) log.warn("rollout refused: its key's id is not a rollout id (1-128 letters, digits, '_', '.', '-')", { key: kv.key });
          this.refused.add(kv.key);
          continue;
        }
        const r = parseKvJson(kv.value, rolloutSchema);
        if (!r.success || !r.data.nodes.includes(this.o.node)) continue;
        const done = (await c.get(doneKey(this.o.fleet, id, this.o.node))).kvs[0];
        if (done) {
          // Recorded, but the slot may still be ours: finish's release was cut short (etcd failed
          // after the done key landed), and the slot was held for as long as this node lived.
          const d = parseKvJson(done.value, doneSchema);
          if (d.success && d.data.outcome === "failed") {
            // Recorded failed, but the stop may not be: etcd failed (or the node restarted) between the
            // two writes, and the marker was removed here without it, so no node ever stopped the
            // rollout and the others went on taking the free slots (K > 1).
            if (!r.data.stopped && !r.data.finished) {
              const stop = { node: this.o.node, reason: d.data.reason ?? "no reason given" };
              if ((await markStopped(c, this.o.fleet, id, lease, stop)) === "not-member") return this.notMember(id);
              log.error("rollout: failure recorded earlier, rollout now stopped", { rollout: id });
            }
          } else if ((await readSem(c, this.o.fleet, id)).holders.some((h) => h.node === this.o.node)) {
            if ((await releaseSlot(c, this.o.fleet, id, this.o.node, lease)) === "not-member") return this.notMember(id);
            log.info("rollout: done, slot released", { rollout: id });
          }
          rmSync(this.marker(id), { force: true });
          continue;
        }
        if (existsSync(this.marker(id))) {
          const failed = /^failed (.*)$/s.exec(readFileSync(this.marker(id), "utf8"));
          if (failed) {
            // The action failed (a refused re-exec): recorded as failed, the slot kept, so the rollout stops here.
            if ((await finish(c, this.o.fleet, id, this.o.node, lease, { outcome: "failed", reason: failed[1]!.trim() })) === "not-member") return this.notMember(id);
            if ((await markStopped(c, this.o.fleet, id, lease, { node: this.o.node, reason: failed[1]!.trim() })) === "not-member") return this.notMember(id);
            rmSync(this.marker(id), { force: true });
            log.error("rollout: failure recorded; the slot stays held so no other node is taken down", { rollout: id });
            return;
          }
          // Acted already (this is the image, or the boot, after it): done once beating again.
          if (!this.o.beating()) return;
          if ((await finish(c, this.o.fleet, id, this.o.node, lease)) === "not-member") return this.notMember(id);
          rmSync(this.marker(id), { force: true });
          log.info("rollout: done, slot released", { rollout: id });
          continue;
        }
        if (r.data.stopped) {
          // Holding a slot without having acted (its action refused for now, to be tried again): no
          // node starts on it any more, so the slot goes back; held, it kept the rollout in progress.
          if ((await readSem(c, this.o.fleet, id)).holders.some((h) => h.node === this.o.node && h.lease === lease)) {
            if ((await releaseSlot(c, this.o.fleet, id, this.o.node, lease)) === "not-member") return this.notMember(id);
            log.info("rollout stopped before this node acted: slot released", { rollout: id });
          }
          continue;
        }
        if (r.data.finished) {
          // Recorded finished while this node was gone: it is over; acting now would be a re-exec or a reboot nobody watches.
          if (!this.refused.has(kv.key)) log.warn("rollout finished while this node was not a member: not acting on it", { rollout: id, action: r.data.action });
          this.refused.add(kv.key);
          continue;
        }
        // Also when it holds one already (a crash between the slot and the marker): the key is checked to be on the lease.
        const took = await takeSlot(c, this.o.fleet, id, r.data.max_unavailable, { node: this.o.node, lease, generation: this.o.generation }, kv.modRevision);
        if (took === "not-member") return this.notMember(id);
        if (took === "full") return;
        // The swap says the key was on `lease` when etcd applied it, not now: the round's calls each
        // have a 3 s deadline, and a round that began with the lease alive re-exec'd after it had run
        // out (keepalives failing, answers slow), on a slot every other node counts as free. Acting
        // only while the lease is surely alive for ACT_MARGIN_MS more (the local clock: last keepalive
        // sent + TTL): otherwise the slot stays as it is and a later round takes it again, on a live lease.
        if (this.o.membership.leaseId !== lease || !this.o.membership.leaseAlive(ACT_MARGIN_MS)) {
          log.warn("rollout: slot taken, but this node's lease may have lapsed before it could act (no keepalive answered for most of a TTL): not acting until it is surely a member", { rollout: id, node: this.o.node });
          return;
        }
        writeFileSync(this.marker(id), `${r.data.action}\n`);
        log.info("rollout: slot taken, acting", { rollout: id, action: r.data.action });
        this.acting = true;
        try {
          await this.o.act(r.data.action);
        } catch (e) {
          const reason = (e instanceof Error ? e.message : String(e)).slice(0, 300);
          if (e instanceof NotNowError) {
            // Not now (another re-exec under way, the machine shutting down): no failure. It stopped
            // the whole rollout, though the other re-exec may well succeed. Not acted: the marker goes,
            // the slot stays held (the node is about to be unavailable anyway) and the next round acts
            // again; a machine shutting down for good leaves the fleet (its lease revoked): gone.
            rmSync(this.marker(id), { force: true });
            if (!this.deferred.has(id)) log.warn("rollout: action refused for now; trying again next round, the slot kept", { rollout: id, error: reason });
            this.deferred.add(id);
            return;
          }
          // A refused re-exec: the running image carries on; the marker says so (recorded next round, also after a restart).
          writeFileSync(this.marker(id), `failed ${reason}\n`);
          log.error("rollout: action failed", { rollout: id, error: reason });
        } finally {
          this.acting = false;
        }
        return;
      }
    } catch (e) {
      log.debug("rollout round failed", { error: String(e).slice(0, 200) });
    } finally {
      this.busy = false;
    }
  }
}
