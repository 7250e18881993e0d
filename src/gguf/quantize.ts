// Quantization from Float32 as ggml's reference quantizers do: F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K (and F32 as is).
import { InputError } from "../errors.ts";
import { GgmlType, ggmlTypeInfo } from "./ggml-types.ts";
import { f32ToBf16, f32ToF16 } from "./half.ts";
import { encodeBlockQ4_K, encodeBlockQ6_K } from "./quantize-k.ts";

export { encodeBlockQ4_K, encodeBlockQ6_K } from "./quantize-k.ts";

const fr = Math.fround;
/** C roundf: halves away from zero. */
const roundf = (x: number) => (x < 0 ? -Math.round(-x) : Math.round(x));

/** 32 floats at src[srcOff] -> one Q8_0 block (34 bytes) at dst[dstOff] (quantize_row_q8_0_ref). */
export function encodeBlockQ8_0(src: ArrayLike<number>, srcOff: number, dst: Uint8Array, dstOff: number): void {
  let amax = 0;
  for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(src[srcOff + j]!));
  const d = fr(amax / 127);
  const id = d !== 0 ? fr(1 / d) : 0;
  const h = f32ToF16(d);
  dst[dstOff] = h & 0xff;
  dst[dstOff + 1] = h >> 8;
  for (let j = 0; j < 32; j++) dst[dstOff + 2 + j] = roundf(fr(fr(src[srcOff + j]!) * id)) & 0xff;
}

/** 32 floats -> one Q4_0 block (18 bytes) (quantize_row_q4_0_ref: d = max / -8, nibble = min(15, trunc(x/d + 8.5))). */
export function encodeBlockQ4_0(src: ArrayLike<number>, srcOff: number, dst: Uint8Array, dstOff: number): void {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < 32; j++) {
    const v = fr(src[srcOff + j]!);
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  const d = fr(max / -8);
  const id = d !== 0 ? fr(1 / d) : 0;
  const h = f32ToF16(d);
  dst[dstOff] = h & 0xff;
  dst[dstOff + 1] = h >> 8;
  for (let j = 0; j < 16; j++) {
    const x0 = fr(fr(src[srcOff + j]!) * id);
    const x1 = fr(fr(src[srcOff + 16 + j]!) * id);
    const xi0 = Math.min(15, Math.max(0, Math.trunc(fr(x0 + 8.5))));
    const xi1 = Math.min(15, Math.max(0, Math.trunc(fr(x1 + 8.5))));
    dst[dstOff + 2 + j] = xi0 | (xi1 << 4);
  }
}

/** ggml type ids `quantize` can produce. */
export const QUANTIZABLE_TYPES: readonly number[] = [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K];

type BlockEncoder = (src: ArrayLike<number>, srcOff: number, dst: Uint8Array, dstOff: number) => void;
const BLOCK_ENCODERS: ReadonlyMap<number, BlockEncoder> = new Map<number, BlockEncoder>([
  [GgmlType.Q8_0, encodeBlockQ8_0],
  [GgmlType.Q4_0, encodeBlockQ4_0],
  [GgmlType.Q4_K, encodeBlockQ4_K],
  [GgmlType.Q6_K, encodeBlockQ6_K],
]);

/**
 * Encodes `n` floats from src[srcOff..] as `type` into dst[dstOff..] (little-endian). `n` must be a
 * multiple of the block size.
 */
export function quantizeRow(type: number, src: ArrayLike<number>, srcOff: number, dst: Uint8Array, dstOff: number, n: number): void {
  const info = ggmlTypeInfo(type);
  if (!info || !QUANTIZABLE_TYPES.includes(type)) throw new InputError(`quantize: ggml type ${info?.name ?? type} is not supported`);
  if (n % info.blockSize !== 0) throw new InputError(`quantize: ${n} values is not a multiple of the ${info.name} block size ${info.blockSize}`);
  const nBytes = (n / info.blockSize) * info.typeSize;
  if (srcOff < 0 || srcOff + n > src.length || dstOff < 0 || dstOff + nBytes > dst.byteLength) {
    throw new InputError(`quantize: ${n} ${info.name} values do not fit the source or destination`);
  }
  if (type === GgmlType.F32) {
    const dv = new DataView(dst.buffer, dst.byteOffset + dstOff, nBytes);
    for (let i = 0; i < n; i++) dv.setFloat32(i * 4, src[srcOff + i]!, true);
  } else if (type === GgmlType.F16 || type === GgmlType.BF16) {
    const conv = type === GgmlType.F16 ? f32ToF16 : f32ToBf16;
    for (let i = 0; i < n; i++) {
      const h = conv(src[srcOff + i]!);
      dst[dstOff + 2 * i] = h & 0xff;
      dst[dstOff + 2 * i + 1] = h >> 8;
    }
  } else {
    const enc = BLOCK_ENCODERS.get(type)!;
    for (let b = 0; b < n / info.blockSize; b++) enc(src, srcOff + b * info.blockSize, dst, dstOff + b * info.typeSize);
  }
}

/** Encodes all of `values` as `type` into a new byte array (length must be a multiple of the block size). */
export function quantize(type: number, values: ArrayLike<number>): Uint8Array {
  const info = ggmlTypeInfo(type);
  if (!info) throw new InputError(`quantize: unknown ggml type ${type}`);
  if (values.length % info.blockSize !== 0) {
    throw new InputError(`quantize: ${values.length} values is not a multiple of the ${info.name} block size ${info.blockSize}`);
  }
  const out = new Uint8Array((values.length / info.blockSize) * info.typeSize);
  quantizeRow(type, values, 0, out, 0, values.length);
  return out;
}
