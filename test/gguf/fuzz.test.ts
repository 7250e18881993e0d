// Seeded fuzzing of the reader: bit flips, byte overwrites, truncations and splices never throw anything but GgufError.
import { mulberry32 as rng } from "../../src/util/prng.ts";
import { expect, test } from "bun:test";
import { GgufError } from "../../src/errors.ts";
import { dequantize, DEQUANTIZABLE_TYPES, GgmlType, gv, quantize, readGguf, toJsonValue, writeGguf } from "../../src/gguf/index.ts";
import { fixtureBytes } from "./helpers.ts";

/** Values that break length/count/type fields when written over them. */
const NASTY: number[][] = [
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0, 0, 0, 0, 0, 0, 0, 0x80], [0, 0, 0, 0], [0xff, 0xff, 0xff, 0x7f],
  [9, 0, 0, 0], [13, 0, 0, 0], [7, 0, 0, 0], [2], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [5, 0, 0, 0], [0, 0x10, 0, 0],
];

function ourFile(): Uint8Array {
  const r = rng(99);
  const vals = (n: number) => Float32Array.from({ length: n }, () => r() * 2 - 1);
  return writeGguf({
    metadata: new Map([
      ["general.architecture", gv.str("fuzz")], ["general.alignment", gv.u32(64)], ["a.f32", gv.f32s([1, 2, 3])],
      ["a.str", gv.strs(["x", "yy", "zzz"])], ["b", gv.bool(true)], ["u64", gv.u64(7n)], ["bools", gv.bools([true, false])],
    ]),
    tensors: [
      { name: "f16", type: GgmlType.F16, ne: [32, 2], data: quantize(GgmlType.F16, vals(64)) },
      { name: "q8", type: GgmlType.Q8_0, ne: [64, 2], data: quantize(GgmlType.Q8_0, vals(128)) },
      { name: "q4", type: GgmlType.Q4_0, ne: [32], data: quantize(GgmlType.Q4_0, vals(32)) },
      { name: "q6k", type: GgmlType.Q6_K, ne: [256], data: new Uint8Array(210) },
    ],
  });
}

/** The outcome of the exact (BigInt-only) path, to compare with the default fast path. */
function exactOutcome(bytes: Uint8Array): unknown {
  try {
    const g = readGguf(bytes, { exactPathOnly: true });
    return g.tensors.map((t) => [t.name, t.type, t.ne, t.nBytes, t.absOffset, t.infoOffset]);
  } catch (e) {
    return e instanceof GgufError ? [e.field, Number(e.offset), e.problem] : e;
  }
}

/** Parses and, on success, uses everything: metadata, tensors, dequantization. Returns the outcome. */
function exercise(bytes: Uint8Array): "ok" | "rejected" {
  const exact = exactOutcome(bytes);
  try {
    const g = readGguf(bytes);
    expect(g.tensors.map((t) => [t.name, t.type, t.ne, t.nBytes, t.absOffset, t.infoOffset])).toEqual(exact as never);
    for (const v of g.metadata.values()) toJsonValue(v);
    for (const t of g.tensors) {
      expect(t.absOffset + t.nBytes).toBeLessThanOrEqual(bytes.length);
      if (DEQUANTIZABLE_TYPES.includes(t.type) && t.nElements <= 1 << 20) dequantize(t, g.littleEndian);
    }
    return "ok";
  } catch (e) {
    if (!(e instanceof GgufError)) throw new Error(`non-GgufError thrown: ${String(e)}`, { cause: e });
    expect([e.field, Number(e.offset), e.problem]).toEqual(exact as never);
    expect(Number(e.offset)).toBeGreaterThanOrEqual(0);
    expect(Number(e.offset)).toBeLessThanOrEqual(bytes.length);
    return "rejected";
  }
}

test("seeded fuzz: 30000 mutations of the fixtures and of our own files only ever raise GgufError, the same one as the exact path", async () => {
  const corpus = [
    await fixtureBytes("ref-s1-a32.gguf"), await fixtureBytes("ref-s1-a4096.gguf"), await fixtureBytes("ref-s1-big-endian.gguf"),
    await fixtureBytes("hyllama-dummy.gguf"), ourFile(),
    (await fixtureBytes("llama.cpp-vocab-llama-spm.gguf")).subarray(0, 64 * 1024), // a header-only prefix: arrays of strings
  ];
  const headerEnd = corpus.map((b) => {
    try {
      return readGguf(b).tensorInfoEnd;
    } catch {
      return b.length;
    }
  });
  const r = rng(20261123);
  const pick = (n: number) => Math.floor(r() * n);
  const counts = { ok: 0, rejected: 0 };
  for (let i = 0; i < 30000; i++) {
    const k = pick(corpus.length);
    const src = corpus[k]!;
    // most mutations land in the header, where the parser makes its decisions
    const at = () => (r() < 0.9 ? pick(Math.min(headerEnd[k]! + 16, src.length)) : pick(src.length));
    let m: Uint8Array;
    switch (i % 5) {
      case 0: { // bit flips
        m = src.slice();
        for (let f = 1 + pick(4); f > 0; f--) { const p = at(); m[p] = m[p]! ^ (1 << pick(8)); }
        break;
      }
      case 1: { // nasty values over a field
        m = src.slice();
        const v = NASTY[pick(NASTY.length)]!;
        m.set(v.slice(0, m.length - Math.min(m.length, at())), Math.min(at(), m.length));
        break;
      }
      case 2: // truncation
        m = src.slice(0, at());
        break;
      case 3: { // splice: a prefix of one file and a suffix of another
        const other = corpus[pick(corpus.length)]!;
        const cut = at();
        m = new Uint8Array(cut + other.length - Math.min(other.length, cut));
        m.set(src.subarray(0, cut));
        m.set(other.subarray(Math.min(other.length, cut)), cut);
        break;
      }
      default: { // random bytes inserted or deleted in the header
        const p = at();
        const ins = r() < 0.5;
        const n = 1 + pick(8);
        m = ins ? new Uint8Array(src.length + n) : new Uint8Array(Math.max(0, src.length - n));
        if (ins) {
          m.set(src.subarray(0, p));
          for (let j = 0; j < n; j++) m[p + j] = pick(256);
          m.set(src.subarray(p), p + n);
        } else {
          const q = Math.min(p, m.length);
          m.set(src.subarray(0, q));
          m.set(src.subarray(q + n, q + n + m.length - q), q);
        }
      }
    }
    counts[exercise(m)]++;
  }
  // both outcomes must occur, or the mutations are not reaching the parser's decisions
  console.log(`fuzz: ${counts.ok} read, ${counts.rejected} rejected`);
  expect(counts.ok).toBeGreaterThan(500);
  expect(counts.rejected).toBeGreaterThan(5000);
}, 60_000);
