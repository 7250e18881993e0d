// Test helpers: fixture paths and a raw GGUF byte builder that writes any field, valid or not.
import { expect } from "bun:test";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { GgufError } from "../../src/errors.ts";
import { readGguf } from "../../src/gguf/index.ts";

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
