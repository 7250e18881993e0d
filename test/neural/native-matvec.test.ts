// The shim's SIMD mat-vec kernels (every CPU variant present) agree with the TypeScript reference within the float32 bound, on the mapped pages and in the pool.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeElements } from "../../src/neural/codec.ts";
import { KernelType, matvec, matvecReference, prepareMatrix, rowBytes } from "../../src/neural/matvec.ts";
import { MatvecPool } from "../../src/neural/matvec-pool.ts";
import { mapFileReadOnly } from "../../src/sys/mmap.ts";
import { MatvecLevel, nativeMatvec, nativeMatvecAvailable, nativeMatvecLevel } from "../../src/sys/matvec.ts";
import { mulberry32 } from "../../src/util/prng.ts";

const types: [string, KernelType][] = [
  ["F32", KernelType.F32],
  ["F16", KernelType.F16],
  ["BF16", KernelType.BF16],
  ["Q8_0", KernelType.Q8_0],
  ["Q4_0", KernelType.Q4_0],
  ["Q4_K", KernelType.Q4_K],
  ["Q6_K", KernelType.Q6_K],
];
const quantized = (t: number) => t === KernelType.Q8_0 || t === KernelType.Q4_0;
const kquant = (t: number) => t === KernelType.Q4_K || t === KernelType.Q6_K;
/** A random row width the type takes: any for F32/F16/BF16, whole blocks of 32 or super-blocks of 256. */
const randomCols = (type: number, r: () => number) => (kquant(type) ? 256 * (1 + Math.floor(r() * 12)) : quantized(type) ? 32 * (1 + Math.floor(r() * 9)) : 1 + Math.floor(r() * 300));

/** Random bytes of a matrix: finite values only (half/bf16 bits with exponents well inside range, random quants). */
function randomBytes(type: KernelType, rows: number, cols: number, seed: number): Uint8Array {
  const r = mulberry32(seed);
  const bytes = new Uint8Array(rows * rowBytes(type, cols));
  const dv = new DataView(bytes.buffer);
  const half = () => (r() < 0.5 ? 0x8000 : 0) | ((7 + Math.floor(r() * 10)) << 10) | Math.floor(r() * 1024);
  if (type === KernelType.F32) for (let i = 0; i < rows * cols; i++) dv.setFloat32(i * 4, r() * 2 - 1, true);
  else if (type === KernelType.F16) for (let i = 0; i < rows * cols; i++) dv.setUint16(i * 2, half(), true);
  else if (type === KernelType.BF16) for (let i = 0; i < rows * cols; i++) dv.setUint16(i * 2, (r() < 0.5 ? 0x8000 : 0) | ((120 + Math.floor(r() * 10)) << 7) | Math.floor(r() * 128), true);
  else if (kquant(type)) {
    // Random quants, scales and mins; the F16 super-scales (Q4_K d, dmin; Q6_K d) finite.
    const bs = type === KernelType.Q4_K ? 144 : 210;
    for (let b = 0; b < (rows * cols) / 256; b++) {
      for (let k = 0; k < bs; k++) bytes[b * bs + k] = Math.floor(r() * 256);
      for (const o of type === KernelType.Q4_K ? [0, 2] : [208]) dv.setUint16(b * bs + o, half(), true);
    }
  } else {
    const bs = type === KernelType.Q8_0 ? 34 : 18;
    for (let b = 0; b < (rows * cols) / 32; b++) {
      dv.setUint16(b * bs, half(), true);
      for (let k = 2; k < bs; k++) bytes[b * bs + k] = Math.floor(r() * 256);
    }
  }
  return bytes;
}

/**
 * |w_j| per element, except Q4_K: |d*s*q| + |dmin*m| (decoded here from the block bytes, not by the
 * code under test), because its kernels sum d*s*q*x and dmin*m*x separately (w = d*s*q - dmin*m).
 */
function magnitudes(type: KernelType, bytes: Uint8Array, values: Float32Array): Float64Array {
  const mag = Float64Array.from(values, Math.abs);
  if (type !== KernelType.Q4_K) return mag;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < values.length / 256; b++) {
    const p = b * 144;
    const d = dv.getFloat16(p, true);
    const dmin = dv.getFloat16(p + 2, true);
    const sc = (i: number) => bytes[p + 4 + i]!;
    for (let g = 0; g < 8; g++) {
      const s = g < 4 ? sc(g) & 63 : (sc(g + 4) & 15) | ((sc(g - 4) >> 6) << 4);
      const m = g < 4 ? sc(g + 4) & 63 : (sc(g + 4) >> 4) | ((sc(g) >> 6) << 4);
      for (let l = 0; l < 32; l++) {
        const q = (bytes[p + 16 + (g >> 1) * 32 + l]! >> ((g & 1) * 4)) & 15;
        mag[b * 256 + g * 32 + l] = Math.abs(d * s * q) + Math.abs(dmin * m);
      }
    }
  }
  return mag;
}

/**
 * The stated bound: a float32 sum of n products in L lanes then a reduction tree differs from the
 * exact sum by at most gamma_k * sum|w_j x_j| with k = n/L + log2(L) + 2 roundings per term
 * (Higham, 3.1); k = cols/8 + 16 covers every variant (L >= 8 lanes; quantized blocks add one
 * scale product, k-quant super-blocks a few more sums, k <= 40 + cols/32 for them). Q4_K's
 * |w_j| is |d*s*q| + |dmin*m| (see magnitudes). The reference's own error (float64) is
 * negligible next to it.
 */
