// Matrix-vector kernels over raw ggml tensor bytes (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K): y = W x, rows of W contiguous.
import { InputError, ModelError } from "../errors.ts";
import { nativeMatvec, nativeMatvecAvailable } from "../sys/matvec.ts";
import { kindOf } from "../util/kind-of.ts";
import { bf16ToF32Table, f16ToF32Table } from "./half.ts";
import { kquantRows } from "./matvec-k.ts";

/** ggml type ids the kernels execute (the numbers are ggml's `enum ggml_type`). */
export const KernelType = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8, Q4_K: 12, Q6_K: 14, BF16: 30 } as const;
export type KernelType = (typeof KernelType)[keyof typeof KernelType];

/** Bytes of one row of `cols` elements in `type`; throws when cols does not fill whole blocks. */
export function rowBytes(type: number, cols: number): number {
  switch (type) {
    case KernelType.F32:
      return cols * 4;
    case KernelType.F16:
    case KernelType.BF16:
      return cols * 2;
    case KernelType.Q8_0:
      if (cols % 32 !== 0) throw new ModelError(`Q8_0 row of ${cols} elements is not a whole number of 32-element blocks`);
      return (cols / 32) * 34;
    case KernelType.Q4_0:
      if (cols % 32 !== 0) throw new ModelError(`Q4_0 row of ${cols} elements is not a whole number of 32-element blocks`);
      return (cols / 32) * 18;
    case KernelType.Q4_K:
    case KernelType.Q6_K:
      if (cols % 256 !== 0) throw new ModelError(`${type === KernelType.Q4_K ? "Q4_K" : "Q6_K"} row of ${cols} elements is not a whole number of 256-element super-blocks`);
      return (cols / 256) * (type === KernelType.Q4_K ? 144 : 210);
    default:
      throw new ModelError(`ggml type ${type} has no mat-vec kernel (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K)`);
  }
}

export function isKernelType(type: number): type is KernelType {
  return type === 0 || type === 1 || type === 2 || type === 8 || type === 12 || type === 14 || type === 30;
}

/**
 * A matrix ready for the kernels: typed views built once (zero-copy when the bytes are aligned),
 * so a product allocates nothing.
 */
export interface PreparedMatrix {
  readonly type: KernelType;
  readonly rows: number;
  readonly cols: number;
  readonly bytes: Uint8Array;
  readonly f32: Float32Array | null;
  readonly u16: Uint16Array | null;
  readonly i8: Int8Array | null;
}

/**
 * Wraps `bytes` (exactly rows * rowBytes(type, cols)) for the kernels. F32/F16/BF16 data that is
 * not aligned for a typed view is copied once (the GGUF reader's views are aligned in practice).
 */
