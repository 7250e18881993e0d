// Zod schemas of a service's memory and cpu cgroup limits, bounded by what the kernel's cgroup files take.
import { z } from "../util/zod-mini.ts";

/** memory.max/memory.high are parsed by memparse() into a u64: a larger number wrapped or was refused. */
const U64_MAX = 2n ** 64n - 1n;
const suffixShift: Record<string, bigint> = { K: 10n, M: 20n, G: 30n };

/**
 * cpu.max's quota: the kernel refuses one over max_cfs_runtime, MAX_BW µs ((1 << 44) - 1, about
 * 203 days; kernel/sched/core.c tg_set_cfs_bandwidth, -EINVAL).
 */
export const CPU_QUOTA_MAX_US = 2 ** 44 - 1;

/** Bytes as exact decimal text ("64M" -> "67108864"), in BigInt: Number() lost digits past 2^53 and wrote 10^23 as "1e+23". */
function bytesText(v: number | string): string {
  if (typeof v === "number") return String(v);
  if (v === "max") return v;
  const shift = suffixShift[v.slice(-1)] ?? 0n;
  return String(BigInt(shift === 0n ? v : v.slice(0, -1)) << shift);
}

/**
 * A byte count for memory.max/memory.high: a number, or "64M" style (K, M, G: powers of 1024), or
 * "max"; from 4096 (a process cannot start under less) to 2^64-1 (beyond it the kernel refused the
 * write and the service ran with no limit at all).
 */
export const memoryLimitSchema = () =>
  z.pipe(
    z.pipe(
      z.union([z.int().check(z.minimum(4096)), z.string().check(z.regex(/^(max|\d+[KMG]?)$/, 'bytes: a number, "64M" style (K, M, G) or "max"'))]),
      z.transform(bytesText),
    ),
    z.string().check(
      z.refine((v) => v === "max" || BigInt(v) >= 4096n, 'at least 4096 bytes (or "max")'),
      z.refine((v) => v === "max" || BigInt(v) <= U64_MAX, `at most ${U64_MAX} bytes (2^64-1, what the kernel's memory files take; "max" for no limit)`),
    ),
  );

/** cpu.max as "QUOTA/PERIOD" (or "QUOTA PERIOD") in microseconds: "50000/100000" is half a CPU; "max" lifts it. */
export const cpuMaxSchema = () =>
  z
    .pipe(
      z.string().check(z.regex(/^(max|\d+)([ /]\d+)?$/, 'quota/period in microseconds, e.g. "50000/100000", or "max"')),
      z.transform((v: string) => v.replace("/", " ")),
    )
    .check(
      z.refine((v) => {
        const [q, p = "100000"] = v.split(" ");
        return (q === "max" || Number(q) >= 1000) && Number(p) >= 1000 && Number(p) <= 1_000_000;
      }, "quota at least 1000 us, period 1000..1000000 us"),
      // Beyond it the kernel refused the write (or, past 2^64, read a wrapped number) and the service ran with no limit.
      z.refine((v) => {
        const q = v.split(" ")[0]!;
        return q === "max" || Number(q) <= CPU_QUOTA_MAX_US;
      }, `quota at most ${CPU_QUOTA_MAX_US} us (2^44-1, about 203 days: the kernel refuses more; "max" for no limit)`),
    );
