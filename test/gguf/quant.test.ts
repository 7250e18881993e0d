// Half/bfloat16 conversions, reference quantizers, and block decoders checked against the block layouts.
import { mulberry32 as rng } from "../../src/util/prng.ts";
import { describe, expect, test } from "bun:test";
import { InputError } from "../../src/errors.ts";
import {
  bf16ToF32, decodeBlockQ4_0, decodeBlockQ4_K, decodeBlockQ6_K, decodeBlockQ8_0, dequantize, dequantizeRow, encodeBlockQ4_0,
  encodeBlockQ8_0, f16ToF32, f32ToBf16, f32ToF16, GgmlType, quantize, readGguf,
} from "../../src/gguf/index.ts";
import { fixtureBytes } from "./helpers.ts";

const halfBits = (x: number) => [f32ToF16(x) & 0xff, f32ToF16(x) >> 8];

describe("half and bfloat16", () => {
  test("every non-NaN half converts to float and back to the same bits", () => {
    for (let h = 0; h < 65536; h++) {
      const x = f16ToF32(h);
      if (Number.isNaN(x)) continue;
      expect(f32ToF16(x)).toBe(h);
    }
  });
  test("float to half rounds ties to even and overflows to infinity like ggml", () => {
    expect(f16ToF32(f32ToF16(1 + 2 ** -11))).toBe(1); // tie, 1.0 is even
    expect(f16ToF32(f32ToF16(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9); // tie, rounds up to even
    expect(f16ToF32(f32ToF16(65519))).toBe(65504);
    expect(f16ToF32(f32ToF16(65520))).toBe(Infinity);
    expect(f32ToF16(NaN) & 0x7c00).toBe(0x7c00);
  });
  test("bfloat16 rounds to nearest even and keeps NaN quiet", () => {
    expect(bf16ToF32(f32ToBf16(1 + 2 ** -8))).toBe(1); // tie to even
    expect(bf16ToF32(f32ToBf16(1 + 3 * 2 ** -8))).toBe(1 + 2 ** -6);
    expect(Number.isNaN(bf16ToF32(f32ToBf16(NaN)))).toBe(true);
    expect(bf16ToF32(0x3fc0)).toBe(1.5);
  });
});

describe("reference quantizers", () => {
  test("Q8_0: d = amax/127, values rounded half away from zero (C roundf, not banker's)", () => {
    const x = new Float32Array(32);
    x.set([127, 0.5, -0.5, 1.5, 2.5, -2.5, 0.49, -127]);
    const b = new Uint8Array(34);
    encodeBlockQ8_0(x, 0, b, 0);
    expect(f16ToF32(b[0]! | (b[1]! << 8))).toBe(1);
    expect(Array.from(new Int8Array(b.buffer, 2, 8))).toEqual([127, 1, -1, 2, 3, -3, 0, -127]);
  });
  test("Q4_0: d = max/-8 of the signed extreme, nibble = min(15, trunc(x/d + 8.5))", () => {
    const x = new Float32Array(32);
    x.set([-8, 7.6, 0.5, -0.5, 3]);
    x[16] = -7.9;
    const b = new Uint8Array(18);
    encodeBlockQ4_0(x, 0, b, 0);
    expect(f16ToF32(b[0]! | (b[1]! << 8))).toBe(1);
    // d = -8 / -8 = 1, so the nibble is trunc(x + 8.5) capped at 15
    expect([b[2]! & 15, b[3]! & 15, b[4]! & 15, b[5]! & 15, b[6]! & 15, b[2]! >> 4]).toEqual([0, 15, 9, 8, 11, 0]);
  });
  test("an all-zero block quantizes to d = 0 and decodes to zeros", () => {
    for (const t of [GgmlType.Q8_0, GgmlType.Q4_0]) {
      expect(Array.from(dequantize({ type: t, data: quantize(t, new Float32Array(32)), nElements: 32 })).every((v) => v === 0)).toBe(true);
    }
  });
  test("quantize -> dequantize error is bounded by the step (Q8_0: half a step + f16 scale rounding; Q4_0: one step, 8 is clamped to 7) and F32 is exact", () => {
    const r = rng(42);
    const x = Float32Array.from({ length: 32 * 64 }, () => (r() - 0.5) * 10);
    expect(dequantize({ type: 0, data: quantize(0, x), nElements: x.length })).toEqual(x);
    for (const [t, levels, bound] of [[GgmlType.Q8_0, 127, 0.5 + 127 * 2 ** -11], [GgmlType.Q4_0, 8, 1 + 8 * 2 ** -11]] as const) {
      const y = dequantize({ type: t, data: quantize(t, x), nElements: x.length });
      for (let b = 0; b < 64; b++) {
        let amax = 0;
        for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]!));
        const step = amax / levels;
        for (let j = 0; j < 32; j++) expect(Math.abs(y[b * 32 + j]! - x[b * 32 + j]!)).toBeLessThanOrEqual(step * bound + 1e-6);
      }
    }
  });
  test("re-quantizing gguf-py's own F16, BF16, Q8_0 and Q4_0 tensors reproduces their bytes", async () => {
    const g = readGguf(await fixtureBytes("ref-s1-a32.gguf"));
    for (const t of g.tensors) expect(Buffer.from(quantize(t.type, dequantize(t))).equals(Buffer.from(t.data))).toBe(true);
  });
});

