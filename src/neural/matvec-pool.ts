// Splits the rows of large mat-vec products between the calling thread and worker threads (synchronous for the caller).
import { logger } from "../log.ts";
import { workerEntry } from "../util/bundle.ts";
import { matvec, type PreparedMatrix } from "./matvec.ts";

const log = logger("neural");

/** Where a worker finds a matrix's bytes: a SharedArrayBuffer, or the model file it maps read-only itself. */
export type MatrixSource =
  | { kind: "shared"; buffer: SharedArrayBuffer; byteOffset: number; byteLength: number }
  | { kind: "file"; path: string; mapOffset: number; mapLength: number; byteOffset: number; byteLength: number };

export type PoolMessage =
  | { op: "init"; seq: number; ctl: SharedArrayBuffer; x: SharedArrayBuffer; y: SharedArrayBuffer }
  | { op: "register"; seq: number; id: number; type: number; rows: number; cols: number; source: MatrixSource }
  | { op: "drop"; seq: number; id: number }
  | { op: "stop"; seq: number };

/** ctl Int32 slots: command (0 idle, 1 run, 2 stop), matrix id, first row, end row, status (0 busy, 1 done, -1 failed). */
const CMD = 0;
const ID = 1;
const R0 = 2;
const R1 = 3;
const STATUS = 4;

interface PoolWorker {
  w: Worker;
  ctl: Int32Array;
  pending: Map<number, { resolve: () => void; reject: (e: Error) => void }>;
  stopTimer?: ReturnType<typeof setTimeout>;
  /** The kernels the worker said it runs ("avx512", "avx2", "c" or "typescript"). */
  kernel?: string;
}

export interface PoolStats {
  workers: number;
  parallelRuns: number;
  fallbacks: number;
  broken: boolean;
  /** Each worker's kernels, as it said at its start. */
  kernels: string[];
}

/** The worker's entry point, from the embedded bundle when compiled (src/util/bundle.ts). */
export function defaultWorkerUrl(): string {
  return workerEntry("neural/matvec-worker.ts", new URL("./matvec-worker.ts", import.meta.url));
}

export class MatvecPool {
  private readonly workers: PoolWorker[] = [];
  private readonly xs: Float32Array;
  private readonly ys: Float32Array;
  private readonly ready = new Map<number, number>();
  private readonly version = new Map<number, number>();
  private seq = 0;
  private broken = false;
  readonly stats: PoolStats;

  private constructor(
    n: number,
    maxCols: number,
    maxRows: number,
    private readonly timeoutMs: number,
    workerUrl: string,
  ) {
    this.xs = new Float32Array(new SharedArrayBuffer(4 * maxCols));
    this.ys = new Float32Array(new SharedArrayBuffer(4 * maxRows));
    for (let i = 0; i < n; i++) {
      const w = new Worker(workerUrl);
      const pw: PoolWorker = { w, ctl: new Int32Array(new SharedArrayBuffer(32)), pending: new Map() };
      w.onmessage = (e: MessageEvent<{ op: string; seq: number; message?: string; kernel?: string }>) => {
        if (e.data.op === "stopped") return this.terminate(pw);
        if (e.data.kernel !== undefined) pw.kernel = e.data.kernel;
        const p = pw.pending.get(e.data.seq);
        pw.pending.delete(e.data.seq);
        if (e.data.op === "ack") p?.resolve();
        else p?.reject(new Error(e.data.message ?? "worker error"));
      };
      w.onerror = (e) => this.fail(`worker error: ${e.message}`);
      // A worker that ended between products (close() stops them only once the pool is broken):
      // the next product waited out the whole timeout, a heartbeat stall as PID 1, before doing its rows.
      w.addEventListener("close", () => this.fail("a worker exited"));
      this.workers.push(pw);
    }
    this.stats = { workers: n, parallelRuns: 0, fallbacks: 0, broken: false, kernels: [] };
  }

  /**
   * Starts `n` workers able to run matrices up to maxCols x maxRows. A worker that does not answer
   * within `timeoutMs` (start-up, registration or a product) ends the pool: products then run on
   * the caller's thread. `workerUrl` is for tests.
   */
  static async start(n: number, maxCols: number, maxRows: number, timeoutMs = 2_000, workerUrl = defaultWorkerUrl()): Promise<MatvecPool> {
    const pool = new MatvecPool(n, maxCols, maxRows, timeoutMs, workerUrl);
    try {
      await Promise.all(pool.workers.map((pw) => pool.send(pw, { op: "init", seq: 0, ctl: pw.ctl.buffer as SharedArrayBuffer, x: pool.xs.buffer as SharedArrayBuffer, y: pool.ys.buffer as SharedArrayBuffer })));
    } catch (err) {
      pool.close();
      throw err;
    }
    pool.stats.kernels = pool.workers.map((pw) => pw.kernel ?? "unknown");
    return pool;
  }

