// The interrupts' state across a live re-exec: which are raised, since when, their handlers' last action, their counts.
import type { InterruptDispatcher } from "./interrupt-dispatch.ts";
import type { InterruptBank } from "./interrupts.ts";

/** One interrupt's state: ages, not times (the next image's clock starts again). */
export interface InterruptCarry {
  name: string;
  /** Raised when the beat froze: for how long (null: not raised). */
  raisedAgoMs: number | null;
  /** Its handler's last action while raised: how long ago (null: none). */
  actedAgoMs: number | null;
  /** Times it was raised. */
  raised: number;
  /** Raised, and its action found no target yet (tried again each beat): the next image goes on trying. */
  awaitingTarget?: boolean;
}

/** What the next image needs (read after the heartbeat stopped). */
export function carryInterrupts(bank: InterruptBank, d: InterruptDispatcher, nowMs: number): InterruptCarry[] {
  return bank.names.map((name, i) => {
    const on = bank.active[i] === 1;
    const carry: InterruptCarry = { name, raisedAgoMs: on ? nowMs - bank.raisedAt[i]! : null, actedAgoMs: on ? d.actedAgoMs(name, nowMs) : null, raised: bank.counts[i]! };
    if (on && d.isAwaitingTarget(name)) carry.awaitingTarget = true;
    return carry;
  });
}

/**
 * Takes over a previous image's state, matched by name: an interrupt still raised is not raised
 * again, so its action (a restart, say) was taken once more per re-exec and now is not; its repeat_ms
 * counts on from its last action, and one whose action still waits for a target is tried again each
 * beat, as before the re-exec. A throttle ended with the previous image (its worker is gone,
 * the service was resumed): that interrupt starts cleared, so it is raised, and throttles, again.
 */
export function restoreInterrupts(bank: InterruptBank, d: InterruptDispatcher, carried: readonly InterruptCarry[], nowMs: number): void {
  for (const c of carried) {
    const i = bank.names.indexOf(c.name);
    if (i < 0) continue;
    bank.counts[i] = c.raised;
    if (c.raisedAgoMs === null || d.handler(c.name).action === "throttle") continue;
    bank.active[i] = 1;
    bank.raisedAt[i] = nowMs - c.raisedAgoMs;
    if (c.actedAgoMs !== null) d.restoreActed(c.name, c.actedAgoMs, nowMs);
    // Its action found no target before the re-exec: the new image went on without it for good.
    if (c.awaitingTarget === true) d.restoreAwaitingTarget(c.name);
  }
}
