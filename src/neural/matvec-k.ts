// Mat-vec rows of k-quant matrices (Q4_K, Q6_K) in TypeScript, the reference and fallback of native/matvec-kquant.c: each 256-value super-block decoded by the gguf module, then dotted.
import { decodeBlockQ4_K, decodeBlockQ6_K } from "../gguf/dequant.ts";

/** One decoded super-block (no allocation per product). */
const scratch = new Float32Array(256);

/**
 * y[r] = sum_j W[r, j] x[j] for rows [r0, r1) of a Q4_K (`bytesPerBlock` 144) or Q6_K (210) matrix
 * of `cols` columns (a multiple of 256), float64 accumulation over the exactly dequantized weights.
 */
export function kquantRows(q4k: boolean, u8: Uint8Array, cols: number, x: Float32Array, y: Float32Array, r0: number, r1: number): void {
  const decode = q4k ? decodeBlockQ4_K : decodeBlockQ6_K;
  const bb = q4k ? 144 : 210;
  const nb = cols >> 8;
  const w = scratch;
  for (let r = r0; r < r1; r++) {
    let acc = 0;
    for (let b = 0, p = r * nb * bb, xo = 0; b < nb; b++, p += bb, xo += 256) {
      decode(u8, p, w, 0);
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < 256; k += 4) {
        s0 += w[k]! * x[xo + k]!;
        s1 += w[k + 1]! * x[xo + k + 1]!;
        s2 += w[k + 2]! * x[xo + k + 2]!;
        s3 += w[k + 3]! * x[xo + k + 3]!;
      }
      acc += s0 + s1 + s2 + s3;
    }
    y[r] = acc;
  }
}
