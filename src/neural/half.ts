// Lookup tables decoding IEEE half (F16) and bfloat16 bit patterns to float, shared by the kernels.

function buildF16Table(): Float32Array {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    let v: number;
    if (exp === 0) v = mant * 2 ** -24;
    else if (exp === 31) v = mant === 0 ? Infinity : NaN;
    else v = (1 + mant / 1024) * 2 ** (exp - 15);
    t[h] = sign * v;
  }
  return t;
}

function buildBf16Table(): Float32Array {
  const u = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) u[h] = h << 16;
  return new Float32Array(u.buffer);
}

/** `F16_TO_F32[bits]` is the value of the half-precision number with those 16 bits. */
export const F16_TO_F32: Float32Array = buildF16Table();

/** `BF16_TO_F32[bits]` is the value of the bfloat16 number with those 16 bits. */
export const BF16_TO_F32: Float32Array = buildBf16Table();
