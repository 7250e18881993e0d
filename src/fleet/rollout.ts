// Rolling operations: a FleetLock-style semaphore in one etcd key (compare-and-swap), holders tied to their node's lease.
import { z } from "zod";
import { FleetError, FleetRefusedError } from "../errors.ts";
import { b64, cmpPrefixUnchangedSince, cmpUnchanged, opDelete, opDeletePrefix, opPut, parseKvJson, type Compare, type EtcdClient, type Kv, type LeaseId } from "./etcd-client.ts";
import { retryUntil } from "./retry.ts";
import { issuesText } from "../util/issues-text.ts";
import { fleetPrefix, keyOnLease, onOwnLease, readMembers } from "./keys.ts";

export const rolloutActions = ["reexec", "reboot", "poweroff"] as const;
export type RolloutAction = (typeof rolloutActions)[number];

export const rolloutsPrefix = (fleet: string): string => `${fleetPrefix(fleet)}rollouts/`;
export const rolloutKey = (fleet: string, id: string): string => `${rolloutsPrefix(fleet)}${id}`;
export const semKey = (fleet: string, id: string): string => `${fleetPrefix(fleet)}rollout-sem/${id}`;
export const doneKey = (fleet: string, id: string, node: string): string => `${fleetPrefix(fleet)}rollout-done/${id}/${node}`;

/**
 * `stopped`: set by `fleet rollout` when a node's action failed; no node starts on it any more.
 * `finished`: recorded once when every listed node was seen done or gone (`gone`: not members then)
 * with no live slot holder; a fact from then on (a gone node that rejoins finds it finished).
 * The rollout's, the semaphore's and the done marks' schemas keep fields they do not know (a newer
 * image's), written back as they were: strict, a newer image's rollout read as unparseable, counted
 * as not in progress (`fleet gc` deleted it), and its semaphore as no holders (a slot taken past K).
 */
export const rolloutSchema = z
  .object({
    action: z.enum(rolloutActions),
    max_unavailable: z.number().int().min(1),
    nodes: z.array(z.string()),
    created_at: z.number(),
    stopped: z.object({ node: z.string(), reason: z.string() }).passthrough().optional(),
    finished: z.object({ at: z.number(), gone: z.array(z.string()) }).passthrough().optional(),
  })
  .passthrough();
export type Rollout = z.infer<typeof rolloutSchema>;

const holderSchema = z.object({ node: z.string(), lease: z.string(), generation: z.number().int() }).passthrough();
export type Holder = z.infer<typeof holderSchema>;
export const semSchema = z.object({ holders: z.array(holderSchema) }).passthrough();

/**
 * The semaphore's holders and the revision to compare against (0: the key does not exist yet).
 * `unreadable`: the value is not a semaphore (not JSON, a required field missing): its holders are
 * unknown, so no slot is free (takeSlot) and the rollout counts as in progress (rolloutState).
 */
export async function readSem(c: EtcdClient, fleet: string, id: string): Promise<{ holders: Holder[]; modRevision: number; unreadable: boolean }> {
  const kv = (await c.get(semKey(fleet, id))).kvs[0];
  if (!kv) return { holders: [], modRevision: 0, unreadable: false };
  const r = parseKvJson(kv.value, semSchema);
  return { holders: r.success ? r.data.holders : [], modRevision: kv.modRevision, unreadable: !r.success };
}

/** Holders whose lease still backs their node's key (a dead holder's lease expired: its slot is free). */
async function liveHolders(c: EtcdClient, fleet: string, holders: Holder[]): Promise<Holder[]> {
  const nodes = await readMembers(c, fleet);
  return holders.filter((h) => nodes.get(h.node) === h.lease);
}

