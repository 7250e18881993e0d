// The hw.mmio SharedArrayBuffer: a seqlock-protected Float64 vector written by the worker, read by the beat.
import { HW_MMIO_FIELDS, HW_MMIO_VERSION, HwFlag, hwIndexOf } from "../hw/hw-mmio-layout.ts";

/** Int32 control words at the start of the buffer. */
const Ctl = {
  /** Seqlock: odd while the writer is inside a sample. */
  seq: 0,
  /** Samples published so far. */
  samples: 1,
  version: 2,
  fields: 3,
  /** Incremented by each worker instance when it attaches (restarts visible to the reader). */
  generation: 4,
} as const;
const CTL_WORDS = 16;
/** Float64 words after the control block: [0] sample time (ms, CLOCK_MONOTONIC), then the fields. */
const META = 1;
const FLAGS = hwIndexOf("flags");

export const hwMmioBytes = (): number => CTL_WORDS * 4 + (META + HW_MMIO_FIELDS) * 8;

export function createHwMmioBuffer(): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(hwMmioBytes());
  const ctl = new Int32Array(sab, 0, CTL_WORDS);
  ctl[Ctl.version] = HW_MMIO_VERSION;
  ctl[Ctl.fields] = HW_MMIO_FIELDS;
  return sab;
}

/**
 * Monotonic milliseconds of this thread. Not comparable across threads: in Bun each worker's clock
 * has its own origin, so the reader judges a sample's age by when it saw the sample count change.
 */
export const monoMs = (): number => performance.now();

/** Worker side: publishes one sample at a time. */
export class HwMmioWriter {
  private readonly ctl: Int32Array;
  private readonly f64: Float64Array;

  constructor(sab: SharedArrayBuffer) {
    this.ctl = new Int32Array(sab, 0, CTL_WORDS);
    this.f64 = new Float64Array(sab, CTL_WORDS * 4, META + HW_MMIO_FIELDS);
    // A previous worker that died inside a write left the seqlock odd, its sample half written: closed
    // with the sample marked a first one (not a measurement), or the beat read the torn vector as
    // consistent and ran the cortex on it until this worker's first publish.
    if ((Atomics.load(this.ctl, Ctl.seq) & 1) === 1) {
      this.f64[META + FLAGS] = HwFlag.firstSample;
      Atomics.add(this.ctl, Ctl.seq, 1);
    }
    Atomics.add(this.ctl, Ctl.generation, 1);
  }

  get generation(): number {
    return Atomics.load(this.ctl, Ctl.generation);
  }

  /** Copies `values` (HW_MMIO_FIELDS entries) into the buffer under the seqlock. */
  publish(values: Float64Array, sampleMs: number): void {
    Atomics.add(this.ctl, Ctl.seq, 1);
    this.f64[0] = sampleMs;
    this.f64.set(values.subarray(0, HW_MMIO_FIELDS), META);
    Atomics.add(this.ctl, Ctl.seq, 1);
    Atomics.add(this.ctl, Ctl.samples, 1);
  }
}

/** Beat side: copies the newest consistent sample, never waits on the writer. */
export class HwMmioReader {
  private readonly ctl: Int32Array;
  private readonly f64: Float64Array;
  /** The last consistent copy (fields only). */
  readonly values = new Float64Array(HW_MMIO_FIELDS);
  /** The writer's timestamp of the sample (the writer's clock). */
  sampleMs = 0;
  samples = 0;
  /** Reader's performance.now() when a new sample was last seen (-1: none yet). */
  lastNewAt = -1;
  /** Reads that found the writer mid-sample and kept the previous copy. */
  torn = 0;

  constructor(readonly sab: SharedArrayBuffer) {
    this.ctl = new Int32Array(sab, 0, CTL_WORDS);
    this.f64 = new Float64Array(sab, CTL_WORDS * 4, META + HW_MMIO_FIELDS);
  }

  get generation(): number {
    return Atomics.load(this.ctl, Ctl.generation);
  }

  /**
   * The copy is a measurement: a sample, and not a worker's first (flag firstSample: no differences
   * yet, CPU fractions and rates read 0). Read as an idle machine, that first sample of a restarted
   * worker or of a re-exec'd image cleared raised interrupts, which the next sample raised again.
   */
  get measured(): boolean {
    return this.samples > 0 && (this.values[FLAGS]! & HwFlag.firstSample) === 0;
  }

  /** Refreshes `values`; returns false (previous copy kept) when no consistent sample could be read in a few tries. */
  read(): boolean {
    for (let attempt = 0; attempt < 4; attempt++) {
      const s1 = Atomics.load(this.ctl, Ctl.seq);
      if ((s1 & 1) === 1) continue;
      const n = Atomics.load(this.ctl, Ctl.samples);
      const t = this.f64[0]!;
      this.values.set(this.f64.subarray(META));
      if (Atomics.load(this.ctl, Ctl.seq) === s1) {
        if (n !== this.samples) this.lastNewAt = performance.now();
        this.sampleMs = t;
        this.samples = n;
        return true;
      }
    }
    this.torn++;
    return false;
  }
}

export { Ctl as HwMmioCtl };
