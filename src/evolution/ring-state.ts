// The consumer's private counters of each ring, and their handover to the next image across a live re-exec.
import { JournalError } from "../errors.ts";
import type { HandedSession } from "./handover.ts";
import { C } from "./layout.ts";

export interface Ring {
  active: boolean;
  generation: number;
  /** Consumer's own counters: never read back from shared memory. */
  head: number;
  cmpTail: number;
  expectedSeq: bigint;
  /** Submissions taken whose completion is not yet posted (space reserved in the completion ring). */
  inflight: number;
  protocolErrors: number;
  /** When the slot at `head` first failed its checksum (performance.now()), or -1. */
  unsettledSince: number;
}

/** What the channel hands to the next image (the memfd stays open across execve). */
export interface ChannelState {
  generations: number[];
  sessions: Omit<HandedSession, "fd">[];
}

/** `count` rings, none given to a session yet. */
export function newRings(count: number): Ring[] {
  return Array.from({ length: count }, () => ({ active: false, generation: 0, head: 0, cmpTail: 0, expectedSeq: 0n, inflight: 0, protocolErrors: 0, unsettledSince: -1 }));
}

/**
 * Restores the rings' private counters from the previous image. The handed part is what the consumer
 * counted; its own words in the shared memory (`load`/`store`: generation, sub_head, cmp_tail) are
 * written back from it where they differ, a producer having written into its own ring's control
 * block: that one disagreement threw for the whole part, and every producer's session was dropped
 * at the re-exec. Returns the rings whose words were written back.
 */
export function adoptRings(rings: Ring[], a: ChannelState, load: (ring: number, field: number) => number, store: (ring: number, field: number, v: number) => void): number[] {
  if (a.generations.length !== rings.length) throw new JournalError(`handed ${a.generations.length} rings, configured ${rings.length}`);
  a.generations.forEach((gen, r) => (rings[r]!.generation = gen));
  const mended: number[] = [];
  for (const s of a.sessions) {
    const ring = rings[s.ring];
    if (!ring || ring.generation !== s.generation) throw new JournalError(`handed ring ${s.ring} outside the geometry, or not of its generation`);
    const own: [number, number][] = [[C.generation, s.generation], [C.subHead, s.head], [C.cmpTail, s.cmpTail]];
    if (own.some(([f, v]) => load(s.ring, f) !== v)) {
      for (const [f, v] of own) store(s.ring, f, v);
      mended.push(s.ring);
    }
    Object.assign(ring, { active: true, head: s.head, cmpTail: s.cmpTail, expectedSeq: BigInt(s.expectedSeq), inflight: 0, unsettledSince: -1 });
  }
  return mended;
}

/** The rings as they are now (quiescent: nothing in flight), for the next image. */
export function ringsState(rings: Ring[]): ChannelState {
  const sessions = rings.flatMap((x, r) => (x.active ? [{ ring: r, generation: x.generation, head: x.head, cmpTail: x.cmpTail, expectedSeq: x.expectedSeq.toString() }] : []));
  return { generations: rings.map((x) => x.generation), sessions };
}
