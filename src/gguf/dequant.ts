// Dequantization to Float32 exactly as gguf-py/ggml compute it: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K.
import { InputError } from "../errors.ts";
import { GgmlType, ggmlTypeInfo } from "./ggml-types.ts";
import { bf16ToF32, f16Table } from "./half.ts";

const fr = Math.fround;

/** Reads the half at src[o] (little-endian unless `le` is false) as a number. */
function half(src: Uint8Array, o: number, le: boolean, t: Float32Array): number {
  return t[le ? src[o]! | (src[o + 1]! << 8) : (src[o]! << 8) | src[o + 1]!]!;
}

/** Q8_0 block (34 bytes: f16 d, 32 x i8) at src[off] -> 32 floats at dst[dstOff]. */
export function decodeBlockQ8_0(src: Uint8Array, off: number, dst: Float32Array, dstOff: number, le = true): void {
  const d = half(src, off, le, f16Table());
  for (let j = 0; j < 32; j++) dst[dstOff + j] = fr(d * ((src[off + 2 + j]! << 24) >> 24));
}

/** Q4_0 block (18 bytes: f16 d, 16 bytes of nibbles; low nibbles are elements 0..15) -> 32 floats. */
export function decodeBlockQ4_0(src: Uint8Array, off: number, dst: Float32Array, dstOff: number, le = true): void {
  const d = half(src, off, le, f16Table());
  for (let j = 0; j < 16; j++) {
    const b = src[off + 2 + j]!;
    dst[dstOff + j] = fr(d * ((b & 0x0f) - 8));
    dst[dstOff + 16 + j] = fr(d * ((b >> 4) - 8));
  }
}

/** Q4_K block (144 bytes: f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles) -> 256 floats. */
export function decodeBlockQ4_K(src: Uint8Array, off: number, dst: Float32Array, dstOff: number, le = true): void {
  const t = f16Table();
  const d = half(src, off, le, t);
  const dmin = half(src, off + 2, le, t);
  const sc = off + 4;
  const qs = off + 16;
  for (let g = 0; g < 8; g++) {
    let s: number;
    let m: number;
    if (g < 4) {
      s = src[sc + g]! & 63;
      m = src[sc + g + 4]! & 63;
    } else {
      s = (src[sc + g + 4]! & 0x0f) | ((src[sc + g - 4]! >> 6) << 4);
      m = (src[sc + g + 4]! >> 4) | ((src[sc + g]! >> 6) << 4);
    }
    const d1 = fr(d * s);
    const m1 = fr(dmin * m);
    const q = qs + (g >> 1) * 32;
    const shift = (g & 1) * 4;
    const o = dstOff + g * 32;
    for (let l = 0; l < 32; l++) dst[o + l] = fr(fr(d1 * ((src[q + l]! >> shift) & 0x0f)) - m1);
  }
}

/** Q6_K block (210 bytes: 128 ql, 64 qh, 16 x i8 scales, f16 d) -> 256 floats. */
export function decodeBlockQ6_K(src: Uint8Array, off: number, dst: Float32Array, dstOff: number, le = true): void {
  const d = half(src, off + 208, le, f16Table());
  for (let h = 0; h < 2; h++) {
    const ql = off + h * 64;
    const qh = off + 128 + h * 32;
    const sc = off + 192 + h * 8;
    const o = dstOff + h * 128;
    for (let l = 0; l < 32; l++) {
      const is = l >> 4;
      const hb = src[qh + l]!;
      const q1 = ((src[ql + l]! & 0x0f) | ((hb & 3) << 4)) - 32;
      const q2 = ((src[ql + l + 32]! & 0x0f) | (((hb >> 2) & 3) << 4)) - 32;
      const q3 = ((src[ql + l]! >> 4) | (((hb >> 4) & 3) << 4)) - 32;
      const q4 = ((src[ql + l + 32]! >> 4) | (((hb >> 6) & 3) << 4)) - 32;
      dst[o + l] = fr(fr(d * ((src[sc + is]! << 24) >> 24)) * q1);
      dst[o + l + 32] = fr(fr(d * ((src[sc + is + 2]! << 24) >> 24)) * q2);
      dst[o + l + 64] = fr(fr(d * ((src[sc + is + 4]! << 24) >> 24)) * q3);
      dst[o + l + 96] = fr(fr(d * ((src[sc + is + 6]! << 24) >> 24)) * q4);
    }
  }
}

export type BlockDecoder = (src: Uint8Array, off: number, dst: Float32Array, dstOff: number, le?: boolean) => void;

/** Block decoders by ggml type id (quantized types only). */
export const BLOCK_DECODERS: ReadonlyMap<number, BlockDecoder> = new Map<number, BlockDecoder>([
  [GgmlType.Q8_0, decodeBlockQ8_0],
  [GgmlType.Q4_0, decodeBlockQ4_0],
  [GgmlType.Q4_K, decodeBlockQ4_K],
  [GgmlType.Q6_K, decodeBlockQ6_K],
]);

/** ggml type ids `dequantize` supports. */
export const DEQUANTIZABLE_TYPES: readonly number[] = [GgmlType.F32, GgmlType.F16, GgmlType.BF16, ...BLOCK_DECODERS.keys()];

/**
 * Decodes `n` elements of type `type` from src[srcOff..] into dst[dstOff..]. `n` must be a multiple of
 * the block size and the bytes must be there. `le` = false for data from a big-endian file.
 */
export function dequantizeRow(type: number, src: Uint8Array, srcOff: number, dst: Float32Array, dstOff: number, n: number, le = true): void {
  const info = ggmlTypeInfo(type);
  if (!info || (!BLOCK_DECODERS.has(type) && type !== GgmlType.F32 && type !== GgmlType.F16 && type !== GgmlType.BF16)) {
    throw new InputError(`dequantize: ggml type ${info?.name ?? type} is not supported`);
  }
  if (n % info.blockSize !== 0) throw new InputError(`dequantize: ${n} elements is not a multiple of the ${info.name} block size`);
  const nBytes = (n / info.blockSize) * info.typeSize;
  if (srcOff < 0 || srcOff + nBytes > src.byteLength || dstOff < 0 || dstOff + n > dst.length) {
    throw new InputError(`dequantize: ${n} ${info.name} elements do not fit the source or destination`);
  }
  if (type === GgmlType.F32) {
    const dv = new DataView(src.buffer, src.byteOffset + srcOff, nBytes);
    for (let i = 0; i < n; i++) dst[dstOff + i] = dv.getFloat32(i * 4, le);
  } else if (type === GgmlType.F16) {
    const t = f16Table();
    for (let i = 0; i < n; i++) dst[dstOff + i] = half(src, srcOff + 2 * i, le, t);
  } else if (type === GgmlType.BF16) {
    for (let i = 0, o = srcOff; i < n; i++, o += 2) {
      dst[dstOff + i] = bf16ToF32(le ? src[o]! | (src[o + 1]! << 8) : (src[o]! << 8) | src[o + 1]!);
    }
  } else {
    const dec = BLOCK_DECODERS.get(type)!;
    for (let b = 0; b < n / info.blockSize; b++) dec(src, srcOff + b * info.typeSize, dst, dstOff + b * info.blockSize, le);
  }
}

/** Dequantizes a whole tensor (e.g. a GgufTensor; pass the file's `littleEndian`) into a new Float32Array. */
export function dequantize(t: { type: number; data: Uint8Array; nElements: number }, littleEndian = true): Float32Array {
  const out = new Float32Array(t.nElements);
  dequantizeRow(t.type, t.data, 0, out, 0, t.nElements, littleEndian);
  return out;
}
