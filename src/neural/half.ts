// Lookup tables decoding IEEE half (F16) and bfloat16 bit patterns to float, shared by the kernels.
import { f16Table } from "../gguf/half.ts";

function buildBf16Table(): Float32Array {
  const u = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) u[h] = h << 16;
  return new Float32Array(u.buffer);
}

/** `F16_TO_F32[bits]` is the value of the half-precision number with those 16 bits. */
export const F16_TO_F32: Float32Array = f16Table();

/** `BF16_TO_F32[bits]` is the value of the bfloat16 number with those 16 bits. */
export const BF16_TO_F32: Float32Array = buildBf16Table();