/** Writes `holders` if the key is still at `modRevision` (create when 0) and `guards` hold. False: someone else changed it first. */
async function cas(c: EtcdClient, fleet: string, id: string, modRevision: number, holders: Holder[], guards: Compare[] = []): Promise<boolean> {
  const key = semKey(fleet, id);
  const compare = cmpUnchanged(key, modRevision);
  const r = await c.txn([compare, ...guards], [{ request_put: { key: b64(key), value: b64(JSON.stringify({ holders })) } }]);
  return r.succeeded;
}

/** What a node's fenced write found: done, or this node is no member (its key not on its lease). */
export type Fenced = "ok" | "not-member";

/**
 * Takes a slot for `node` when fewer than `max` live holders hold one (dead holders are dropped in
 * the same swap). Resolves to "taken" when `node` holds a slot now (also when it already did).
 * `rolloutRevision`: the rollout key's mod revision as the caller read it; the swap requires it
 * unchanged. A rollout `fleet gc` removed after that read (a finished one: no done mark, no semaphore
 * left to see) otherwise had its semaphore created again, and the node acted a second time.
 * Fenced: the swap also requires `nodes/<node>` on `me.lease`. A node whose lease lapsed (frozen past
 * the TTL, cut off from etcd) and that went on from a read made before took a slot on its dead
 * lease: a holder every other node counts as dead, so the next node took the slot too and two were
 * down with K = 1.
 */
export async function takeSlot(c: EtcdClient, fleet: string, id: string, max: number, me: Holder, rolloutRevision: number): Promise<"taken" | "full" | "not-member"> {
  const s = await readSem(c, fleet, id);
  // Held already (an earlier round's answer lost): under the same guards as a take, checked by a
  // transaction that writes nothing. A rollout stopped or removed after the caller's read let a node
  // that held its slot act on it.
  if (s.holders.some((h) => h.node === me.node && h.lease === me.lease)) {
    if ((await c.txn([cmpUnchanged(rolloutKey(fleet, id), rolloutRevision), onOwnLease(fleet, me.node, me.lease)], [])).succeeded) return "taken";
    return (await keyOnLease(c, fleet, me.node, me.lease)) ? "full" : "not-member";
  }
  // Its holders unknown: full (counted as none, the swap replaced them with this node: K + 1 down).
  if (s.unreadable) return "full";
  const live = await liveHolders(c, fleet, s.holders);
  if (live.length >= max) return "full";
  if (await cas(c, fleet, id, s.modRevision, [...live, me], [cmpUnchanged(rolloutKey(fleet, id), rolloutRevision), onOwnLease(fleet, me.node, me.lease)])) return "taken";
  return (await keyOnLease(c, fleet, me.node, me.lease)) ? "full" : "not-member";
}

/** A node's outcome under rollout-done/<id>/<node> (a value without `outcome` is from before outcomes: ok). */
export const doneSchema = z.object({ node: z.string(), at: z.number(), outcome: z.enum(["ok", "failed"]).optional(), reason: z.string().optional() }).passthrough();
export type Outcome = { outcome: "ok" } | { outcome: "failed"; reason: string };

/**
 * Records `node`'s outcome (create-only). Done: gives its slot back. Failed: keeps the slot, so the
 * next node is not taken down while `fleet rollout` stops the rollout (`fleet gc` removes it).
 * Through createOnly: a frozen member the client is at (the first endpoint, after a re-exec) is left
 * for the next within the call; a plain txn failed there after its whole deadline (outcome unknown).
 * A mark already there (an earlier attempt whose answer was lost) is this node's: it stands.
 * Fenced on `nodes/<node>` being on `lease` (the mark and the release): a node whose lease lapsed
 * while another instance with its id took its key (a replacement, a restart elsewhere) marked that
 * instance done and dropped its slot while it was still acting. "not-member": nothing was written.
 */
