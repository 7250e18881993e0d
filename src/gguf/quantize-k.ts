// k-quant super-block quantizers (Q4_K, Q6_K) in float32 arithmetic, following ggml's reference quantizers.
import { f16ToF32, f32ToF16 } from "./half.ts";

const fr = Math.fround;
/** Values per k-quant super-block (ggml's QK_K). */
const SUPER_BLOCK = 256;
/** ggml's GROUP_MAX_EPS: a group whose largest |x| is below this is all zero. */
const TINY = fr(1e-15);
const TENTH = fr(0.1);

const roundBox = new Float32Array(1);
const roundBits = new Int32Array(roundBox.buffer);
/**
 * ggml's nearest_int: add 1.5 * 2^23 in float32 and read the low mantissa bits. Rounds halves to even
 * for |x| <= 4194303 (every caller stays inside that); reproduced bit for bit beyond it too.
 */
function nearestInt(x: number): number {
  roundBox[0] = fr(x) + 12582912;
  return (roundBits[0]! & 0x007fffff) - 0x00400000;
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/**
 * Fits x[i] ~ scale * q[i] - offset with q in [0, levels] and offset >= 0, minimising the
 * weighted squared error over a small sweep of candidate scales (the algorithm of ggml's
 * make_qkx2_quants, with rmin -1, rdelta 0.1, 20 steps, squared error). Writes q into `q` and
 * returns [scale, offset].
 */
function fitAffine(x: Float32Array, w: Float32Array, levels: number, q: Uint8Array, trial: Uint8Array): [number, number] {
  const n = x.length;
  let lo = x[0]!;
  let hi = x[0]!;
  let sumW = w[0]!;
  let sumX = fr(sumW * x[0]!);
  for (let i = 1; i < n; i++) {
    const v = x[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    sumW = fr(sumW + w[i]!);
    sumX = fr(sumX + fr(w[i]! * v));
  }
  if (lo > 0) lo = 0;
  if (hi === lo) {
    q.fill(0);
    return [0, -lo];
  }
  let inv = fr(levels / fr(hi - lo));
  let scale = fr(1 / inv);
  let best = 0;
  for (let i = 0; i < n; i++) {
    q[i] = clamp(nearestInt(fr(inv * fr(x[i]! - lo))), 0, levels);
    const e = fr(fr(fr(scale * q[i]!) + lo) - x[i]!);
    best = fr(best + fr(w[i]! * fr(e * e)));
  }
  for (let step = 0; step <= 20; step++) {
    // The span uses the offset of the best fit so far, as ggml's loop does.
    inv = fr(fr(fr(-1 + fr(TENTH * step)) + levels) / fr(hi - lo));
    let sL = 0;
    let sL2 = 0;
    let sXL = 0;
    for (let i = 0; i < n; i++) {
      const l = clamp(nearestInt(fr(inv * fr(x[i]! - lo))), 0, levels);
      trial[i] = l;
      const wl = fr(w[i]! * l);
      sL = fr(sL + wl);
      sL2 = fr(sL2 + fr(wl * l));
      sXL = fr(sXL + fr(wl * x[i]!));
    }
    const det = fr(fr(sumW * sL2) - fr(sL * sL));
    if (!(det > 0)) continue;
    let s = fr(fr(fr(sumW * sXL) - fr(sumX * sL)) / det);
    let m = fr(fr(fr(sL2 * sumX) - fr(sL * sXL)) / det);
    if (m > 0) {
      m = 0;
      s = fr(sXL / sL2);
    }
    let err = 0;
    for (let i = 0; i < n; i++) {
      const e = fr(fr(fr(s * trial[i]!) + m) - x[i]!);
      err = fr(err + fr(w[i]! * fr(e * e)));
    }
    if (err < best) {
      q.set(trial);
      best = err;
      scale = s;
      lo = m;
    }
  }
  return [scale, -lo];
}

/**
 * Fits x[i] ~ scale * (q[i] - half) with q in [0, 2 * half - 1], weighting each error by x[i]^2,
 * trying 19 scales around half / max (the algorithm of ggml's make_qx_quants, rmse_type 1, no
 * importance weights). Writes q into `q` and returns the scale (negative when the largest |x| is positive).
 */
function fitSymmetric(x: Float32Array, half: number, q: Uint8Array): number {
  const n = x.length;
  let peak = 0;
  let apeak = 0;
  for (let i = 0; i < n; i++) {
    const a = Math.abs(x[i]!);
    if (a > apeak) {
      apeak = a;
      peak = x[i]!;
    }
  }
  if (apeak < TINY) {
    q.fill(0);
    return 0;
  }
  const sums = (inv: number): [number, number] => {
    let sLX = 0;
    let sL2 = 0;
    for (let i = 0; i < n; i++) {
      const l = clamp(nearestInt(fr(inv * x[i]!)), -half, half - 1);
      const w = fr(x[i]! * x[i]!);
      sLX = fr(sLX + fr(fr(w * x[i]!) * l));
      sL2 = fr(sL2 + fr(fr(w * l) * l));
    }
    return [sLX, sL2];
  };
  const levelsAt = (inv: number) => {
    for (let i = 0; i < n; i++) q[i] = half + clamp(nearestInt(fr(inv * x[i]!)), -half, half - 1);
  };
  let inv = fr(-half / peak);
  levelsAt(inv);
  let [sLX, sL2] = sums(inv);
  let scale = sL2 !== 0 ? fr(sLX / sL2) : 0;
  let best = fr(scale * sLX);
  for (let k = -9; k <= 9; k++) {
    if (k === 0) continue;
    inv = fr(-fr(half + fr(TENTH * k)) / peak);
    [sLX, sL2] = sums(inv);
    if (sL2 > 0 && fr(sLX * sLX) > fr(best * sL2)) {
      levelsAt(inv);
      scale = fr(sLX / sL2);
      best = fr(scale * sLX);
    }
  }
  return scale;
}

function putHalf(dst: Uint8Array, o: number, x: number): number {
  const h = f32ToF16(x);
  dst[o] = h & 0xff;
  dst[o + 1] = h >> 8;
  return f16ToF32(h);
}

const q4 = { x: new Float32Array(32), w: new Float32Array(32), trial: new Uint8Array(32), q: new Uint8Array(SUPER_BLOCK), scales: new Float32Array(8), mins: new Float32Array(8) };

/**
 * 256 floats at src[srcOff] -> one Q4_K block (144 bytes) at dst[dstOff], the algorithm of ggml's
 * quantize_row_q4_K_ref: eight 32-value groups each fitted as scale * q - min (q 4 bits), their
 * scales and mins then quantized to 6 bits against two F16 super-scales d and dmin.
 */
export function encodeBlockQ4_K(src: ArrayLike<number>, srcOff: number, dst: Uint8Array, dstOff: number): void {
  const { x, w, trial, q, scales, mins } = q4;
  let topScale = 0;
  let topMin = 0;
  for (let g = 0; g < 8; g++) {
    let sq = 0;
    for (let l = 0; l < 32; l++) {
      x[l] = src[srcOff + g * 32 + l]!;
      sq = fr(sq + fr(x[l]! * x[l]!));
    }
    const rms = fr(Math.sqrt(fr(sq / 32)));
    for (let l = 0; l < 32; l++) w[l] = fr(rms + Math.abs(x[l]!));
    const [s, m] = fitAffine(x, w, 15, q.subarray(g * 32, g * 32 + 32), trial);
    scales[g] = s;
    mins[g] = m;
    if (scales[g]! > topScale) topScale = scales[g]!;
    if (mins[g]! > topMin) topMin = mins[g]!;
  }
  const sInv = topScale > 0 ? fr(63 / topScale) : 0;
  const mInv = topMin > 0 ? fr(63 / topMin) : 0;
  const packed = dstOff + 4;
  dst.fill(0, packed, packed + 12);
  const sc6 = new Array<number>(8);
  const mn6 = new Array<number>(8);
  for (let g = 0; g < 8; g++) {
    // The C code narrows to uint8_t before the min with 63.
    const ls = Math.min(63, nearestInt(fr(sInv * scales[g]!)) & 0xff);
    const lm = Math.min(63, nearestInt(fr(mInv * mins[g]!)) & 0xff);
    sc6[g] = ls;
    mn6[g] = lm;
    if (g < 4) {
      dst[packed + g] = ls;
      dst[packed + g + 4] = lm;
    } else {
      dst[packed + g + 4] = (ls & 0x0f) | ((lm & 0x0f) << 4);
      dst[packed + g - 4]! |= (ls >> 4) << 6;
      dst[packed + g]! |= (lm >> 4) << 6;
    }
  }
  const d = putHalf(dst, dstOff, fr(topScale / 63));
  const dmin = putHalf(dst, dstOff + 2, fr(topMin / 63));
  for (let g = 0; g < 8; g++) {
    const step = fr(d * sc6[g]!);
    if (step === 0) continue; // the group keeps the levels of its fit (all decode to -dmin * m)
    const shift = fr(dmin * mn6[g]!);
    for (let l = 0; l < 32; l++) q[g * 32 + l] = clamp(nearestInt(fr(fr(fr(src[srcOff + g * 32 + l]!) + shift) / step)), 0, 15);
  }
  // Nibbles: byte l of each 32-byte chunk c holds group 2c (low) and group 2c + 1 (high).
  for (let c = 0; c < 4; c++) {
    for (let l = 0; l < 32; l++) dst[dstOff + 16 + c * 32 + l] = q[c * 64 + l]! | (q[c * 64 + 32 + l]! << 4);
  }
}

const q6 = { x: new Float32Array(16), q: new Uint8Array(SUPER_BLOCK), scales: new Float32Array(16) };

/**
 * 256 floats at src[srcOff] -> one Q6_K block (210 bytes) at dst[dstOff], the algorithm of ggml's
 * quantize_row_q6_K_ref: sixteen 16-value groups each fitted as scale * q (q 6 bits, signed), their
 * scales quantized to int8 against one F16 super-scale d.
 */
export function encodeBlockQ6_K(src: ArrayLike<number>, srcOff: number, dst: Uint8Array, dstOff: number): void {
  const { x, q, scales } = q6;
  let top = 0;
  let atop = 0;
  for (let g = 0; g < 16; g++) {
    for (let l = 0; l < 16; l++) x[l] = src[srcOff + g * 16 + l]!;
    scales[g] = fitSymmetric(x, 32, q.subarray(g * 16, g * 16 + 16));
    if (Math.abs(scales[g]!) > atop) {
      atop = Math.abs(scales[g]!);
      top = scales[g]!;
    }
  }
  dst.fill(0, dstOff, dstOff + 210);
  if (atop < TINY) return; // all zero: every byte 0, d = +0
  const inv = fr(-128 / top);
  const d = putHalf(dst, dstOff + 208, fr(1 / inv));
  for (let g = 0; g < 16; g++) {
    const s8 = Math.min(127, nearestInt(fr(inv * scales[g]!)));
    dst[dstOff + 192 + g] = s8 & 0xff;
    const step = fr(d * ((s8 << 24) >> 24));
    if (step === 0) continue;
    for (let l = 0; l < 16; l++) q[g * 16 + l] = 32 + clamp(nearestInt(fr(fr(src[srcOff + g * 16 + l]!) / step)), -32, 31);
  }
  // Each 128-value half: ql byte l holds the low nibbles of values l (low) and l + 64 (high), byte
  // l + 32 those of l + 32 and l + 96; qh byte l holds the top 2 bits of l, l + 32, l + 64, l + 96.
  for (let h = 0; h < 2; h++) {
    const ql = dstOff + h * 64;
    const qh = dstOff + 128 + h * 32;
    const v = h * 128;
    for (let l = 0; l < 32; l++) {
      const a = q[v + l]!;
      const b = q[v + l + 32]!;
      const c = q[v + l + 64]!;
      const e = q[v + l + 96]!;
      dst[ql + l] = (a & 0x0f) | ((c & 0x0f) << 4);
      dst[ql + l + 32] = (b & 0x0f) | ((e & 0x0f) << 4);
      dst[qh + l] = (a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6);
    }
  }
}
