// Element ranges of a tensor decoded to float and re-encoded (re-quantizing whole blocks) for mutations.
import { InputError, ModelError } from "../errors.ts";
import { decodeBlockQ4_K, decodeBlockQ6_K } from "../gguf/dequant.ts";
import { f32ToBf16 } from "../gguf/half.ts";
import { bf16ToF32Table, f16ToF32Table } from "./half.ts";
import { KernelType } from "./matvec.ts";
import { viewOf } from "../util/data-view.ts";

/** Elements per block and bytes per block of the kernel types. */
export function blockShape(type: number): { block: number; bytes: number } {
  switch (type) {
    case KernelType.F32:
      return { block: 1, bytes: 4 };
    case KernelType.F16:
    case KernelType.BF16:
      return { block: 1, bytes: 2 };
    case KernelType.Q8_0:
      return { block: 32, bytes: 34 };
    case KernelType.Q4_0:
      return { block: 32, bytes: 18 };
    case KernelType.Q4_K:
      return { block: 256, bytes: 144 };
    case KernelType.Q6_K:
      return { block: 256, bytes: 210 };
    default:
      throw new ModelError(`ggml type ${type} is not supported by the neural runtime`);
  }
}

/** Decodes elements [first, first + out.length) of a tensor of `type` stored in `bytes` into `out`. */
export function decodeElements(type: number, bytes: Uint8Array, first: number, out: Float32Array): void {
  const n = out.length;
  const dv = viewOf(bytes);
  switch (type) {
    case KernelType.F32:
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32((first + i) * 4, true);
      return;
    case KernelType.F16:
      {
        const F16 = f16ToF32Table();
        for (let i = 0; i < n; i++) out[i] = F16[dv.getUint16((first + i) * 2, true)]!;
      }
      return;
    case KernelType.BF16:
      {
        const BF16 = bf16ToF32Table();
        for (let i = 0; i < n; i++) out[i] = BF16[dv.getUint16((first + i) * 2, true)]!;
      }
      return;
    case KernelType.Q8_0: {
      const F16 = f16ToF32Table();
      for (let i = 0; i < n; i++) {
        const e = first + i;
        // Not e >> 5: an element index from 2^31 on (a tensor over 2 GiB of elements) wrapped negative.
        const p = Math.floor(e / 32) * 34;
        out[i] = F16[dv.getUint16(p, true)]! * dv.getInt8(p + 2 + (e & 31));
      }
      return;
    }
    case KernelType.Q4_0: {
      const F16 = f16ToF32Table();
      for (let i = 0; i < n; i++) {
        const e = first + i;
        const p = Math.floor(e / 32) * 18;
        const k = e & 31;
        const q = dv.getUint8(p + 2 + (k & 15));
        out[i] = F16[dv.getUint16(p, true)]! * ((k < 16 ? q & 15 : q >> 4) - 8);
      }
      return;
    }
    case KernelType.Q4_K:
    case KernelType.Q6_K: {
      // Whole super-blocks through the gguf module's decoders, then the wanted range.
      if (n === 0) return;
      const decode = type === KernelType.Q4_K ? decodeBlockQ4_K : decodeBlockQ6_K;
      const bb = type === KernelType.Q4_K ? 144 : 210;
      const b0 = Math.floor(first / 256);
      const b1 = Math.floor((first + n - 1) / 256);
      const all = new Float32Array((b1 - b0 + 1) * 256);
      for (let b = b0; b <= b1; b++) decode(bytes, b * bb, all, (b - b0) * 256);
      out.set(all.subarray(first - b0 * 256, first - b0 * 256 + n));
      return;
    }
    default:
      blockShape(type);
  }
}

/** Quantizes whole blocks of `values` (a whole number of the type's blocks) into `out` (Q8_0, Q4_0, Q4_K, Q6_K). */
export type BlockQuantizer = (type: number, values: Float32Array, out: Uint8Array) => void;

const bf16Bits = f32ToBf16;