export async function finish(c: EtcdClient, fleet: string, id: string, node: string, lease: LeaseId, o: Outcome = { outcome: "ok" }): Promise<Fenced> {
  const created = await c.createOnly(doneKey(fleet, id, node), JSON.stringify({ node, at: Date.now(), ...o }), undefined, [onOwnLease(fleet, node, lease)]);
  if (!created.succeeded && !(await keyOnLease(c, fleet, node, lease))) return "not-member";
  if (o.outcome === "failed") return "ok";
  return releaseSlot(c, fleet, id, node, lease);
}

/**
 * Drops `node` from the rollout's holders (compare-and-swap, repeated until it is no holder), fenced
 * like finish: while `nodes/<node>` is on `lease`, any holder under the name is this node's (a
 * previous lease's is dead).
 */
export async function releaseSlot(c: EtcdClient, fleet: string, id: string, node: string, lease: LeaseId): Promise<Fenced> {
  for (;;) {
    const s = await readSem(c, fleet, id);
    if (!s.holders.some((h) => h.node === node)) return "ok";
    if (await cas(c, fleet, id, s.modRevision, s.holders.filter((h) => h.node !== node), [onOwnLease(fleet, node, lease)])) return "ok";
    if (!(await keyOnLease(c, fleet, node, lease))) return "not-member";
  }
}

/**
 * Deletes finished rollouts (every listed node done or no longer a member, no live holder; or stopped
 * after a failure, whose failed node still holds its slot, with no other node still acting): the
 * rollout, its semaphore and its done marks, in one transaction guarded by the semaphore's
 * revision (a slot taken meanwhile keeps it). Resolves to the ids removed.
 */
export async function gcRollouts(c: EtcdClient, fleet: string): Promise<string[]> {
  const removed: string[] = [];
  for (const p of (await rolloutStates(c, fleet)).states) {
    if (p.inProgress) continue;
    const donePrefix = `${fleetPrefix(fleet)}rollout-done/${p.id}/`;
    const t = await c.txn([cmpUnchanged(semKey(fleet, p.id), p.semRevision)], [opDelete(rolloutKey(fleet, p.id)), opDelete(semKey(fleet, p.id)), opDeletePrefix(donePrefix)]);
    if (t.succeeded) removed.push(p.id);
  }
  return removed;
}

/**
 * A rollout in etcd: in progress unless finished (every listed node done or gone, no live slot holder)
 * or stopped with no node still acting. `unreadable`: its key or its semaphore holds a value that is
 * not one (why): in progress, so it is neither deleted nor passed over (an operator deletes it).
 */
export interface RolloutState {
  id: string;
  inProgress: boolean;
  unreadable?: string;
  nodes: number;
  done: number;
  /** The semaphore's mod revision (0: none), to guard a deletion. */
  semRevision: number;
}

/** The fleet's rollouts and the revision the rollouts/ keys were read at (a guard for creating the next one). */
export async function rolloutStates(c: EtcdClient, fleet: string): Promise<{ states: RolloutState[]; revision: number }> {
  const states: RolloutState[] = [];
  const { kvs, revision } = await c.get(rolloutsPrefix(fleet), { prefix: true });
  // A finish recorded here changes rollouts/ after `revision`: a create guarded by it fails once and checks again.
  for (const kv of kvs) states.push(await rolloutState(c, fleet, kv));
  return { states, revision };
}

/**
 * One rollout's state. In progress unless finished: a listed member not done, or a live slot holder;
 * once stopped, only a live holder with no done mark (a node that took its slot before the stop and is
 * still acting). Seen finished for the first time, the finish is recorded in its key,
 * compare-and-swap on the rollout and its semaphore as read (a slot taken since: still in progress).
 * It was recomputed from live membership on every read, so a node gone at the end that rejoined made
 * a rollout `fleet rollout` had reported finished in progress again: the next rollout was refused,
 * and the returning node took a slot and acted on its own, outside any rollout anyone watched.
 */
