// NeuralRuntime: the seed's C ABI (init, executePixels, getResult, free, cleanup, getStats) in TypeScript form.
import { InputError, ModelError, RuntimeInitError, VectorBootError } from "../errors.ts";
import { logger } from "../log.ts";
import { kindOf } from "../util/kind-of.ts";
import type { GgufValue } from "../gguf/index.ts";
import { checkedChunks, encodeModel, withExtraMetadata } from "./export.ts";
import { copyResult, type Loaded, newLoaded, releaseLoaded } from "./runtime-loaded.ts";
import { openModelPath, sourceBytes } from "./runtime-source.ts";
import { RuntimeCounters } from "./runtime-stats.ts";
import { bytesUnusable, holdBytes, releaseBytes } from "./model-holders.ts";
import { startPool } from "./runtime-workers.ts";
import type { MappedModel, ModelInfo, ModelInput, PixelResult, RuntimeOptions, RuntimeStats } from "./runtime-types.ts";
import { clampCortexInput, type KernelParameters, type LoadedModel, loadModel } from "./model.ts";
import { encodePixels, type PixelInput } from "./pixel-input.ts";
import { SafetyProbe } from "./safety-probe.ts";
import type { TensorDescription } from "./weights.ts";

const log = logger("neural");

export class NeuralRuntime {
  private readonly threads: number;
  private readonly parallelMinBytes: number;
  private cur: Loaded | null = null;
  private last: PixelResult | null = null;
  /** Bumped by initSync and cleanup: an init() that was waiting since an older value loads nothing. */
  private epoch = 0;
  /** The last init() under way: the next one waits for it (calls load in call order). */
  private initQueue: Promise<unknown> | null = null;
  private readonly stats = new RuntimeCounters();

