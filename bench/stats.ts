// The benchmarks' order statistics: one percentile (nearest rank, floor) for every bench's p50, p90 and p99.

/** The `p`-th percentile (0-100) of `xs`: the element at floor(p% of the count) in sorted order, the last for 100. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** The median as every bench prints it: the element at floor(count / 2) in sorted order. */
export const median = (xs: readonly number[]): number => percentile(xs, 50);
