// How long the metabolic worker has been silent, with what excuses it: its start, the process itself stalled, a relief of memory under way.
/** How long a worker relieving memory may be silent before it counts as stalled. */
export const RELIEF_GRACE_MS = 30_000;

export class WorkerSilence {
  /** performance.now() when the current worker was started and when it said ready (-1: not yet). */
  spawnedAt = -1;
  readyAt = -1;
  /** performance.now() up to which the worker's silence is excused (the process itself was stalled). */
  private excusedAt = -1;
  /**
   * When the worker was asked to relieve memory and has not answered (null: not asked): it writes
   * drop_caches and compact_memory on its own thread, which under memory pressure can take seconds,
   * longer than the stale limit. It was taken for stalled, restarted and counted as crashed, every
   * throttle released with it. Its silence is excused meanwhile, for RELIEF_GRACE_MS at most.
   */
  private reliefAskedAt: number | null = null;

  spawned(): void {
    this.spawnedAt = performance.now();
    this.readyAt = -1;
  }

  ready(): void {
    this.readyAt = performance.now();
  }

  /** Forgives the silence until now. */
  excuse(): void {
    this.excusedAt = performance.now();
  }

  reliefAsked(): void {
    this.reliefAskedAt ??= performance.now();
  }

  /** The relief was answered: the silence counts again from now. */
  reliefAnswered(): void {
    this.reliefAskedAt = null;
    this.excuse();
  }

  /** The worker is gone: a new one owes no answer to what this one was asked. */
  lost(): void {
    this.reliefAskedAt = null;
  }

  /** Silent for how long (ms), its last sample at `lastSampleAt`; 0 while a relief of memory is under way (up to RELIEF_GRACE_MS). */
  quietMs(lastSampleAt: number): number {
    const now = performance.now();
    if (this.reliefAskedAt !== null && now - this.reliefAskedAt < RELIEF_GRACE_MS) return 0;
    return now - Math.max(lastSampleAt, this.readyAt >= 0 ? this.readyAt : this.spawnedAt, this.excusedAt, this.reliefAskedAt ?? -1);
  }
}