  constructor(options: RuntimeOptions = {}) {
    if (options === null || typeof options !== "object") throw new InputError(`RuntimeOptions must be an object, got ${kindOf(options)}`);
    const { threads, parallelMinBytes } = options;
    if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 64)) {
      throw new InputError(`RuntimeOptions.threads must be an integer 1..64, got ${String(threads)}`);
    }
    if (parallelMinBytes !== undefined && !(Number.isSafeInteger(parallelMinBytes) && parallelMinBytes >= 0)) {
      throw new InputError(`RuntimeOptions.parallelMinBytes must be a non-negative integer, got ${String(parallelMinBytes)}`);
    }
    const cpus = typeof navigator !== "undefined" ? navigator.hardwareConcurrency : 1;
    this.threads = threads ?? Math.max(1, Math.min(4, cpus));
    this.parallelMinBytes = parallelMinBytes ?? 1 << 20;
  }

  /**
   * Loads a model (replacing any loaded one). Throws RuntimeInitError / ModelError (PackageError: an
   * .rts path whose tensor section fails its SHA-256), never later at first use. Overlapping calls load in call order; one still waiting (for an earlier init, or to
   * map its path) when initSync() or cleanup() is called is refused with a RuntimeInitError.
   */
  async init(source: ModelInput): Promise<ModelInfo> {
    const run = this.initAfter(this.initQueue, source, this.epoch);
    this.initQueue = run;
    try {
      return await run;
    } catch (err) {
      throw this.stats.failed(err);
    } finally {
      if (this.initQueue === run) this.initQueue = null;
    }
  }

  private async initAfter(before: Promise<unknown> | null, source: ModelInput, epoch: number): Promise<ModelInfo> {
    if (before) await before.catch(() => undefined);
    const opened = typeof source === "string" ? await openModelPath(source) : { source, fromFile: false };
    if (this.epoch !== epoch) {
      if (opened.source !== source && !(opened.source instanceof Uint8Array)) opened.source.unmap?.();
      throw new RuntimeInitError(`init(${typeof source === "string" ? source : "bytes"}) was superseded by a later initSync() or cleanup(); nothing was loaded`);
    }
    const info = this.load(opened.source, opened.fromFile, "init");
    // An initSync may have replaced this model meanwhile: it starts the workers for its own.
    if (this.cur?.info === info) await this.startWorkers();
    return info;
  }

  /**
   * Synchronous `init` for bytes or an existing mapping (no file access; no worker threads).
   * `fromFile`: count the bytes as mapped in the stats (a mapping with `unmap` always counts).
   */
  initSync(source: Uint8Array | MappedModel, fromFile = false): ModelInfo {
    try {
      const info = this.load(source, fromFile, "initSync");
      this.epoch++; // an init() still waiting must not replace this model
      return info;
    } catch (err) {
      throw this.stats.failed(err);
    }
  }

  private load(source: Uint8Array | MappedModel, fromFile: boolean, call: string): ModelInfo {
    const t0 = performance.now();
    const bytes = sourceBytes(source, call);
    let unmap = source instanceof Uint8Array ? null : (source.unmap?.bind(source) ?? null);
    // A mapping unmapped already, or one another runtime computes on or unmaps: read, it was SIGSEGV.
    const unusable = bytesUnusable(this, bytes, unmap !== null);
    if (unusable) throw new RuntimeInitError(`${call}(source): ${unusable}; map the model again for this runtime (or pass its path)`);
    // Reloading bytes of the mapping that is loaded (the same source, e.g. back to the base weights, or a
    // view of it): the new model owns the mapping now; the old one must not unmap it, nor a failed load.
    const same = this.cur !== null && this.cur.bytes.buffer === bytes.buffer;
    let model: LoadedModel;
    try {
      model = loadModel(bytes);
    } catch (err) {
      if (!same && unmap) {
        unmap();
        releaseBytes(this, bytes, true);
      }
      if (err instanceof VectorBootError) throw err;
      throw new ModelError("model failed to load", { cause: err });
    }
    if (same) {
      unmap ??= this.cur!.unmap;
      this.cur!.unmap = null;
    }
    this.unload();
    this.cur = newLoaded(model, source, unmap, fromFile || unmap ? bytes.byteLength : 0);
    holdBytes(this, bytes, unmap !== null);
    const info = this.cur.info;
    const ms = performance.now() - t0;
    this.stats.loads++;
    this.stats.loadMs += ms;
    log.info("model loaded", { name: info.name, bytes: info.bytes, tensors: info.tensors, parameters: info.parameters, ms: ms.toFixed(2) });
    return info;
  }

  /**
   * Starts the worker pool for the large weights of the loaded model that workers can reach without a
   * copy (`init` does it; after `initSync`, call it when threads are wanted). Never throws.
   */
  async startWorkers(): Promise<void> {
    const c = this.cur;
    if (!c || c.pool || c.poolStarting || this.threads < 2) return;
    c.poolStarting = true;
    const pool = await startPool(c.model, c.source, this.threads - 1, this.parallelMinBytes);
    c.poolStarting = false;
    if (!pool) return;
    // Unloaded or replaced while the workers started: a pool nobody would close keeps the process alive.
    if (this.cur !== c) {
      pool.close();
      return;
    }
    c.pool = pool;
  }

  /** The loaded model; a call without one fails (and counts as failed). */
  private need(): Loaded {
    if (!this.cur) throw this.stats.failed(new RuntimeInitError("neural runtime has no model loaded: call init() first"));
    return this.cur;
  }

  /** `c` is still loaded: the caller's input (a getter) may have called cleanup() or init(), and the forward pass ran on unmapped pages (SIGSEGV). */
  private still(c: Loaded): void {
    if (this.cur !== c) throw new RuntimeInitError("the model was unloaded (cleanup() or init()) while this call read its input");
  }

  get loaded(): boolean {
    return this.cur !== null;
  }

  info(): ModelInfo {
    return this.need().info;
  }

  /** Runs a pixel program: 1..maxPixels [r, g, b] triples (integers 0..255). Throws InputError on bad input. */
  executePixels(pixels: PixelInput | ReadonlyArray<ArrayLike<number>>): PixelResult {
    const c = this.need();
    const t0 = performance.now();
    let n: number;
    let out: Float32Array;
    try {
      n = encodePixels(pixels, c.model.spec.pixel.maxPixels, c.model.spec.pixel.inputScale, c.pixelInput);
      this.still(c);
      out = c.model.pixel.forward(c.pixelInput).slice();
      for (let i = 0; i < out.length; i++) {
        if (!Number.isFinite(out[i]!)) throw new ModelError(`pixel head produced a non-finite output ${out[i]} at index ${i}`);
      }
    } catch (err) {
      throw this.stats.failed(err);
    }
    let top = 0;
    for (let i = 1; i < out.length; i++) if (out[i]! > out[top]!) top = i;
    const elapsedMs = performance.now() - t0;
    this.stats.executions++;
    this.stats.executeMs += elapsedMs;
    this.last = { pixels: n, output: out, top: { index: top, value: out[top]! }, elapsedMs };
    return copyResult(this.last);
  }

  /** The result of the last successful executePixels (a copy owned by the caller), or null (none yet, or freed). */
  getResult(): PixelResult | null {
    return this.last && copyResult(this.last);
  }

  /** Releases the last result (the seed's `free`). */
  free(): void {
    this.last = null;
  }

  /** Unloads the model and unmaps its file; the runtime may be init()ed again (an init() still waiting is refused). Idempotent. */
  cleanup(): void {
    this.epoch++;
    this.unload();
  }

  private unload(): void {
    const c = this.cur;
    this.cur = null;
    this.last = null;
    if (!c) return;
    releaseBytes(this, c.bytes, c.unmap !== null);
    releaseLoaded(c);
  }

  getStats(): RuntimeStats {
    return this.stats.snapshot(this.cur);
  }

  /**
   * Runs the cortex head on one hw.mmio state vector (laid out as `cortexInputLayout()`). Inputs are
   * clamped to the kernel limits (NaN becomes the lower limit). Returns the runtime's own score
   * buffer, overwritten by the next call: allocation-free for the heartbeat.
   */
  runCortex(input: Float32Array): Float32Array {
    const c = this.need();
    const t0 = performance.now();
    const x = c.cortexInput;
    let out: Float32Array;
    // A try/catch, not a closure: this is the heartbeat's hot path (allocation-free).
    try {
      const n = x.length;
      if (!(input instanceof Float32Array)) throw new InputError(`runCortex(input): input must be a Float32Array of ${n} values, got ${kindOf(input)}`);
      if (input.length !== n) throw new InputError(`cortex input has ${input.length} values, the model's layout has ${n}`);
      clampCortexInput(c.model.kernel, input, x);
      this.still(c);
      out = c.model.cortex.forward(x);
    } catch (err) {
      throw this.stats.failed(err);
    }
    this.stats.cortexRuns++;
    this.stats.cortexMs += performance.now() - t0;
    return out;
  }

  /** The hw.mmio field name of each cortex input. */
  cortexInputLayout(): readonly string[] {
    return this.need().model.kernel.inputLayout;
  }

  /** Interrupt thresholds, hysteresis and input limits (copies; the model's kernel.* stay immutable). */
  kernelParameters(): KernelParameters {
    const k = this.need().model.kernel;
    return { ...k, thresholds: k.thresholds.slice(), hysteresis: k.hysteresis.slice(), inputMin: k.inputMin.slice(), inputMax: k.inputMax.slice() };
  }

  /**
   * The loaded model's safety cases as the CTRM gate evaluates them (scratch copies of mutated
   * tensors, never the live weights), or null when the model carries no `kernel.ctrm.*` cases.
   */
  safetyProbe(): SafetyProbe | null {
    const c = this.need();
    if (c.probe === undefined) c.probe = c.model.safety ? new SafetyProbe({ ...c.model, safety: c.model.safety }) : null;
    return c.probe;
  }

  /** Names of every tensor in the model. */
  tensorNames(): string[] {
    return this.need().model.weights.names();
  }

  /** Type, shape and element count of a tensor, or null when the model has none of that name. */
  tensor(name: string): TensorDescription | null {
    const w = this.need().model.weights;
    return w.has(name) ? w.describe(name) : null;
  }

  /** Decoded values of elements [offset, offset + count) of a tensor. */
  readTensor(name: string, offset = 0, count?: number): Float32Array {
    const w = this.need().model.weights;
    try {
      return w.read(name, offset, count ?? w.describe(name).elements - offset);
    } catch (err) {
      throw this.stats.failed(err);
    }
  }

  /**
   * Writes `values` into tensor `tensorName` from element `elementOffset`, in a private copy of the
   * tensor (the mapped base stays read-only). Quantized tensors re-quantize the touched blocks.
   * Throws InputError for kernel.* tensors, unknown names, ranges outside the tensor, non-finite
   * or unrepresentable values; a refused mutation changes nothing.
   */
  applyMutation(tensorName: string, elementOffset: number, values: Float32Array): void {
    const w = this.need().model.weights;
    try {
      w.applyMutation(tensorName, elementOffset, values);
    } catch (err) {
      throw this.stats.failed(err);
    }
  }

  /**
   * The current weights (mutations included) as a complete GGUF, in chunks in file order: the
   * loaded file's metadata and alignment, plus `extra` metadata (bigint: UINT64; or typed values).
   * The chunks view the live tensors: consume them before the next mutation. Iterating on after
   * cleanup() or another init() throws RuntimeInitError (a chunk taken before views unmapped memory).
   */
  exportGguf(extra: Record<string, bigint | GgufValue> = {}): Iterable<Uint8Array> {
    const m = this.need().model;
    try {
      // Laid out now: a bad argument throws here, and counts (null threw a raw TypeError; a bad value threw at the first read).
      const chunks = encodeModel(withExtraMetadata(m.file.metadata, extra), m.weights.current(), m.file.alignment);
      return checkedChunks(chunks, () => m.weights.assertLoaded());
    } catch (err) {
      throw this.stats.failed(err);
    }
  }

  /** @internal the loaded model (export, inspect). */
  loadedModel(): LoadedModel {
    return this.need().model;
  }
}