/** Packs a Q4_K block from its fields as ggml's block_q4_K lays them out. */
function packQ4K(d: number, dmin: number, sc: number[], m: number[], q: number[]): Uint8Array {
  const b = new Uint8Array(144);
  b.set(halfBits(d), 0);
  b.set(halfBits(dmin), 2);
  for (let j = 0; j < 4; j++) {
    b[4 + j] = (sc[j]! & 63) | ((sc[j + 4]! >> 4) << 6);
    b[4 + j + 4] = (m[j]! & 63) | ((m[j + 4]! >> 4) << 6);
    b[4 + j + 8] = (sc[j + 4]! & 15) | ((m[j + 4]! & 15) << 4);
  }
  for (let e = 0; e < 256; e++) {
    const g = e >> 5;
    const at = 16 + (g >> 1) * 32 + (e & 31);
    b[at] = b[at]! | (q[e]! << ((g & 1) * 4));
  }
  return b;
}

/** Packs a Q6_K block: 6-bit q (0..63, value q-32) split into ql nibbles and qh 2-bit pairs, 16 int8 scales, f16 d. */
function packQ6K(d: number, sc: number[], q: number[]): Uint8Array {
  const b = new Uint8Array(210);
  for (let e = 0; e < 256; e++) {
    const h = e >> 7;
    const j = (e >> 5) & 3;
    const l = e & 31;
    const ql = h * 64 + (j & 1) * 32 + l;
    b[ql] = b[ql]! | ((q[e]! & 15) << ((j >> 1) * 4));
    const qh = 128 + h * 32 + l;
    b[qh] = b[qh]! | ((q[e]! >> 4) << (2 * j));
  }
  for (let i = 0; i < 16; i++) b[192 + i] = sc[i]! & 0xff;
  b.set(halfBits(d), 208);
  return b;
}