export function prepareMatrix(type: number, rows: number, cols: number, bytes: Uint8Array): PreparedMatrix {
  checkDims(rows, cols);
  if (!(bytes instanceof Uint8Array)) throw new ModelError(`matrix bytes must be a Uint8Array, got ${kindOf(bytes)}`);
  if (!isKernelType(type)) rowBytes(type, cols);
  const t = type as KernelType;
  const need = rows * rowBytes(t, cols);
  if (bytes.byteLength !== need) {
    throw new ModelError(`matrix ${rows}x${cols} of type ${t} needs ${need} bytes, got ${bytes.byteLength}`);
  }
  let f32: Float32Array | null = null;
  let u16: Uint16Array | null = null;
  let i8: Int8Array | null = null;
  if (t === KernelType.F32) {
    const b = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
    f32 = new Float32Array(b.buffer, b.byteOffset, rows * cols);
    bytes = b;
  } else if (t === KernelType.F16 || t === KernelType.BF16) {
    const b = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
    u16 = new Uint16Array(b.buffer, b.byteOffset, rows * cols);
    bytes = b;
  } else {
    i8 = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return { type: t, rows, cols, bytes, f32, u16, i8 };
}

function f32Rows(w: Float32Array, cols: number, x: Float32Array, y: Float32Array, r0: number, r1: number): void {
  const n4 = cols & ~3;
  for (let r = r0; r < r1; r++) {
    const o = r * cols;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let j = 0;
    for (; j < n4; j += 4) {
      s0 += w[o + j]! * x[j]!;
      s1 += w[o + j + 1]! * x[j + 1]!;
      s2 += w[o + j + 2]! * x[j + 2]!;
      s3 += w[o + j + 3]! * x[j + 3]!;
    }
    for (; j < cols; j++) s0 += w[o + j]! * x[j]!;
    y[r] = s0 + s1 + s2 + s3;
  }
}

function halfRows(w: Uint16Array, table: Float32Array, cols: number, x: Float32Array, y: Float32Array, r0: number, r1: number): void {
  const n4 = cols & ~3;
  for (let r = r0; r < r1; r++) {
    const o = r * cols;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let j = 0;
    for (; j < n4; j += 4) {
      s0 += table[w[o + j]!]! * x[j]!;
      s1 += table[w[o + j + 1]!]! * x[j + 1]!;
      s2 += table[w[o + j + 2]!]! * x[j + 2]!;
      s3 += table[w[o + j + 3]!]! * x[j + 3]!;
    }
    for (; j < cols; j++) s0 += table[w[o + j]!]! * x[j]!;
    y[r] = s0 + s1 + s2 + s3;
  }
}

/** Q8_0 block: f16 scale d, then 32 int8 quants; value = d * q. */
function q8Rows(u8: Uint8Array, i8: Int8Array, cols: number, x: Float32Array, y: Float32Array, r0: number, r1: number): void {
  const F16 = f16ToF32Table();
  const nb = cols >> 5;
  const rb = nb * 34;
  for (let r = r0; r < r1; r++) {
    let acc = 0;
    let p = r * rb;
    for (let b = 0, xo = 0; b < nb; b++, p += 34, xo += 32) {
      const d = F16[u8[p]! | (u8[p + 1]! << 8)]!;
      const q = p + 2;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < 32; k += 4) {
        s0 += i8[q + k]! * x[xo + k]!;
        s1 += i8[q + k + 1]! * x[xo + k + 1]!;
        s2 += i8[q + k + 2]! * x[xo + k + 2]!;
        s3 += i8[q + k + 3]! * x[xo + k + 3]!;
      }
      acc += d * (s0 + s1 + s2 + s3);
    }
    y[r] = acc;
  }
}

/**
 * Q4_0 block: f16 scale d, then 16 bytes; element k (k < 16) is the low nibble of byte k, element
 * k + 16 the high nibble; value = d * (nibble - 8). Uses sum(q*x) - 8*sum(x) with per-block sums of x.
 */
function q4Rows(u8: Uint8Array, cols: number, x: Float32Array, xsum: Float64Array, y: Float32Array, r0: number, r1: number): void {
  const F16 = f16ToF32Table();
  const nb = cols >> 5;
  const rb = nb * 18;
  for (let r = r0; r < r1; r++) {
    let acc = 0;
    let p = r * rb;
    for (let b = 0, xo = 0; b < nb; b++, p += 18, xo += 32) {
      const d = F16[u8[p]! | (u8[p + 1]! << 8)]!;
      const q = p + 2;
      let s0 = 0;
      let s1 = 0;
      for (let k = 0; k < 16; k += 2) {
        const a = u8[q + k]!;
        const c = u8[q + k + 1]!;
        s0 += (a & 15) * x[xo + k]! + (a >> 4) * x[xo + k + 16]!;
        s1 += (c & 15) * x[xo + k + 1]! + (c >> 4) * x[xo + k + 17]!;
      }
      acc += d * (s0 + s1 - 8 * xsum[b]!);
    }
    y[r] = acc;
  }
}

/** Scratch for Q4_0 block sums, grown on demand (no allocation once large enough). */
let xsumScratch = new Float64Array(256);

/** The C kernels take rows and cols as int32. */
const MAX_DIM = 0x7fffffff;

function checkDims(rows: number, cols: number): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0 || rows > MAX_DIM || cols > MAX_DIM) {
    throw new ModelError(`matrix rows and cols must be integers 0..${MAX_DIM}, got ${String(rows)} x ${String(cols)}`);
  }
}

/**
 * What the C kernels trust (they read and write by pointer): a matrix whose bytes (and typed view)
 * hold exactly its rows, float32 vectors, an integer row range. A PreparedMatrix is a plain
 * interface: one built by hand is checked like one from prepareMatrix.
 */
// The typed arrays' own getters: a subclass's `length` getter could say more than the memory holds.
const typedProto = Object.getPrototypeOf(Uint8Array.prototype) as object;
const lengthOf = Object.getOwnPropertyDescriptor(typedProto, "length")!.get! as (this: ArrayBufferView) => number;
const byteLengthOf = Object.getOwnPropertyDescriptor(typedProto, "byteLength")!.get! as (this: ArrayBufferView) => number;