  /** Posts a message and waits for the worker's answer (rejects after the pool's timeout: a worker that never answers). */
  private send(pw: PoolWorker, msg: PoolMessage): Promise<void> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pw.pending.delete(seq);
        reject(new Error(`worker did not answer "${msg.op}" within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      pw.pending.set(seq, {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      pw.w.postMessage({ ...msg, seq });
    });
  }

  private fail(why: string): void {
    if (this.broken) return;
    this.broken = true;
    this.stats.broken = true;
    log.error("mat-vec workers failed; continuing single-threaded", { reason: why });
    this.close();
  }

  /** Makes matrix `id` runnable in parallel once every worker has it; until then products run on the caller's thread. */
  async register(id: number, m: PreparedMatrix, source: MatrixSource): Promise<void> {
    const v = (this.version.get(id) ?? 0) + 1;
    this.version.set(id, v);
    this.ready.delete(id);
    if (this.broken) return;
    try {
      await Promise.all(this.workers.map((pw) => this.send(pw, { op: "register", seq: 0, id, type: m.type, rows: m.rows, cols: m.cols, source })));
      if (this.version.get(id) === v) this.ready.set(id, v);
    } catch (err) {
      this.fail(String(err));
    }
  }

  /** Stops using matrix `id` in parallel at once (its bytes changed); synchronous, so no stale product can follow. */
  invalidate(id: number): void {
    this.version.set(id, (this.version.get(id) ?? 0) + 1);
    this.ready.delete(id);
  }

  /** y = m x, rows split between this thread and the workers when `id` is ready; else single-threaded. */
  matvec(id: number, m: PreparedMatrix, x: Float32Array, y: Float32Array): void {
    if (this.broken || !this.ready.has(id)) {
      matvec(m, x, y);
      return;
    }
    const parts = this.workers.length + 1;
    const chunk = Math.ceil(m.rows / parts);
    this.xs.set(x.subarray(0, m.cols));
    this.workers.forEach((pw, i) => {
      const c = pw.ctl;
      c[ID] = id;
      c[R0] = Math.min(m.rows, chunk * (i + 1));
      c[R1] = Math.min(m.rows, chunk * (i + 2));
      Atomics.store(c, STATUS, 0);
      Atomics.store(c, CMD, 1);
      Atomics.notify(c, CMD);
    });
    // This thread's rows throwing (an x too short, a kernel out of memory) still waits for the
    // workers' answers before it throws: a worker that finished this job afterwards cleared the next
    // job's command and said it done, and that product copied stale rows into its y.
    let own: { error: unknown } | null = null;
    try {
      matvec(m, x, y, 0, Math.min(chunk, m.rows));
    } catch (error) {
      own = { error };
    }
    for (const pw of this.workers) {
      const c = pw.ctl;
      const r = Atomics.wait(c, STATUS, 0, this.timeoutMs);
      if (r === "timed-out" || Atomics.load(c, STATUS) !== 1) {
        this.stats.fallbacks++;
        this.fail(r === "timed-out" ? `no answer within ${this.timeoutMs} ms` : "a worker could not compute its rows");
        if (own) throw own.error;
        matvec(m, x, y, Math.min(chunk, m.rows), m.rows);
        return;
      }
    }
    if (own) throw own.error;
    y.set(this.ys.subarray(chunk, m.rows), chunk);
    this.stats.parallelRuns++;
  }

  /**
   * Stops the workers (idempotent). Each unmaps its views of the model and says so before it is
   * terminated (a terminated worker's mappings stay: one per matrix, per worker, per reload); one
   * that does not answer within the timeout is terminated anyway.
   */
  close(): void {
    for (const pw of this.workers) {
      Atomics.store(pw.ctl, CMD, 2);
      Atomics.notify(pw.ctl, CMD);
      for (const p of pw.pending.values()) p.reject(new Error("pool closed"));
      pw.pending.clear();
      pw.stopTimer = setTimeout(() => this.terminate(pw), this.timeoutMs);
      pw.w.postMessage({ op: "stop", seq: 0 } satisfies PoolMessage);
    }
    this.workers.length = 0;
    this.broken = true;
  }

  private terminate(pw: PoolWorker): void {
    if (pw.stopTimer) clearTimeout(pw.stopTimer);
    pw.w.terminate();
  }
}
