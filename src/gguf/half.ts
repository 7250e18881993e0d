// IEEE half (F16) and bfloat16 conversions, bit-exact with ggml (round to nearest even).

const f16 = new Float16Array(1);
const f16Bits = new Uint16Array(f16.buffer);
const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

let table: Float32Array | null = null;

/** All 65536 half values as float32 (256 KiB, built on first use), indexed by the half's bits. */
export function f16Table(): Float32Array {
  if (table === null) {
    const t = new Float32Array(65536);
    const h = new Float16Array(new Uint16Array(65536).map((_, i) => i).buffer);
    for (let i = 0; i < 65536; i++) t[i] = h[i]!;
    table = t;
  }
  return table;
}

/** Half bits -> number (exactly the float32 value). */
export function f16ToF32(bits: number): number {
  return f16Table()[bits & 0xffff]!;
}

/** number -> half bits, rounded to nearest even from its float32 value (NaN -> 0x7e00). */
export function f32ToF16(x: number): number {
  f16[0] = Math.fround(x);
  return f16Bits[0]!;
}

/** bfloat16 bits -> number. */
export function bf16ToF32(bits: number): number {
  f32Bits[0] = (bits & 0xffff) << 16;
  return f32[0]!;
}

/** number -> bfloat16 bits as ggml_compute_fp32_to_bf16: NaN stays a quiet NaN, else round to nearest even. */
export function f32ToBf16(x: number): number {
  f32[0] = x;
  const u = f32Bits[0]!;
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 64) & 0xffff;
  return ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16) & 0xffff;
}
