// First-order integrators: the metabolic daemon's "physics" (exponential smoothing with a time constant).

/**
 * dy/dt = (x - y) / tau, integrated exactly over each step: y += (x - y) * (1 - exp(-dt / tau)).
 * Irregular steps are handled (the weight depends on dt); tau <= 0 passes x through.
 */
export class Integrators {
  private readonly y: Float64Array;
  private readonly primed: Uint8Array;

  constructor(
    size: number,
    private tauMs: number,
  ) {
    this.y = new Float64Array(size);
    this.primed = new Uint8Array(size);
  }

  setTau(tauMs: number): void {
    this.tauMs = tauMs;
  }

  /** Feeds sample `x` for slot `i` after `dtMs`; returns the smoothed value. The first sample primes the state. */
  step(i: number, x: number, dtMs: number): number {
    if (!Number.isFinite(x)) return this.y[i]!;
    if (this.primed[i] === 0 || this.tauMs <= 0) {
      this.primed[i] = 1;
      this.y[i] = x;
      return x;
    }
    const a = 1 - Math.exp(-Math.max(0, dtMs) / this.tauMs);
    const v = this.y[i]! + (x - this.y[i]!) * a;
    this.y[i] = v;
    return v;
  }

  /** Forgets slot `i` (e.g. a service slot now holds another process). */
  reset(i: number): void {
    this.primed[i] = 0;
    this.y[i] = 0;
  }
}
