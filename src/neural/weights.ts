// Tensor store of a loaded model: zero-copy base views, copy-on-write private tensors, mutation, lookup.
import { InputError, RuntimeInitError } from "../errors.ts";
import { logger } from "../log.ts";
import { kindOf } from "../util/kind-of.ts";
import { KERNEL_PREFIX, type ModelTensorInfo } from "./architecture.ts";
import { type BlockQuantizer, blockShape, decodeElements, encodeElements } from "./codec.ts";
import type { WeightSource } from "./head.ts";
import { matvec, type PreparedMatrix, prepareMatrix } from "./matvec.ts";
import type { MatvecPool } from "./matvec-pool.ts";

const log = logger("neural");

const typeNames: Record<number, string> = { 0: "F32", 1: "F16", 2: "Q4_0", 8: "Q8_0", 12: "Q4_K", 14: "Q6_K", 30: "BF16" };

/** What the evolution engine (and `inspect`) may know about one tensor. */
export interface TensorDescription {
  readonly name: string;
  /** ggml type id and name. */
  readonly type: number;
  readonly typeName: string;
  /** Dimensions in ggml order (fastest first). */
  readonly ne: readonly number[];
  readonly elements: number;
  readonly byteLength: number;
  /** `kernel.*`: safety-critical, never mutated at run time. */
  readonly immutable: boolean;
  /** True once a mutation gave the tensor a private copy. */
  readonly mutated: boolean;
}

interface TensorState {
  readonly name: string;
  readonly type: number;
  readonly ne: number[];
  readonly elements: number;
  /** The view over the model bytes (mapping or caller buffer): never written. */
  readonly base: Uint8Array;
  /** Current data: `base` until the first mutation, then a private copy. */
  data: Uint8Array;
  matrix: PreparedMatrix | null;
  /** Bytes of `matrix`'s own aligned copy of `base` (0: it views the data in place). */
  alignedCopy: number;
  vector: Float32Array | null;
}

export class WeightStore implements WeightSource {
  private readonly tensors = new Map<string, TensorState>();
  /** Bumped on every mutation so heads re-bind their views. */
  generation = 0;
  /** Bytes held in private copies. */
  privateBytes = 0;
  mutations = 0;
  /** Worker pool and the pool ids of the matrices it runs (large weights only). */
  private pool: MatvecPool | null = null;
  private readonly poolIds = new Map<string, number>();
  /** Set when the runtime lets go of the model's bytes (cleanup, another init: the mapping is gone). */
  private released = false;

  constructor(
    infos: readonly ModelTensorInfo[],
    private readonly quantize: BlockQuantizer,
  ) {
    for (const t of infos) {
      const ne = t.ne.map(Number);
      this.tensors.set(t.name, { name: t.name, type: t.type, ne, elements: ne.reduce((a, b) => a * b, 1), base: t.data, data: t.data, matrix: null, alignedCopy: 0, vector: null });
    }
  }

  /**
   * The runtime unmaps the model's bytes next: every later read through this store (a SafetyProbe,
   * an exportGguf iterator kept by the caller) throws instead of touching the unmapped pages (SIGSEGV).
   */
  release(): void {
    this.released = true;
  }

  /** Throws RuntimeInitError once the store is released (its base views point into unmapped memory). */
  assertLoaded(): void {
    if (this.released) throw new RuntimeInitError("this model was unloaded (cleanup() or a later init()): its tensors can no longer be read; ask the runtime for a new safety probe or export");
  }

