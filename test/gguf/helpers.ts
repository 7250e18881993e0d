// Test helpers: fixture paths and a raw GGUF byte builder that writes any field, valid or not.
import { expect } from "bun:test";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { GgufError } from "../../src/errors.ts";
import { readGguf } from "../../src/gguf/index.ts";
import { mulberry32 } from "../../src/util/prng.ts";

export const FIXTURES = resolve(import.meta.dir, "../../../shared/fixtures/gguf");
export const fixtureNames = (): string[] => readdirSync(FIXTURES).filter((f) => f.endsWith(".gguf")).sort();
export const fixturePath = (name: string): string => join(FIXTURES, name);
export const fixtureBytes = (name: string): Promise<Uint8Array> => Bun.file(fixturePath(name)).bytes();

const enc = new TextEncoder();

/** Appends raw little-endian fields; nothing is validated, so tests can write hostile files. */
export class Raw {
  private out: number[] = [];
  get length(): number {
    return this.out.length;
  }
  u8(v: number): this { this.out.push(v & 0xff); return this; }
  u16(v: number): this { return this.u8(v).u8(v >> 8); }
  u32(v: number): this { for (let i = 0; i < 4; i++) this.u8(Number((BigInt(v) >> BigInt(8 * i)) & 0xffn)); return this; }
  u64(v: bigint | number): this {
    const b = BigInt.asUintN(64, BigInt(v));
    for (let i = 0n; i < 8n; i++) this.u8(Number((b >> (8n * i)) & 0xffn));
    return this;
  }
  bytes(b: ArrayLike<number>): this { for (let i = 0; i < b.length; i++) this.u8(b[i]!); return this; }
  /** A GGUF string: u64 length + bytes (`len` overrides the length field). */
  str(s: string | Uint8Array, len?: bigint | number): this {
    const b = typeof s === "string" ? enc.encode(s) : s;
    return this.u64(len ?? b.length).bytes(b);
  }
  /** Standard header: magic, version, tensor_count, kv_count. */
  header(tensors: bigint | number, kvs: bigint | number, version = 3): this {
    return this.bytes(enc.encode("GGUF")).u32(version).u64(tensors).u64(kvs);
  }
  /** key, type id UINT32, value. */
  kvU32(key: string, v: number): this { return this.str(key).u32(4).u32(v); }
  kvStr(key: string, v: string): this { return this.str(key).u32(8).str(v); }
  /** A tensor info record. */
  tensor(name: string | Uint8Array, ne: Array<number | bigint>, type: number, offset: bigint | number, nDims = ne.length): this {
    this.str(name).u32(nDims);
    for (const d of ne) this.u64(d);
    return this.u32(type).u64(offset);
  }
  padTo(a: number): this { while (this.out.length % a !== 0) this.u8(0); return this; }
  zeros(n: number): this { for (let i = 0; i < n; i++) this.u8(0); return this; }
  done(): Uint8Array { return Uint8Array.from(this.out); }
}

/** A minimal valid file with one F32 tensor "t" of `n` elements, for mutation. */
export function oneTensorFile(n = 8): Raw {
  return new Raw().header(1, 1).kvStr("general.architecture", "x").tensor("t", [n], 0, 0).padTo(32).zeros(n * 4);
}

/** Asserts that reading `bytes` throws a GgufError whose field matches and (if given) whose offset is `offset`. */
export function expectGgufError(bytes: Uint8Array, field: RegExp, offset?: number, problem?: RegExp): GgufError {
  let err: unknown;
  try {
    readGguf(bytes);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(GgufError);
  const g = err as GgufError;
  expect(g.field).toMatch(field);
  if (offset !== undefined) expect(Number(g.offset)).toBe(offset);
  if (problem !== undefined) expect(g.problem).toMatch(problem);
  return g;
}

/**
 * Super-blocks (256 values each) that exercise the k-quant quantizers: Gaussian data at scales from
 * 1e-3 to 1e4, then edge cases. Returns the values and a label per super-block.
 */
export function kquantSamples(seed = 20261203): { x: Float32Array; labels: string[] } {
  const r = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const blocks: [string, (i: number) => number][] = [];
  for (const s of [1e-3, 0.02, 1, 100, 1e4]) for (let k = 0; k < 4; k++) blocks.push([`gaussian*${s}`, () => gauss() * s]);
  blocks.push(["zeros", () => 0]);
  blocks.push(["all equal 0.75", () => 0.75]);
  blocks.push(["all equal -3", () => -3]);
  blocks.push(["negative only", () => -Math.abs(gauss()) - 0.1]);
  blocks.push(["positive only", () => Math.abs(gauss()) + 5]);
  blocks.push(["tiny 1e-7", () => gauss() * 1e-7]);
  blocks.push(["exact ties (multiples of 1/4)", () => Math.round(gauss() * 8) / 4]);
  blocks.push(["integers -8..7", (i) => (i % 16) - 8]);
  blocks.push(["one outlier", (i) => (i === 77 ? 50 : gauss() * 0.1)]);
  blocks.push(["sparse (70% zero)", () => (r() < 0.7 ? 0 : gauss())]);
  blocks.push(["one nonzero group", (i) => (i >= 64 && i < 96 ? gauss() : 0)]);
  const x = new Float32Array(blocks.length * 256);
  blocks.forEach(([, f], b) => {
    for (let i = 0; i < 256; i++) x[b * 256 + i] = f(i);
  });
  return { x, labels: blocks.map(([l]) => l) };
}

/**
 * The largest |error| a Q4_K (type 12) or Q6_K (14) round trip may leave in the super-block
 * v[o..o+256) (the bound docs/evolution-protocol.md states):
 * - Q4_K stores each 32-value group as d*sc*q - dmin*m with q in 0..15, so the widest group's span
 *   R = max(v, 0) - min(v, 0) is cut into 15 steps: rounding costs half a step, the 6-bit scale and
 *   min and the least-squares fit (which may clip an outlier) at most another half: R / 15.
 * - Q6_K stores each 16-value group as d*sc*(q - 32), q in 0..63: one 6-bit step of the largest
 *   group, A / 32 with A = max |v|, again half for rounding and half for the int8 scale and the fit.
 * - Both super-scales are F16: below 2^-14 they are subnormal, in steps of 2^-24; the integer
 *   factors they multiply (Q4_K: sc*q + m <= 63*15 + 63; Q6_K: |sc*(q-32)| <= 128*32) turn half
 *   such a step into an absolute floor, allowed twice: 1008 * 2^-24 and 4096 * 2^-24.
 */
export function kquantErrorBound(type: number, v: ArrayLike<number>, o = 0): number {
  let lo = 0;
  let hi = 0;
  for (let i = o; i < o + 256; i++) {
    lo = Math.min(lo, v[i]!);
    hi = Math.max(hi, v[i]!);
  }
  return type === 12 ? (hi - lo) / 15 + 1008 * 2 ** -24 : Math.max(hi, -lo) / 32 + 4096 * 2 ** -24;
}
