// Mat-vec kernels per ggml type against an independent f64 dequantize-then-multiply reference.
import { mulberry32 as rng } from "../../src/util/prng.ts";
import { describe, expect, test } from "bun:test";
import { KernelType, matvec, matvecReference, prepareMatrix, rowBytes } from "../../src/neural/matvec.ts";
import { ModelError } from "../../src/errors.ts";
import { dequantize } from "../../src/gguf/dequant.ts";

/** y = W·x for row-major W (rows x cols), within float rounding of an f64 reference: only the final f32 store and the summation order may differ. */
function expectWithinRounding(w: ArrayLike<number>, x: ArrayLike<number>, y: ArrayLike<number>, rows: number, cols: number): void {
  for (let i = 0; i < rows; i++) {
    let ref = 0;
    let mag = 0;
    for (let j = 0; j < cols; j++) {
      ref += w[i * cols + j]! * x[j]!;
      mag += Math.abs(w[i * cols + j]! * x[j]!);
    }
    expect(Math.abs(y[i]! - ref)).toBeLessThanOrEqual(mag * 1e-6 + 1e-30);
  }
}

/** Random finite half bits with magnitude around 2^-8..2^2. */
function randomHalfBits(r: () => number): number {
  const exp = 7 + Math.floor(r() * 10);
  return (r() < 0.5 ? 0x8000 : 0) | (exp << 10) | Math.floor(r() * 1024);
}

/** Random bytes of a rows x cols matrix of `type`, and its values decoded independently in f64 (DataView). */
function randomMatrix(type: KernelType, rows: number, cols: number, seed: number): { bytes: Uint8Array; values: Float64Array } {
  const r = rng(seed);
  const bytes = new Uint8Array(rows * rowBytes(type, cols));
  const dv = new DataView(bytes.buffer);
  const values = new Float64Array(rows * cols);
  const n = rows * cols;
  if (type === KernelType.F32) {
    for (let i = 0; i < n; i++) dv.setFloat32(i * 4, r() * 2 - 1, true);
    for (let i = 0; i < n; i++) values[i] = dv.getFloat32(i * 4, true);
  } else if (type === KernelType.F16) {
    for (let i = 0; i < n; i++) dv.setUint16(i * 2, randomHalfBits(r), true);
    for (let i = 0; i < n; i++) values[i] = dv.getFloat16(i * 2, true);
  } else if (type === KernelType.BF16) {
    const tmp = new DataView(new ArrayBuffer(4));
    for (let i = 0; i < n; i++) {
      tmp.setFloat32(0, (r() * 2 - 1) * 4, true);
      dv.setUint16(i * 2, tmp.getUint16(2, true), true);
    }
    for (let i = 0; i < n; i++) {
      tmp.setUint32(0, dv.getUint16(i * 2, true) << 16, true);
      values[i] = tmp.getFloat32(0, true);
    }
  } else if (type === KernelType.Q8_0) {
    for (let b = 0; b < n / 32; b++) {
      dv.setUint16(b * 34, randomHalfBits(r), true);
      for (let k = 0; k < 32; k++) dv.setInt8(b * 34 + 2 + k, Math.floor(r() * 256) - 128);
      const d = dv.getFloat16(b * 34, true);
      for (let k = 0; k < 32; k++) values[b * 32 + k] = d * dv.getInt8(b * 34 + 2 + k);
    }
  } else {
    for (let b = 0; b < n / 32; b++) {
      dv.setUint16(b * 18, randomHalfBits(r), true);
      for (let k = 0; k < 16; k++) dv.setUint8(b * 18 + 2 + k, Math.floor(r() * 256));
      const d = dv.getFloat16(b * 18, true);
      for (let k = 0; k < 16; k++) {
        const q = dv.getUint8(b * 18 + 2 + k);
        values[b * 32 + k] = d * ((q & 15) - 8);
        values[b * 32 + k + 16] = d * ((q >> 4) - 8);
      }
    }
  }
  return { bytes, values };
}

const types: [string, KernelType][] = [
  ["F32", KernelType.F32],
  ["F16", KernelType.F16],
  ["BF16", KernelType.BF16],
  ["Q8_0", KernelType.Q8_0],
  ["Q4_0", KernelType.Q4_0],
];