async function rolloutState(c: EtcdClient, fleet: string, kv: Kv): Promise<RolloutState> {
  const id = kv.key.slice(rolloutsPrefix(fleet).length);
  const r = parseKvJson(kv.value, rolloutSchema);
  const donePrefix = `${fleetPrefix(fleet)}rollout-done/${id}/`;
  const done = new Set((await c.get(donePrefix, { prefix: true })).kvs.map((d) => d.key.slice(donePrefix.length)));
  const sem = await readSem(c, fleet, id);
  const state = { id, inProgress: false, nodes: r.success ? r.data.nodes.length : 0, done: done.size, semRevision: sem.modRevision };
  // Fail closed: a rollout that cannot be read counted as not in progress (`fleet gc` deleted it, the
  // next rollout started beside it), a semaphore that cannot be read as no holders (finished).
  if (!r.success) return { ...state, inProgress: true, unreadable: `${kv.key} is not a rollout (${issuesText(r.error.issues, "value").slice(0, 200)})` };
  if (r.data.finished) return state;
  if (sem.unreadable) return { ...state, inProgress: true, unreadable: `${semKey(fleet, id)} is not a semaphore` };
  // Members after the semaphore: a node that joined and took a slot before the semaphore read is a member here.
  const members = await readMembers(c, fleet);
  const live = sem.holders.filter((h) => members.get(h.node) === h.lease);
  // Stopped: over once no node that took its slot is still acting (a live holder with no done mark;
  // the failed node keeps its slot, marked). It was over at once: `fleet gc` removed it, semaphore and
  // all, and the next rollout took a node down while one that took its slot before the stop rebooted.
  if (r.data.stopped) return { ...state, inProgress: live.some((h) => !done.has(h.node)) };
  if (live.length > 0 || r.data.nodes.some((n) => members.has(n) && !done.has(n))) return { ...state, inProgress: true };
  const finished: Rollout = { ...r.data, finished: { at: Date.now(), gone: r.data.nodes.filter((n) => !done.has(n)) } };
  // Not recorded (the rollout or its semaphore changed since the read: a slot taken, a stop; or
  // etcd's answer was lost): not known finished, so still in progress for this read.
  const recorded = await c
    .txn([cmpUnchanged(kv.key, kv.modRevision), cmpUnchanged(semKey(fleet, id), sem.modRevision)], [opPut(kv.key, JSON.stringify(finished))])
    .then((t) => t.succeeded)
    .catch(() => false);
  return { ...state, inProgress: !recorded };
}

/**
 * Sets `stop` in rollout `id`, compare-and-swap on the key as read (a conflict: read again). Nothing
 * to do when it is gone or already stopped or finished: that record stands. `fence`: the swap also
 * requires `nodes/<stop.node>` on that lease ("not-member" when it was not). Resolves to the rollout
 * as stored (null: gone); throws when it kept changing under the swap.
 */
async function setStopped(c: EtcdClient, fleet: string, id: string, stop: { node: string; reason: string }, fence?: LeaseId): Promise<Rollout | null | "not-member"> {
  const key = rolloutKey(fleet, id);
  for (let attempt = 0; attempt < 5; attempt++) {
    const kv = (await c.get(key)).kvs[0];
    const r = kv ? parseKvJson(kv.value, rolloutSchema) : null;
    if (!kv || !r?.success) return null;
    if (r.data.stopped || r.data.finished) return r.data;
    const stopped: Rollout = { ...r.data, stopped: stop };
    const t = await c.txn([cmpUnchanged(key, kv.modRevision), ...(fence === undefined ? [] : [onOwnLease(fleet, stop.node, fence)])], [opPut(key, JSON.stringify(stopped))]);
    if (t.succeeded) return stopped;
    if (fence !== undefined && !(await keyOnLease(c, fleet, stop.node, fence))) return "not-member";
  }
  throw new FleetError(`rollout ${id}: not stopped, its key kept changing under the compare-and-swap`);
}

