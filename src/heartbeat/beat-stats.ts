// Beat timing records: lateness (jitter) and tick cost over a sliding window, percentiles on demand.

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

/** A fixed-size ring of samples; percentiles are computed over its contents when asked. */
export class Ring {
  private readonly buf: Float64Array;
  private n = 0;
  private i = 0;
  private readonly scratch: Float64Array;

  constructor(size: number) {
    this.buf = new Float64Array(size);
    this.scratch = new Float64Array(size);
  }

  push(x: number): void {
    this.buf[this.i] = x;
    this.i = (this.i + 1) % this.buf.length;
    if (this.n < this.buf.length) this.n++;
  }

  get count(): number {
    return this.n;
  }

  percentiles(): Percentiles {
    if (this.n === 0) return { p50: 0, p99: 0, max: 0 };
    const s = this.scratch.subarray(0, this.n);
    s.set(this.buf.subarray(0, this.n));
    s.sort();
    const at = (p: number) => s[Math.min(this.n - 1, Math.ceil(p * this.n) - 1)]!;
    return { p50: at(0.5), p99: at(0.99), max: s[this.n - 1]! };
  }

  /** The newest `k` samples (at most count), oldest first. */
  recent(k: number): number[] {
    const m = Math.min(k, this.n);
    const out: number[] = new Array(m);
    for (let j = 0; j < m; j++) out[j] = this.buf[(this.i - m + j + this.buf.length) % this.buf.length]!;
    return out;
  }

  mean(): number {
    let t = 0;
    for (let k = 0; k < this.n; k++) t += this.buf[k]!;
    return this.n ? t / this.n : 0;
  }
}

/** Parts of a tick whose cost is recorded separately. */
export const tickParts = ["read", "cortex", "dispatch", "drain", "watchdog"] as const;
export type TickPart = (typeof tickParts)[number];
