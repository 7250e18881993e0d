// The NeuralRuntime's counters (loads, executions, cortex runs, errors) and the RuntimeStats built from them.
import { matvecKernelName } from "../sys/matvec.ts";
import type { Loaded } from "./runtime-loaded.ts";
import type { RuntimeStats } from "./runtime-types.ts";

/** Counters of a NeuralRuntime; `errors` counts every public call that failed with an error (as the seed counts its error returns). */
export class RuntimeCounters {
  loads = 0;
  loadMs = 0;
  executions = 0;
  executeMs = 0;
  cortexRuns = 0;
  cortexMs = 0;
  errors = 0;

  /** Counts a failed call and hands its error back: `throw this.stats.failed(err)`. */
  failed(err: unknown): unknown {
    this.errors++;
    return err;
  }

  snapshot(c: Loaded | null): RuntimeStats {
    return {
      loaded: c !== null,
      loads: this.loads,
      loadMs: this.loadMs,
      executions: this.executions,
      executeMs: this.executeMs,
      cortexRuns: this.cortexRuns,
      cortexMs: this.cortexMs,
      errors: this.errors,
      bytesMapped: c?.mappedBytes ?? 0,
      modelBytes: c?.info.bytes ?? 0,
      privateBytes: c?.model.weights.privateBytes ?? 0,
      mutations: c?.model.weights.mutations ?? 0,
      workers: c?.pool?.stats.broken === false ? c.pool.stats.workers : 0,
      parallelRuns: c?.pool?.stats.parallelRuns ?? 0,
      matvecKernel: c === null ? null : matvecKernelName(),
      workerKernels: c?.pool?.stats.broken === false ? c.pool.stats.kernels : [],
    };
  }
}
