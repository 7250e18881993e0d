// Lookup tables decoding IEEE half (F16) and bfloat16 bit patterns to float, shared by the kernels (built on first use).
import { f16Table } from "../gguf/half.ts";
import { lazy } from "../util/lazy.ts";

/** `f16ToF32Table()[bits]` is the value of the half-precision number with those 16 bits. */
export const f16ToF32Table: () => Float32Array = f16Table;

/** `bf16ToF32Table()[bits]` is the value of the bfloat16 number with those 16 bits. */
export const bf16ToF32Table = lazy((): Float32Array => {
  const u = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) u[h] = h << 16;
  return new Float32Array(u.buffer);
});