/**
 * Marks rollout `id` stopped by a node's failure (setStopped). The node that failed writes it: when
 * only `fleet rollout` wrote it, a failure after the command stopped watching (its --timeout-s, a
 * closed terminal) was never marked, and the other nodes went on taking the free slots. Fenced on
 * `nodes/<node>` being on `lease`, like finish.
 */
export async function markStopped(c: EtcdClient, fleet: string, id: string, lease: LeaseId, stop: { node: string; reason: string }): Promise<Fenced> {
  return (await setStopped(c, fleet, id, stop, lease)) === "not-member" ? "not-member" : "ok";
}

/**
 * `fleet rollout`'s stop after a node's failure (setStopped, unfenced); resolves to the rollout as
 * stored (null: gone). It was a plain put of the command's own copy: it replaced the stop a node had
 * recorded (another node's, another reason) or the `finished` record, and after `fleet gc` removed
 * the rollout it created the key again, without its semaphore.
 */
export async function stopRollout(c: EtcdClient, fleet: string, id: string, stop: { node: string; reason: string }): Promise<Rollout | null> {
  const r = await setStopped(c, fleet, id, stop);
  return r === "not-member" ? null : r;
}

/**
 * Creates rollout `id` (create-only), retrying the same write until it lands or `deadline` passes:
 * a write whose answer was lost (etcd timed out, a leader election) may have landed, and the
 * command exited 71 while the rollout ran without it; run again, it started a second rollout with
 * its own slots. Our own value found under the key is our write. `checkedAt`: the revision the
 * one-at-a-time check read rollouts/ at; the create also requires that no rollout was created or
 * changed since (one transaction). Resolves to false when one was: the caller checks again.
 */
async function createRollout(c: EtcdClient, fleet: string, id: string, r: Rollout, deadline: number, checkedAt: number, onRetry?: (e: unknown) => void): Promise<boolean> {
  const key = rolloutKey(fleet, id);
  const value = JSON.stringify(r);
  const guards = [cmpPrefixUnchangedSince(rolloutsPrefix(fleet), checkedAt)];
  // The one answer that retrying cannot change. Every EtcdClient error is a FleetError too: a create
  // that etcd did not take within one call's timeout (a leader election) was never retried.
  let conflict: FleetError | null = null;
  return retryUntil(
    deadline,
    async () => {
      const t = await c.createOnly(key, value, undefined, guards);
      if (t.succeeded) return true;
      const kv = (await c.get(key)).kvs[0];
      if (kv === undefined) return false;
      if (kv.value !== value) throw (conflict = new FleetError(`rollout ${id} already exists with other content`));
      return true;
    },
    onRetry,
    // A refusal for good (permission denied, a request too large) is not retried either: it was, for 30 s.
    (e) => e === conflict || e instanceof FleetRefusedError,
  );
}

/**
 * Starts rollout `id` unless another is in progress (then resolves to that one, nothing created): the
 * check and the create are one transaction (createRollout's `checkedAt`), so two operators starting
 * one at the same moment cannot both pass the check and each take their own slots (2K nodes down).
 * A rollout created or changed between the check and the create sends it back to the check.
 */
export async function startRollout(c: EtcdClient, fleet: string, id: string, r: Rollout, deadline: number, onRetry?: (e: unknown) => void): Promise<{ busy: RolloutState | null }> {
  // Back-off between rounds (100 ms doubling to 2 s): a conflict came round again at once, reads and a
  // transaction in a tight loop for as long as the rollouts kept changing.
  for (let backoff = 100; ; backoff = Math.min(2000, backoff * 2)) {
    const { states, revision } = await rolloutStates(c, fleet);
    const busy = states.find((s) => s.inProgress);
    if (busy) return { busy };
    if (await createRollout(c, fleet, id, r, deadline, revision, onRetry)) return { busy: null };
    if (Date.now() + backoff > deadline) throw new FleetError(`rollout ${id} not created: the fleet's rollouts kept changing until the deadline`);
    await Bun.sleep(backoff);
  }
}
