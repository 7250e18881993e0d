// The evolution channel consumer: sealed shared memory, per-session rings, bounded drain, completions after durability.
import { JournalError } from "../errors.ts";
import type { Journal } from "../journal/journal.ts";
import { logger } from "../log.ts";
import { Acceptance, type Outcome } from "./acceptance.ts";
import type { GateConfig } from "./ctrm-gate.ts";
import { ChannelRegion } from "./channel-region.ts";
import { type ChannelStats, newChannelStats } from "./channel-stats.ts";
import { C, CMP_SLOT_SIZE, type Geometry, SUB_SLOT_SIZE } from "./layout.ts";
import { Status, statusName } from "./reasons.ts";
import { adoptRings, type ChannelState, newRings, type Ring, ringsState } from "./ring-state.ts";
import { SafetyGate } from "./safety-gate.ts";
import { type Completion, decodeSubmission, encodeCompletion, type Mutation, type Submission } from "./slot-codec.ts";
import type { MutableWeights } from "./weights.ts";

const log = logger("evolution");

/** An accepted submission waiting for its drain's journal group commit. */
interface Taken {
  r: number;
  ring: Ring;
  generation: number;
  m: Submission;
  /** It holds a place in the safety gate (settled with its completion). */
  ticket: boolean;
}

/**
 * How long a published slot whose checksum fails is given to settle before it is answered as
 * BAD_CHECKSUM. The protocol does not rely on x86 store order: on a weakly ordered CPU a consumer may
 * see the new tail before the slot's bytes, so a bad checksum at the head is first retried (the next
 * drain: the doorbell or the beat), never consumed at once.
 */
export const SLOT_SETTLE_MS = 100;

export interface ChannelOptions {
  geometry: Geometry;
  gate: GateConfig;
  journal: Journal;
  weights: MutableWeights;
  /** Called (at most once per drain or commit) when completions were posted on `ring`. */
  notify?: (ring: number) => void;
  /** After a live re-exec: the inherited memfd and the rings' state (checked against the shared memory). */
  adopt?: ChannelState & { fd: number };
}

export class EvolutionChannel {
  readonly fd: number;
  readonly size: number;
  private readonly region: ChannelRegion;
  private rings: Ring[];
  private copy = new Uint8Array(SUB_SLOT_SIZE);
  private cmpBuf = new Uint8Array(CMP_SLOT_SIZE);
  private next = 0;
  private dirty = new Set<number>();
  private notifyQueued = false;
  private closed = false;
  private readonly acceptance: Acceptance;
  readonly stats: ChannelStats;
  /** A live re-exec is handing the channel over: nothing is taken. */
  private paused = false;
  /** What the current drain accepted: journaled together when it ends. */
  private taken: Taken[] = [];

  constructor(private readonly o: ChannelOptions) {
    const safety = new SafetyGate(o.weights);
    this.stats = newChannelStats(safety.stats);
    this.acceptance = new Acceptance({ journal: o.journal, weights: o.weights, gate: o.gate, safety, stats: this.stats });
    const g = o.geometry;
    if (g.rings < 1 || g.rings > 64 || g.slots < 2 || g.slots > 4096 || (g.slots & (g.slots - 1)) !== 0) {
      throw new JournalError(`bad channel geometry ${JSON.stringify(g)}`);
    }
    this.rings = newRings(g.rings);
    this.region = new ChannelRegion(g, o.adopt?.fd);
    this.fd = this.region.fd;
    this.size = this.region.size;
    if (!o.adopt) return;
    try {
      const mended = adoptRings(this.rings, o.adopt, (r, f) => this.region.load(r, f), (r, f, v) => this.region.store(r, f, v));
      if (mended.length > 0) log.warn("handed rings whose consumer words a producer had written: set back as the previous image counted them", { rings: mended.join(",") });
    } catch (e) {
      this.region.unmap();
      throw e;
    }
  }

  /**
   * Live re-exec: takes nothing more and waits until every submission taken has its completion
   * posted (journaled, applied, acknowledged). Then the next image owes nothing for the past.
   */
  async quiesce(): Promise<void> {
    this.paused = true;
    await this.acceptance.settled();
    this.flushNotify();
  }

  /** The rings as they are now (quiescent: nothing in flight), for the next image. */
  state(): ChannelState {
    return ringsState(this.rings);
  }