  private get(name: string): TensorState {
    this.assertLoaded();
    const t = this.tensors.get(name);
    if (!t) throw new InputError(`no tensor named ${JSON.stringify(name)} in the model`);
    return t;
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  describe(name: string): TensorDescription {
    const t = this.get(name);
    return {
      name: t.name,
      type: t.type,
      typeName: typeNames[t.type] ?? `type ${t.type}`,
      ne: [...t.ne],
      elements: t.elements,
      byteLength: t.data.byteLength,
      immutable: t.name.startsWith(KERNEL_PREFIX),
      mutated: t.data !== t.base,
    };
  }

  /** Current bytes of a tensor (the base view or the private copy). Do not write into them. */
  bytes(name: string): Uint8Array {
    return this.get(name).data;
  }

  /** The base bytes (never modified; for checks that copy-on-write held). */
  baseBytes(name: string): Uint8Array {
    return this.get(name).base;
  }

  matrix(name: string): PreparedMatrix {
    const t = this.get(name);
    if (!t.matrix) {
      t.matrix = prepareMatrix(t.type, t.ne.slice(1).reduce((a, b) => a * b, 1), t.ne[0]!, t.data);
      // An F32/F16/BF16 tensor off its element alignment in the file (general.alignment 1 or 2, valid
      // GGUF) is copied to the heap for its typed view: counted and said, where getStats() said
      // privateBytes 0 and the copy went unnoticed.
      if (t.matrix.bytes !== t.data && t.data === t.base) {
        t.alignedCopy = t.matrix.bytes.byteLength;
        this.privateBytes += t.alignedCopy;
        log.warn("weight copied to the heap: its data is not aligned to its element size in the file (general.alignment below 4); write the model with alignment 32 to keep it zero-copy", { tensor: name, bytes: t.matrix.bytes.byteLength });
      }
    }
    return t.matrix;
  }

  /** All elements decoded to float (cached until the tensor changes). For biases and kernel vectors. */
  vector(name: string): Float32Array {
    const t = this.get(name);
    if (!t.vector) {
      const v = new Float32Array(t.elements);
      decodeElements(t.type, t.data, 0, v);
      t.vector = v;
    }
    return t.vector;
  }

  multiply(name: string, m: PreparedMatrix, x: Float32Array, y: Float32Array): void {
    const id = this.pool ? this.poolIds.get(name) : undefined;
    if (id === undefined) matvec(m, x, y);
    else this.pool!.matvec(id, m, x, y);
  }

  /**
   * Lets `pool` run the given weights. Private copies made by later mutations of those tensors live
   * in SharedArrayBuffers so the workers can read them too.
   */
  attachPool(pool: MatvecPool, ids: ReadonlyMap<string, number>): void {
    this.pool = pool;
    for (const [k, v] of ids) this.poolIds.set(k, v);
  }

  detachPool(): void {
    this.pool = null;
    this.poolIds.clear();
  }

  /** Decodes elements [offset, offset + count) of a tensor (a fresh array). */
  read(name: string, offset: number, count: number): Float32Array {
    const t = this.get(name);
    this.checkRange(t, offset, count);
    const out = new Float32Array(count);
    decodeElements(t.type, t.data, offset, out);
    return out;
  }

  /** A mutation's values: a Float32Array (a plain array or null would fail deep in the encoder, or half-way). */
  private checkValues(name: string, values: Float32Array): void {
    if (!(values instanceof Float32Array)) throw new InputError(`mutation of ${name}: values must be a Float32Array, got ${kindOf(values)}`);
  }

  private checkRange(t: TensorState, offset: number, count: number): void {
    // Not a whole number (a string "1" from JavaScript): said as such; "[1, 12)" was "1" + 1 + ... concatenated.
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(count)) {
      throw new InputError(`element offset and count of tensor ${t.name} must be whole numbers, got ${kindOf(offset)} ${String(offset)} and ${kindOf(count)} ${String(count)}`);
    }
    if (offset < 0 || count < 0 || offset + count > t.elements) {
      throw new InputError(`element range [${offset}, ${offset + count}) is outside tensor ${t.name} of ${t.elements} elements`);
    }
  }

  /**
   * Writes `values` at `elementOffset` of tensor `name` in a private copy (the base bytes stay
   * untouched). Quantized tensors re-quantize the touched blocks. Refuses `kernel.*` tensors.
   */
  applyMutation(name: string, elementOffset: number, values: Float32Array): void {
    const t = this.get(name);
    if (t.name.startsWith(KERNEL_PREFIX)) throw new InputError(`tensor ${name} is safety-critical (kernel.*) and cannot be mutated`);
    this.checkValues(name, values);
    this.checkRange(t, elementOffset, values.length);
    // Reading `values` may have run the caller's code (a subclass's length getter) that unloaded the
    // model: its base bytes are unmapped by now (copying them crashed the process, SIGSEGV).
    this.assertLoaded();
    if (values.length === 0) return;
    blockShape(t.type);
    // encodeElements checks every value before it writes anything, so a refused mutation changes nothing.
    const poolId = this.pool ? this.poolIds.get(name) : undefined;
    let target = t.data;
    if (t.data === t.base) {
      target = poolId === undefined ? new Uint8Array(t.base.byteLength) : new Uint8Array(new SharedArrayBuffer(t.base.byteLength));
      target.set(t.base);
    }
    encodeElements(t.type, target, elementOffset, values, this.quantize);
    if (poolId !== undefined) this.pool!.invalidate(poolId);
    if (t.data === t.base) {
      t.data = target;
      this.privateBytes += target.byteLength;
    }
    this.privateBytes -= t.alignedCopy; // the matrix's aligned copy of the mapped bytes goes with it
    t.alignedCopy = 0;
    t.matrix = null;
    t.vector = null;
    this.mutations++;
    this.generation++;
    if (poolId !== undefined) {
      const buf = target.buffer as SharedArrayBuffer;
      void this.pool!.register(poolId, this.matrix(name), { kind: "shared", buffer: buf, byteOffset: target.byteOffset, byteLength: target.byteLength });
    }
  }

  /**
   * The bytes tensor `name` would hold after `applyMutation(name, elementOffset, values)`, in a fresh
   * copy of `from` (default: its current bytes); nothing of the store changes. Same checks and
   * encoding as applyMutation (quantized types re-quantize the touched blocks).
   */
  mutatedCopy(name: string, elementOffset: number, values: Float32Array, from?: Uint8Array): Uint8Array {
    const t = this.get(name);
    if (t.name.startsWith(KERNEL_PREFIX)) throw new InputError(`tensor ${name} is safety-critical (kernel.*) and cannot be mutated`);
    this.checkValues(name, values);
    this.checkRange(t, elementOffset, values.length);
    this.assertLoaded(); // reading `values` may have run the caller's code, which unloaded the model (applyMutation)
    const src = from ?? t.data;
    if (src.byteLength !== t.data.byteLength) throw new InputError(`scratch bytes of ${name} have ${src.byteLength} bytes, the tensor ${t.data.byteLength}`);
    const copy = src.slice();
    encodeElements(t.type, copy, elementOffset, values, this.quantize);
    return copy;
  }

  /** Every tensor with its current bytes, in model order (for export). */
  current(): { name: string; type: number; ne: number[]; data: Uint8Array }[] {
    this.assertLoaded();
    return [...this.tensors.values()].map((t) => ({ name: t.name, type: t.type, ne: [...t.ne], data: t.data }));
  }
}
