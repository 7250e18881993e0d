// The one rule turning a cortex score into an interrupt state (threshold with hysteresis): heartbeat and CTRM gate share it.

/**
 * The next state of an interrupt given its current state and this beat's score: a quiet interrupt is
 * raised when score >= threshold; a raised one clears when score < threshold - hysteresis (in between
 * it keeps its state). A non-finite score never raises and clears.
 */
export function nextInterruptState(active: boolean, score: number, threshold: number, hysteresis: number): boolean {
  // +Infinity compares above any threshold: it raised (and kept raised) an interrupt, and met a
  // safety case's `raise`, from a cortex whose last layer overflowed.
  if (!Number.isFinite(score)) return false;
  return active ? score >= threshold - hysteresis : score >= threshold;
}

/** What a safety case expects of one interrupt (the values stored in `kernel.ctrm.expect`). */
export const Expect = {
  /** No expectation. */
  any: 0,
  /** Raised: a quiet interrupt is raised (and a raised one stays raised). */
  raise: 1,
  /** Quiet: a quiet interrupt stays quiet (a raised one may stay raised: the hysteresis band). */
  quiet: 2,
  /** Clear: the interrupt is quiet whatever its state before (a raised one clears). */
  clear: 3,
} as const;
export type Expect = (typeof Expect)[keyof typeof Expect];
export const expectName: Record<number, string> = { 0: "any", 1: "raise", 2: "quiet", 3: "clear" };

/** Whether `score` meets expectation `e` for an interrupt with this threshold and hysteresis. */
export function meetsExpectation(e: number, score: number, threshold: number, hysteresis: number): boolean {
  switch (e) {
    case Expect.raise:
      return nextInterruptState(false, score, threshold, hysteresis);
    case Expect.quiet:
      return !nextInterruptState(false, score, threshold, hysteresis);
    case Expect.clear:
      return !nextInterruptState(true, score, threshold, hysteresis);
    default:
      return true;
  }
}