  /** The exec failed: take submissions again. */
  unpause(): void {
    this.paused = false;
  }

  /** Gives a free ring to a new producer session (counters reset, generation bumped); -1 when all are taken. */
  assignRing(): number {
    const r = this.rings.findIndex((x) => !x.active);
    if (r < 0 || this.closed) return -1;
    const ring = this.rings[r]!;
    Object.assign(ring, { active: true, generation: ring.generation + 1, head: 0, cmpTail: 0, expectedSeq: 0n, inflight: 0, unsettledSince: -1 });
    // The previous session's slots held submissions and completions with valid checksums, numbered
    // from 0 as the new session's are: a new producer whose tail was seen before its slot's bytes
    // (weak memory ordering) had the old seq-0 submission taken as its own. Zeroed, a slot fails its
    // checksum until the bytes arrive.
    this.region.clearSlots(r);
    this.region.restoreHeader(); // before the new producer reads it (its hello comes after this)
    for (const f of [C.subTail, C.subHead, C.cmpTail, C.cmpHead]) this.region.store(r, f, 0);
    this.region.store(r, C.generation, ring.generation);
    return r;
  }

  /** The session of `ring` ended: nothing more is read from it; pending completions are dropped. */
  releaseRing(r: number): void {
    const ring = this.rings[r];
    if (ring) ring.active = false;
  }

  private protocolError(r: number, what: string): void {
    const ring = this.rings[r]!;
    ring.protocolErrors++;
    this.stats.protocolErrors++;
    if (ring.protocolErrors <= 3 || ring.protocolErrors % 1000 === 0) {
      log.warn("producer broke the ring protocol", { ring: r, what, count: ring.protocolErrors });
    }
  }

  private post(r: number, generation: number, c: Completion): void {
    const ring = this.rings[r]!;
    if (this.closed || !ring.active || ring.generation !== generation) {
      this.stats.completionsDropped++;
      return;
    }
    encodeCompletion(this.cmpBuf, c);
    this.region.putCompletion(r, ring.cmpTail, this.cmpBuf);
    ring.cmpTail = (ring.cmpTail + 1) >>> 0;
    this.region.store(r, C.cmpTail, ring.cmpTail);
    if (c.status !== Status.accepted) {
      const n = statusName[c.status] ?? String(c.status);
      this.stats.rejected[n] = (this.stats.rejected[n] ?? 0) + 1;
    }
    this.dirty.add(r);
    if (!this.notifyQueued) {
      this.notifyQueued = true;
      queueMicrotask(() => this.flushNotify());
    }
  }

  private flushNotify(): void {
    this.notifyQueued = false;
    for (const r of this.dirty) this.o.notify?.(r);
    this.dirty.clear();
  }

  /**
   * Takes at most `maxRecords` submissions from the active rings (round robin), never more than
   * the completion rings can answer. Rejections are answered at once; accepted mutations are
   * journaled and answered after the fsync (then applied). Returns the number taken. Never throws
   * on anything a producer wrote.
   */
  drain(maxRecords: number): number {
    if (this.closed || this.paused) return 0;
    const g = this.o.geometry;
    let taken = 0;
    for (let k = 0; k < g.rings && taken < maxRecords; k++) {
      const r = (this.next + k) % g.rings;
      const ring = this.rings[r]!;
      if (!ring.active) continue;
      const subTail = this.region.load(r, C.subTail);
      const avail = (subTail - ring.head) >>> 0;
      if (avail === 0) continue;
      if (avail > g.slots) {
        this.protocolError(r, `submission tail ${subTail} is ${avail} slots ahead of head ${ring.head} (ring holds ${g.slots})`);
        continue;
      }
      const cmpHead = this.region.load(r, C.cmpHead);
      const used = (ring.cmpTail - cmpHead) >>> 0;
      if (used > g.slots) {
        this.protocolError(r, `completion head ${cmpHead} is outside [tail-${g.slots}, tail] (tail ${ring.cmpTail}, published ${this.region.load(r, C.cmpTail)})`);
        continue;
      }
      const n = Math.min(avail, g.slots - used - ring.inflight, maxRecords - taken);
      let took = 0;
      let threw = true;
      try {
        while (took < n && this.takeOne(r, ring)) took++;
        threw = false;
      } finally {
        // Even past a throw: the slots consumed are the producer's to reuse, and what this drain took
        // is journaled and answered (it was left in flight, unanswered through a re-exec).
        if (took > 0) this.region.store(r, C.subHead, ring.head);
        if (threw && this.taken.length > 0) this.commit();
      }
      taken += took;
    }
    this.next = (this.next + 1) % g.rings;
    if (this.taken.length > 0) this.commit();
    return taken;
  }