/**
 * Checks a product's arguments, as the values given (`type`, `rows`, `cols`, `bytes`: read once by
 * the caller, which passes the same ones on to the kernel: a getter on a hand-built matrix answered
 * the check with one size and the C kernel with another, which read out of bounds).
 */
function checkShapes(m: PreparedMatrix, type: KernelType, rows: number, cols: number, bytes: Uint8Array, x: Float32Array, y: Float32Array, r0: number, r1: number): void {
  if (!(x instanceof Float32Array) || !(y instanceof Float32Array)) throw new InputError(`mat-vec input and output must be Float32Arrays, got ${kindOf(x)} and ${kindOf(y)}`);
  if (!Number.isInteger(r0) || !Number.isInteger(r1)) throw new InputError(`mat-vec row range [${String(r0)}, ${String(r1)}) is not two integers`);
  checkDims(rows, cols);
  const need = rows * rowBytes(type, cols);
  const view = type === KernelType.F32 ? m.f32 : type === KernelType.F16 || type === KernelType.BF16 ? m.u16 : m.i8;
  if (!(bytes instanceof Uint8Array) || byteLengthOf.call(bytes) !== need || view?.byteLength !== need || view.buffer !== bytes.buffer || view.byteOffset !== bytes.byteOffset) {
    throw new ModelError(`matrix ${rows}x${cols} of type ${type} needs ${need} bytes, has ${bytes instanceof Uint8Array ? byteLengthOf.call(bytes) : undefined} (and a typed view over the same bytes)`);
  }
  const xs = lengthOf.call(x);
  const ys = lengthOf.call(y);
  if (xs < cols) throw new ModelError(`mat-vec input has ${xs} entries, matrix has ${cols} columns`);
  if (ys < r1 || r0 < 0 || r1 > rows || r0 > r1) throw new ModelError(`mat-vec rows [${r0}, ${r1}) outside matrix of ${rows} rows or output of ${ys}`);
}

/**
 * y[r] = sum_j W[r, j] * x[j] for rows r in [r0, r1) (default all rows). x has m.cols entries, y at
 * least r1. The shim's SIMD kernels (native/matvec.c, float32 accumulation) on the matrix's own
 * bytes when the shim loads; else the TypeScript kernels (matvecReference). Allocation-free.
 */
export function matvec(m: PreparedMatrix, x: Float32Array, y: Float32Array, r0 = 0, r1?: number): void {
  const { type, rows, cols, bytes } = m;
  const end = r1 ?? rows;
  checkShapes(m, type, rows, cols, bytes, x, y, r0, end);
  if (nativeMatvecAvailable()) nativeMatvec(type, bytes, rows, cols, x, y, r0, end);
  else matvecReference(m, x, y, r0, end);
}

/**
 * The TypeScript kernels (float64 accumulation): the reference every native kernel is tested
 * against, and the fallback without the shim. Allocation-free except the first time a wider Q4_0
 * matrix is seen.
 */
export function matvecReference(m: PreparedMatrix, x: Float32Array, y: Float32Array, r0 = 0, r1 = m.rows): void {
  checkShapes(m, m.type, m.rows, m.cols, m.bytes, x, y, r0, r1);
  switch (m.type) {
    case KernelType.F32:
      f32Rows(m.f32!, m.cols, x, y, r0, r1);
      return;
    case KernelType.F16:
      halfRows(m.u16!, f16ToF32Table(), m.cols, x, y, r0, r1);
      return;
    case KernelType.BF16:
      halfRows(m.u16!, bf16ToF32Table(), m.cols, x, y, r0, r1);
      return;
    case KernelType.Q8_0:
      q8Rows(m.bytes, m.i8!, m.cols, x, y, r0, r1);
      return;
    case KernelType.Q4_0: {
      const nb = m.cols >> 5;
      if (xsumScratch.length < nb) xsumScratch = new Float64Array(nb);
      const xs = xsumScratch;
      for (let b = 0; b < nb; b++) {
        let s = 0;
        for (let k = b * 32, e = k + 32; k < e; k++) s += x[k]!;
        xs[b] = s;
      }
      q4Rows(m.bytes, m.cols, x, xs, y, r0, r1);
      return;
    }
    case KernelType.Q4_K:
    case KernelType.Q6_K:
      kquantRows(m.type === KernelType.Q4_K, m.bytes, m.cols, x, y, r0, r1);
      return;
  }
}
