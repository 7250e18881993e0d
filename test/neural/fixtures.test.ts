// Kernels, element decoding and block re-quantization against tensors written by gguf-py (the shared fixtures).
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { readGguf } from "../../src/gguf/index.ts";
import { decodeElements } from "../../src/neural/codec.ts";
import { isKernelType, matvec, prepareMatrix } from "../../src/neural/matvec.ts";
import { quantizeBlocks } from "../../src/neural/quantizer.ts";

const fixtures = resolve(import.meta.dir, "../../../shared/fixtures/gguf");

interface Digest {
  name: string;
  type: string;
  ne: number[];
  values: { count: number; first: number[]; sum: number; sumsq: number };
}

describe("gguf-py fixtures", () => {
  for (const name of ["ref-s1-a32", "ref-s1-a64", "ref-s1-a4096"]) {
    const file = readGguf(new Uint8Array(readFileSync(`${fixtures}/${name}.gguf`)));
    const digests = (JSON.parse(readFileSync(`${fixtures}/${name}.json`, "utf8")) as { tensors: Digest[] }).tensors;
    for (const d of digests) {
      const t = file.tensorByName(d.name)!;
      if (!isKernelType(t.type)) continue;
      test(`${name} ${d.name} (${d.type}): decoded values and mat-vec row sums match gguf-py's digest`, () => {
        const v = new Float32Array(t.nElements);
        decodeElements(t.type, t.data, 0, v);
        expect(Array.from(v.subarray(0, 8))).toEqual(d.values.first);
        let sum = 0;
        let sumsq = 0;
        for (const x of v) {
          sum += x;
          sumsq += x * x;
        }
        expect(Math.abs(sum - d.values.sum)).toBeLessThanOrEqual(1e-9 * d.values.sumsq + 1e-9);
        expect(Math.abs(sumsq - d.values.sumsq)).toBeLessThanOrEqual(1e-9 * d.values.sumsq);
        const cols = t.ne[0]!;
        const rows = t.nElements / cols;
        const y = new Float32Array(rows);
        matvec(prepareMatrix(t.type, rows, cols, t.data), new Float32Array(cols).fill(1), y);
        const ysum = y.reduce((a, b) => a + b, 0);
        expect(Math.abs(ysum - d.values.sum)).toBeLessThanOrEqual(1e-6 * Math.sqrt(d.values.sumsq * d.values.count));
      });
      if (d.type === "Q8_0" || d.type === "Q4_0") {
        test(`${name} ${d.name}: re-quantizing gguf-py's dequantized blocks reproduces its bytes`, () => {
          const v = new Float32Array(t.nElements);
          decodeElements(t.type, t.data, 0, v);
          const out = new Uint8Array(t.nBytes);
          quantizeBlocks(t.type, v, out);
          expect(Buffer.compare(out, t.data)).toBe(0);
        });
      }
    }
  }
});

describe("block quantizers on seeded random data", () => {
  for (const [type, name, bound] of [
    [8, "Q8_0", 0.6],
    [2, "Q4_0", 1.1],
  ] as const) {
    test(`${name}: every element decodes within ${bound} quantization steps of its input, all-zero blocks stay zero`, () => {
      let s = 12345;
      const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
      const v = new Float32Array(32 * 64);
      for (let i = 0; i < v.length; i++) v[i] = rnd() * (1 + (i >> 5));
      v.fill(0, 32 * 10, 32 * 11);
      const bytes = new Uint8Array(64 * (type === 8 ? 34 : 18));
      quantizeBlocks(type, v, bytes);
      const back = new Float32Array(v.length);
      decodeElements(type, bytes, 0, back);
      for (let b = 0; b < 64; b++) {
        let amax = 0;
        for (let k = 0; k < 32; k++) amax = Math.max(amax, Math.abs(v[b * 32 + k]!));
        const step = type === 8 ? amax / 127 : amax / 8;
        for (let k = 0; k < 32; k++) expect(Math.abs(back[b * 32 + k]! - v[b * 32 + k]!)).toBeLessThanOrEqual(bound * step + 1e-12);
      }
      expect(Array.from(back.subarray(320, 352)).every((x) => x === 0)).toBe(true);
    });
  }
});