describe("K-quant block decoders", () => {
  test("Q4_K: element e = d*sc[e/32]*q - dmin*m[e/32], every 6-bit scale and min position", () => {
    const r = rng(4);
    for (let rep = 0; rep < 20; rep++) {
      const d = f16ToF32(f32ToF16(r() * 0.1));
      const dmin = f16ToF32(f32ToF16(r() * 0.1));
      const sc = Array.from({ length: 8 }, () => Math.floor(r() * 64));
      const m = Array.from({ length: 8 }, () => Math.floor(r() * 64));
      const q = Array.from({ length: 256 }, () => Math.floor(r() * 16));
      const src = new Uint8Array(145);
      src.set(packQ4K(d, dmin, sc, m, q), 1); // odd offset: decoders work on unaligned bytes
      const out = new Float32Array(256);
      decodeBlockQ4_K(src, 1, out, 0);
      for (let e = 0; e < 256; e++) expect(out[e]!).toBeCloseTo(d * sc[e >> 5]! * q[e]! - dmin * m[e >> 5]!, 5);
    }
  });
  test("Q6_K: element e = d*scale[e/16]*(q-32), signed scales, all four 2-bit high positions", () => {
    const r = rng(6);
    for (let rep = 0; rep < 20; rep++) {
      const d = f16ToF32(f32ToF16(r() * 0.01));
      const sc = Array.from({ length: 16 }, () => Math.floor(r() * 256) - 128);
      const q = Array.from({ length: 256 }, () => Math.floor(r() * 64));
      const out = new Float32Array(256);
      decodeBlockQ6_K(packQ6K(d, sc, q), 0, out, 0);
      for (let e = 0; e < 256; e++) expect(out[e]!).toBeCloseTo(d * sc[e >> 4]! * (q[e]! - 32), 4);
    }
  });
  test("Q4_K and Q6_K tensors dequantize block after block", () => {
    const one = packQ6K(1, new Array(16).fill(1), Array.from({ length: 256 }, (_, i) => i % 64));
    const two = new Uint8Array(420);
    two.set(one, 0);
    two.set(one, 210);
    const v = dequantize({ type: GgmlType.Q6_K, data: two, nElements: 512 });
    expect(v[256 + 5]).toBe(5 - 32);
    const k = packQ4K(1, 0, new Array(8).fill(1), new Array(8).fill(0), new Array(256).fill(3));
    expect(Array.from(dequantize({ type: GgmlType.Q4_K, data: k, nElements: 256 })).every((x) => x === 3)).toBe(true);
  });
});

describe("block decoders and byte order", () => {
  test("Q8_0 and Q4_0 decode from odd byte offsets (34- and 18-byte blocks)", () => {
    const x = Float32Array.from({ length: 32 }, (_, i) => i - 16);
    for (const [t, dec, size] of [[8, decodeBlockQ8_0, 34], [2, decodeBlockQ4_0, 18]] as const) {
      const q = quantize(t, x);
      const src = new Uint8Array(size + 3);
      src.set(q, 3);
      const a = new Float32Array(32);
      const b = new Float32Array(32);
      dec(src, 3, a, 0);
      dec(q, 0, b, 0);
      expect(a).toEqual(b);
    }
  });
  test("big-endian Q8_0 and F32 data decode to the same values as little-endian", () => {
    const x = Float32Array.from({ length: 32 }, (_, i) => Math.sin(i));
    const le = quantize(8, x);
    const be = le.slice();
    be[0] = le[1]!;
    be[1] = le[0]!;
    expect(dequantize({ type: 8, data: be, nElements: 32 }, false)).toEqual(dequantize({ type: 8, data: le, nElements: 32 }));
    const f = quantize(0, x);
    const fbe = f.slice();
    for (let i = 0; i < fbe.length; i += 4) fbe.subarray(i, i + 4).reverse();
    expect(dequantize({ type: 0, data: fbe, nElements: 32 }, false)).toEqual(x);
  });
  test("dequantizeRow refuses unsupported types and out-of-bounds ranges with InputError", () => {
    expect(() => dequantizeRow(GgmlType.Q5_K, new Uint8Array(176), 0, new Float32Array(256), 0, 256)).toThrow(InputError);
    expect(() => dequantizeRow(GgmlType.Q8_0, new Uint8Array(33), 0, new Float32Array(32), 0, 32)).toThrow(InputError);
    expect(() => dequantizeRow(GgmlType.Q8_0, new Uint8Array(34), 0, new Float32Array(31), 0, 32)).toThrow(InputError);
    expect(() => quantize(GgmlType.Q5_K, new Float32Array(256))).toThrow(InputError);
    expect(() => quantize(GgmlType.Q4_K, new Float32Array(32))).toThrow(InputError); // not a whole 256-value super-block
  });
});