const blockTypeName = (type: number) => (({ 8: "Q8_0", 2: "Q4_0", 12: "Q4_K", 14: "Q6_K" }) as Record<number, string>)[type] ?? `type ${type}`;

/**
 * Why `values` cannot be stored in a tensor of `type` (not finite, or beyond what the type, or a
 * quantized block's F16 scale, can hold), or null when they can. The CTRM gate asks this before a
 * mutation is journaled (a dry run of the encode), so replay never meets a value it cannot write.
 */
export function encodeProblem(type: number, values: Float32Array): string | null {
  const n = values.length;
  for (let i = 0; i < n; i++) if (!Number.isFinite(values[i]!)) return `value ${i} is not finite (${values[i]})`;
  switch (type) {
    case KernelType.F32:
      for (let i = 0; i < n; i++) if (!Number.isFinite(Math.fround(values[i]!))) return `value ${i} (${values[i]}) overflows F32`;
      return null;
    case KernelType.F16:
      for (let i = 0; i < n; i++) if (Math.abs(values[i]!) > 65504) return `value ${i} (${values[i]}) overflows F16`;
      return null;
    case KernelType.BF16:
      for (let i = 0; i < n; i++) if ((bf16Bits(values[i]!) & 0x7f80) === 0x7f80) return `value ${i} (${values[i]}) overflows BF16`;
      return null;
    case KernelType.Q8_0:
    case KernelType.Q4_0:
    case KernelType.Q4_K:
    case KernelType.Q6_K: {
      // The block scale is stored as F16: amax / 127 (Q8_0) or amax / 8 (Q4_0) must stay below 65504.
      // Q4_K's dmin (about |min| / 63) and Q6_K's d (about amax / 4096) get the Q4_0 limit, which
      // keeps them far below it and the k-quant fits' float32 sums of x^3 finite.
      const limit = 65504 * (type === KernelType.Q8_0 ? 127 : 8);
      for (let i = 0; i < n; i++) if (Math.abs(values[i]!) > limit) return `value ${i} (${values[i]}) overflows the F16 block scale of ${blockTypeName(type)}`;
      return null;
    }
    default:
      return `type ${type} cannot be written`;
  }
}

/**
 * Writes `values` over elements [first, first + values.length) of `bytes` (a private copy). Block
 * types re-quantize every touched block: the block is decoded, the new values written in, and the
 * block quantized again with `quantize` (so untouched elements of a touched block may move by up to
 * one quantization step). Throws InputError when a value is not representable in the type.
 */
export function encodeElements(type: number, bytes: Uint8Array, first: number, values: Float32Array, quantize: BlockQuantizer): void {
  const dv = viewOf(bytes);
  const n = values.length;
  const problem = encodeProblem(type, values);
  if (problem) {
    blockShape(type); // an unknown type is reported as such
    throw new InputError(`mutation ${problem}`);
  }
  switch (type) {
    case KernelType.F32:
      for (let i = 0; i < n; i++) dv.setFloat32((first + i) * 4, values[i]!, true);
      return;
    case KernelType.F16:
      for (let i = 0; i < n; i++) dv.setFloat16((first + i) * 2, values[i]!, true);
      return;
    case KernelType.BF16:
      for (let i = 0; i < n; i++) dv.setUint16((first + i) * 2, bf16Bits(values[i]!), true);
      return;
    case KernelType.Q8_0:
    case KernelType.Q4_0:
    case KernelType.Q4_K:
    case KernelType.Q6_K: {
      // Only the blocks (32 values; k-quant super-blocks: 256) the range touches are re-quantized.
      const { block: bs, bytes: bb } = blockShape(type);
      const b0 = Math.floor(first / bs);
      const b1 = Math.floor((first + n - 1) / bs);
      const block = new Float32Array((b1 - b0 + 1) * bs);
      decodeElements(type, bytes, b0 * bs, block);
      block.set(values, first - b0 * bs);
      const out = bytes.subarray(b0 * bb, (b1 + 1) * bb);
      quantize(type, block, out);
      return;
    }
    default:
      blockShape(type);
  }
}