  /** Journals what this drain accepted in one group commit; each is answered once durable and applied (or failed). */
  private commit(): void {
    const group = this.taken;
    this.taken = [];
    this.acceptance.commit(group, (i, o) => this.done(group[i]!, o));
  }

  /** The end of an accepted submission: its place in flight freed, its completion posted. */
  private done(t: Taken, o: Outcome): void {
    // Only this session's own count: the ring may have gone to a new session meanwhile.
    if (t.ring.generation === t.generation) t.ring.inflight = Math.max(0, t.ring.inflight - 1);
    this.post(t.r, t.generation, { status: o.status, seq: t.m.seq, tag: t.m.tag, journalSeq: BigInt(o.journalSeq), text: o.text });
  }

  /** Takes the slot at the ring's head; false when it is not settled yet (left for the next drain). */
  private takeOne(r: number, ring: Ring): boolean {
    this.copy.set(this.region.subSlot(r, ring.head));
    const expected = ring.expectedSeq;
    const d = decodeSubmission(this.copy, expected);
    // Not settled yet: bytes that fail their checksum, or the previous lap's submission still in the
    // slot (valid checksum, an older sequence): the producer's new bytes may not be visible yet.
    if ("status" in d && (d.status === Status.badChecksum || (d.status === Status.badSequence && d.seq < expected))) {
      const now = performance.now();
      if (ring.unsettledSince < 0) ring.unsettledSince = now;
      if (now - ring.unsettledSince < SLOT_SETTLE_MS) return false;
    }
    ring.unsettledSince = -1;
    ring.head = (ring.head + 1) >>> 0;
    ring.expectedSeq++;
    this.stats.submissions++;
    const gen = ring.generation;
    if ("status" in d) {
      this.post(r, gen, { status: d.status, seq: d.seq, tag: d.tag, journalSeq: 0n, text: d.text });
      return true;
    }
    const verdict = this.acceptance.judge(d);
    if (verdict.status !== Status.accepted) {
      this.post(r, gen, { status: verdict.status, seq: d.seq, tag: d.tag, journalSeq: 0n, text: verdict.text });
      return true;
    }
    ring.inflight++;
    this.taken.push({ r, ring, generation: gen, m: d, ticket: verdict.ticket });
    return true;
  }

  /**
   * The same CTRM gate and journal path for a mutation that did not come through a ring (the
   * control socket). Resolves after the journal fsync that covers it (then it is applied), or
   * with the rejection.
   */
  submitDirect(m: Mutation): Promise<{ status: number; statusName: string; journalSeq: number; text: string }> {
    const named = (o: Outcome) => ({ status: o.status, statusName: statusName[o.status] ?? String(o.status), journalSeq: o.journalSeq, text: o.text });
    // Nothing journaled, nothing changed: NOT_TAKEN (it was JOURNAL_FAILED, "outcome unknown").
    if (this.closed) return Promise.resolve(named({ status: Status.notTaken, journalSeq: 0, text: "evolution is closed" }));
    // Quiesced (stopTaking, a live re-exec handing over): the rings take nothing more, nor does this
    // path; one journaled now came after the state the next image was handed.
    if (this.paused) return Promise.resolve(named({ status: Status.notTaken, journalSeq: 0, text: "evolution takes nothing now (stopping, or handing over to a new image)" }));
    this.stats.submissions++;
    const verdict = this.acceptance.judge(m);
    if (verdict.status !== Status.accepted) {
      const n = statusName[verdict.status] ?? String(verdict.status);
      this.stats.rejected[n] = (this.stats.rejected[n] ?? 0) + 1;
      return Promise.resolve(named({ status: verdict.status, journalSeq: 0, text: verdict.text }));
    }
    return new Promise((resolve) => this.acceptance.commit([{ m, ticket: verdict.ticket }], (_, o) => resolve(named(o))));
  }

  /** Unmaps and closes the memfd (sessions must be gone). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.region.close();
  }
}