describe("mat-vec kernels match f64 dequantize-then-multiply", () => {
  for (const [name, type] of types) {
    for (const [rows, cols] of [
      [1, 32],
      [7, 64],
      [33, 96],
      [130, 512],
    ] as const) {
      test(`${name} ${rows}x${cols}: every output within float rounding of the f64 reference`, () => {
        const { bytes, values } = randomMatrix(type, rows, cols, rows * 1000 + cols + type);
        const r = rng(42 + cols);
        const x = new Float32Array(cols);
        for (let j = 0; j < cols; j++) x[j] = r() * 4 - 2;
        const y = new Float32Array(rows);
        matvec(prepareMatrix(type, rows, cols, bytes), x, y);
        expectWithinRounding(values, x, y, rows, cols);
      });
    }
  }

  for (const [name, type, bb, halves] of [["Q4_K", KernelType.Q4_K, 144, [0, 2]], ["Q6_K", KernelType.Q6_K, 210, [208]]] as const) {
    test(`${name} 9x512 and 1x256, TypeScript reference kernel: every output within float rounding of the dequantized rows`, () => {
      for (const [rows, cols] of [[9, 512], [1, 256]] as const) {
        const r = rng(cols + type);
        const bytes = new Uint8Array(rows * (cols / 256) * bb).map(() => Math.floor(r() * 256));
        for (let b = 0; b < bytes.length / bb; b++) for (const o of halves) bytes[b * bb + o + 1] = bytes[b * bb + o + 1]! & 0x3b; // finite scales
        const w = dequantize({ type, data: bytes, nElements: rows * cols });
        const x = new Float32Array(cols).map(() => r() * 4 - 2);
        const y = new Float32Array(rows);
        // matvec runs the shim's kernel, tested against this one within its own bound in native-matvec.test.ts.
        matvecReference(prepareMatrix(type, rows, cols, bytes), x, y);
        expectWithinRounding(w, x, y, rows, cols);
      }
    });
  }

  test("a row range computes only those rows and leaves the others untouched", () => {
    const { bytes } = randomMatrix(KernelType.Q8_0, 10, 64, 7);
    const m = prepareMatrix(KernelType.Q8_0, 10, 64, bytes);
    const x = new Float32Array(64).fill(0.5);
    const all = new Float32Array(10);
    matvec(m, x, all);
    const part = new Float32Array(10).fill(123);
    matvec(m, x, part, 3, 6);
    for (let i = 0; i < 10; i++) expect(part[i]).toBe(i >= 3 && i < 6 ? all[i]! : 123);
  });

  test("F32 data at an odd byte offset is handled (copied once), not misread", () => {
    const { bytes, values } = randomMatrix(KernelType.F32, 3, 8, 9);
    const shifted = new Uint8Array(bytes.byteLength + 1);
    shifted.set(bytes, 1);
    const m = prepareMatrix(KernelType.F32, 3, 8, shifted.subarray(1));
    const x = new Float32Array(8).fill(1);
    const y = new Float32Array(3);
    matvec(m, x, y);
    for (let i = 0; i < 3; i++) {
      let ref = 0;
      for (let j = 0; j < 8; j++) ref += values[i * 8 + j]!;
      expect(y[i]).toBeCloseTo(ref, 5);
    }
  });

  test("rejects a quantized row that is not a whole number of blocks, and a byte length that does not fit", () => {
    expect(() => rowBytes(KernelType.Q8_0, 48)).toThrow(ModelError);
    expect(() => rowBytes(KernelType.Q4_0, 31)).toThrow(/32-element blocks/);
    expect(() => prepareMatrix(KernelType.F32, 2, 4, new Uint8Array(31))).toThrow(/needs 32 bytes/);
    expect(() => rowBytes(13, 256)).toThrow(/no mat-vec kernel/); // Q5_K
    expect(() => rowBytes(KernelType.Q4_K, 128)).toThrow(/256-element super-blocks/);
    expect(() => rowBytes(KernelType.Q6_K, 300)).toThrow(/256-element super-blocks/);
  });

  test("rejects an input shorter than the matrix width", () => {
    const m = prepareMatrix(KernelType.F32, 2, 4, new Uint8Array(32));
    expect(() => matvec(m, new Float32Array(3), new Float32Array(2))).toThrow(/3 entries/);
  });
});