function bound(mag: Float64Array, x: Float32Array, row: number, cols: number): number {
  let sum = 0;
  for (let j = 0; j < cols; j++) sum += mag[row * cols + j]! * Math.abs(x[j]!);
  return (cols / 8 + 16) * 2 ** -24 * sum;
}

const levels = nativeMatvecAvailable() ? Object.entries(MatvecLevel).filter(([, l]) => l <= MatvecLevel[nativeMatvecLevel()!]) : [];

test("the shim's kernels load on this machine (else every product runs the TypeScript kernels)", () => {
  expect(nativeMatvecAvailable()).toBe(true);
  expect(levels.length).toBeGreaterThan(0);
});

describe("native kernels match the TypeScript reference within the float32 bound", () => {
  for (const [name, type] of types) {
    for (const [level, lv] of levels) {
      test(`${name} ${level}: random shapes with odd widths, partial SIMD tails, several super-blocks`, () => {
        const r = mulberry32(type * 131 + lv);
        for (let trial = 0; trial < 12; trial++) {
          const rows = 1 + Math.floor(r() * 37);
          const cols = randomCols(type, r);
          const bytes = randomBytes(type, rows, cols, trial * 7919 + type);
          const m = prepareMatrix(type, rows, cols, bytes);
          const x = new Float32Array(cols);
          for (let j = 0; j < cols; j++) x[j] = r() * 4 - 2;
          const ref = new Float32Array(rows);
          matvecReference(m, x, ref);
          const y = new Float32Array(rows).fill(Number.NaN);
          nativeMatvec(type, m.bytes, rows, cols, x, y, 0, rows, lv);
          const values = new Float32Array(rows * cols);
          decodeElements(type, bytes, 0, values);
          const mag = magnitudes(type, bytes, values);
          for (let i = 0; i < rows; i++) {
            let dot = 0; // the f64 dot product of the dequantized row
            for (let j = 0; j < cols; j++) dot += values[i * cols + j]! * x[j]!;
            const b = bound(mag, x, i, cols);
            for (const [what, want] of [["TypeScript reference", ref[i]!], ["f64 dot of the dequantized row", dot]] as const) {
              const err = Math.abs(y[i]! - want);
              if (!(err <= b)) throw new Error(`${name} ${level} ${rows}x${cols} row ${i}: ${y[i]} vs ${what} ${want} (error ${err} > bound ${b})`);
            }
          }
        }
      });
    }
  }
});

test("a row range writes only its rows; a level above the CPU's is refused, not run", () => {
  const bytes = randomBytes(KernelType.Q4_0, 9, 64, 3);
  const m = prepareMatrix(KernelType.Q4_0, 9, 64, bytes);
  const x = new Float32Array(64).fill(0.25);
  const all = new Float32Array(9);
  matvec(m, x, all);
  const part = new Float32Array(9).fill(7);
  matvec(m, x, part, 2, 5);
  for (let i = 0; i < 9; i++) expect(part[i]).toBe(i >= 2 && i < 5 ? all[i]! : 7);
  if (nativeMatvecLevel() !== "avx512") expect(() => nativeMatvec(KernelType.F32, new Uint8Array(4), 1, 1, new Float32Array(1), new Float32Array(1), 0, 1, 2)).toThrow(/EOPNOTSUPP \(95\)/); // ENOTSUP and EOPNOTSUPP are one errno (95) on Linux; its name is EOPNOTSUPP
});

test("a k-quant row that is not whole 256-value super-blocks is refused by the C code, not read past its end", () => {
  for (const type of [KernelType.Q4_K, KernelType.Q6_K]) {
    const bytes = new Uint8Array(210);
    expect(() => nativeMatvec(type, bytes, 1, 128, new Float32Array(128), new Float32Array(1), 0, 1)).toThrow(/EINVAL/);
  }
});

test("on the mapped pages of a file, and split across the worker pool, the result is the single-thread native one, bit for bit", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vb-native-mv-"));
  try {
    for (const [name, type] of types) {
      const rows = 301;
      const cols = kquant(type) ? 256 * 3 : quantized(type) ? 32 * 11 : 353;
      const bytes = randomBytes(type, rows, cols, 99 + type);
      const file = join(dir, `${name}.bin`);
      writeFileSync(file, bytes);
      const map = mapFileReadOnly(file);
      const m = prepareMatrix(type, rows, cols, map.bytes);
      expect(m.bytes.buffer).toBe(map.bytes.buffer); // the kernels read the mapping itself
      const x = new Float32Array(cols).map((_, j) => Math.sin(j));
      const one = new Float32Array(rows);
      matvec(m, x, one);
      const pool = await MatvecPool.start(2, cols, rows);
      await pool.register(1, m, { kind: "file", path: file, mapOffset: 0, mapLength: bytes.byteLength, byteOffset: 0, byteLength: bytes.byteLength });
      const par = new Float32Array(rows);
      pool.matvec(1, m, x, par);
      expect(pool.stats.parallelRuns).toBe(1);
      pool.close();
      map.unmap();
      expect(Array.from(par)).toEqual(Array.from(one));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
