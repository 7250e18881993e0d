// One test per reader hardening rule: each hostile file is refused with a GgufError naming the field and byte offset.
import { describe, expect, test } from "bun:test";
import { GgufError } from "../../src/errors.ts";
import { readGguf } from "../../src/gguf/index.ts";
import { expectGgufError, oneTensorFile, Raw } from "./helpers.ts";

const U64_MAX = (1n << 64n) - 1n;

describe("header", () => {
  test("rejects a file whose magic is not GGUF", () => {
    expectGgufError(new Raw().bytes([0x47, 0x47, 0x4d, 0x4c]).u32(3).u64(0).u64(0).done(), /^magic$/, 0, /GGUF/);
  });
  test("rejects a file shorter than the magic", () => {
    expectGgufError(Uint8Array.of(0x47, 0x47), /^magic$/, 0);
    expectGgufError(new Uint8Array(0), /^magic$/, 0);
  });
  test("rejects GGUF v1 with a clear message", () => {
    expectGgufError(new Raw().header(0, 0, 1).done(), /^version$/, 4, /v1.*not supported/);
  });
  test("rejects unknown versions 0 and 4", () => {
    expectGgufError(new Raw().header(0, 0, 0).done(), /^version$/, 4, /unsupported GGUF version 0/);
    expectGgufError(new Raw().header(0, 0, 4).done(), /^version$/, 4, /unsupported GGUF version 4/);
  });
  test("reads a GGUF v2 file", () => {
    const g = readGguf(new Raw().header(0, 1, 2).kvU32("a", 1).done());
    expect(g.version).toBe(2);
    expect(g.meta("a")).toBe(1);
  });
  test("rejects a header truncated inside kv_count", () => {
    expectGgufError(new Raw().header(0, 0).done().subarray(0, 20), /^kv_count$/, 16);
  });
});

describe("counts are capped by the bytes left", () => {
  test("rejects a tensor_count of 2^64-1 without allocating", () => {
    expectGgufError(new Raw().header(U64_MAX, 0).zeros(64).done(), /^tensor_count$/, 8, /cannot fit/);
  });
  test("rejects a tensor_count the bytes left could not hold", () => {
    expectGgufError(new Raw().header(3, 0).zeros(64).done(), /^tensor_count$/, 8);
  });
  test("rejects a kv_count of 2^63 without allocating", () => {
    expectGgufError(new Raw().header(0, 1n << 63n).zeros(64).done(), /^kv_count$/, 16, /cannot fit/);
  });
  test("rejects an array count the bytes left could not hold", () => {
    const b = new Raw().header(0, 1).str("a").u32(9).u32(4).u64(1n << 62n).zeros(16).done();
    expectGgufError(b, /^kv "a" count$/, 8 + 16 + 9 + 4 + 4, /need at least/);
  });
  test("rejects an array of 2^61 strings (each needs at least 8 bytes)", () => {
    const b = new Raw().header(0, 1).str("a").u32(9).u32(8).u64(1n << 61n).zeros(64).done();
    expectGgufError(b, /^kv "a" count$/);
  });
});

describe("strings", () => {
  test("rejects a string length of 2^64-1 (BigInt check, no Number overflow)", () => {
    expectGgufError(new Raw().header(0, 1).str("k", U64_MAX).zeros(8).done(), /^kv\[0\]\.key$/, 24, /exceeds the limit/);
  });
  test("rejects a string length that runs past the end of the file", () => {
    const b = new Raw().header(0, 1).kvStr("k", "hello").done();
    expectGgufError(b.subarray(0, b.length - 2), /^kv "k"$/, 24 + 9 + 4, /past the end/);
  });
  test("rejects a string length of 2^53+1 (not representable as a Number)", () => {
    expectGgufError(new Raw().header(0, 1).str("k").u32(8).u64((1n << 53n) + 1n).zeros(16).done(), /^kv "k"$/);
  });
  test("rejects a key longer than maxKeyBytes and a value longer than maxStringBytes", () => {
    const long = new Raw().header(0, 1).kvStr("k".repeat(300), "v").done();
    expect(() => readGguf(long, { maxKeyBytes: 256 })).toThrow(GgufError);
    expect(readGguf(long).metadata.size).toBe(1);
    const val = new Raw().header(0, 1).kvStr("k", "x".repeat(100)).done();
    expect(() => readGguf(val, { maxStringBytes: 99 })).toThrow(/exceeds the limit of 99/);
  });
  test("rejects invalid UTF-8 in a key (overlong encoding)", () => {
    expectGgufError(new Raw().header(0, 1).str(Uint8Array.of(0xc0, 0xaf)).u32(0).u8(1).done(), /^kv\[0\]\.key$/, 24, /UTF-8/);
  });
  test("rejects invalid UTF-8 in a string value (UTF-16 surrogate, truncated sequence)", () => {
    expectGgufError(new Raw().header(0, 1).str("k").u32(8).str(Uint8Array.of(0xed, 0xa0, 0x80)).done(), /^kv "k"$/, 37, /UTF-8/);
    expectGgufError(new Raw().header(0, 1).str("k").u32(8).str(Uint8Array.of(0x61, 0xe2, 0x82)).done(), /^kv "k"$/, 37, /UTF-8/);
  });
  test("rejects invalid UTF-8 in a string array item", () => {
    const b = new Raw().header(0, 1).str("k").u32(9).u32(8).u64(2).str("ok").str(Uint8Array.of(0xff)).done();
    expectGgufError(b, /^kv "k"\[1\]$/, undefined, /UTF-8/);
  });
  test("keeps a leading byte-order mark in a string (no silent stripping)", () => {
    const g = readGguf(new Raw().header(0, 1).str("k").u32(8).str(Uint8Array.of(0xef, 0xbb, 0xbf)).done());
    expect(g.meta("k")).toBe("\uFEFF");
  });
  test("rejects an empty key", () => {
    expectGgufError(new Raw().header(0, 1).str("").u32(0).u8(0).zeros(4).done(), /^kv\[0\]\.key$/, 24, /empty/);
  });
  test("rejects a tensor name of 64 bytes and accepts one of 63", () => {
    const mk = (n: number) => new Raw().header(1, 0).tensor("n".repeat(n), [8], 0, 0).padTo(32).zeros(32).done();
    expect(readGguf(mk(63)).tensors[0]!.name.length).toBe(63);
    expectGgufError(mk(64), /^tensor\[0\]\.name$/, 24, /not below 64/);
  });
  test("rejects a tensor name whose 63 bytes are invalid UTF-8", () => {
    const name = new Uint8Array(10).fill(0x80);
    expectGgufError(new Raw().header(1, 0).tensor(name, [8], 0, 0).padTo(32).zeros(32).done(), /^tensor\[0\]\.name$/, 24, /UTF-8/);
  });
  test("rejects an empty tensor name", () => {
    expectGgufError(new Raw().header(1, 0).tensor("", [8], 0, 0).padTo(32).zeros(32).done(), /^tensor\[0\]\.name$/, 24, /empty/);
  });
});

describe("value types", () => {
  test("rejects value type 13", () => {
    expectGgufError(new Raw().header(0, 1).str("k").u32(13).u8(0).done(), /^kv "k" type$/, 33, /not a GGUF type/);
  });
  test("rejects value type 0xFFFFFFFF", () => {
    expectGgufError(new Raw().header(0, 1).str("k").u32(0xffffffff).u8(0).done(), /^kv "k" type$/, 33);
  });
  test("rejects an array item type outside 0..12", () => {
    expectGgufError(new Raw().header(0, 1).str("k").u32(9).u32(77).u64(0).done(), /^kv "k" item type$/, 37);
  });
  test("rejects nested arrays", () => {
    const b = new Raw().header(0, 1).str("k").u32(9).u32(9).u64(1).u32(0).u64(1).u8(1).done();
    expectGgufError(b, /^kv "k" item type$/, 37, /nested arrays/);
  });
  test("rejects a bool that is 2", () => {
    expectGgufError(new Raw().header(0, 1).str("k").u32(7).u8(2).done(), /^kv "k"$/, 37, /0 or 1/);
  });
  test("rejects a bool array item that is 0xFF", () => {
    expectGgufError(new Raw().header(0, 1).str("k").u32(9).u32(7).u64(3).bytes([1, 0, 0xff]).done(), /^kv "k"\[2\]$/, 51, /0 or 1/);
  });
  test("rejects a value truncated by the end of the file", () => {
    expectGgufError(new Raw().header(0, 1).str("k").u32(12).zeros(5).done(), /^kv "k"$/, 37, /needs 8 bytes/);
  });
  test("reads every scalar type and numeric arrays as typed arrays", () => {
    const r = new Raw().header(0, 13);
    r.str("u8").u32(0).u8(200).str("i8").u32(1).u8(0xff).str("u16").u32(2).u16(65535).str("i16").u32(3).u16(0x8000);
    r.str("u32").u32(4).u32(0xffffffff).str("i32").u32(5).u32(0x80000000).str("f32").u32(6).u32(0x3fc00000);
    r.str("b").u32(7).u8(1).str("s").u32(8).str("é").str("u64").u32(10).u64(U64_MAX).str("i64").u32(11).u64(U64_MAX);
    r.str("f64").u32(12).u64(0x3ff8000000000000n).str("a").u32(9).u32(3).u64(2).u16(1).u16(0xffff);
    const g = readGguf(r.done());
    expect([...g.metadata.values()].map((v) => v.value)).toEqual([
      200, -1, 65535, -32768, 4294967295, -2147483648, 1.5, true, "é", U64_MAX, -1n, 1.5, Int16Array.of(1, -1),
    ] as never);
    expect([...g.metadata.values()].map((v) => v.type)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 9]);
  });
});

describe("duplicates", () => {
  test("rejects a duplicate key", () => {
    const b = new Raw().header(0, 2).kvU32("a", 1).kvU32("a", 2).done();
    expectGgufError(b, /^kv\[1\]\.key$/, 24 + 17, /duplicate key "a"/);
  });
  test("rejects a duplicate tensor name", () => {
    const b = new Raw().header(2, 0).tensor("t", [8], 0, 0).tensor("t", [8], 0, 32).padTo(32).zeros(64).done();
    expectGgufError(b, /^tensor\[1\]\.name$/, 24 + 33, /duplicate tensor name/);
  });
});

describe("general.alignment", () => {
  const withAlign = (type: number, write: (r: Raw) => void) => {
    const r = new Raw().header(0, 1).str("general.alignment").u32(type);
    write(r);
    return r.done();
  };
  test("rejects an alignment stored as UINT64 instead of UINT32", () => {
    expectGgufError(withAlign(10, (r) => r.u64(32)), /^general\.alignment$/, 53, /UINT32/);
  });
  test("rejects an alignment of 0", () => {
    expectGgufError(withAlign(4, (r) => r.u32(0)), /^general\.alignment$/, 53, /power of two/);
  });
  test("rejects an alignment that is not a power of two (48)", () => {
    expectGgufError(withAlign(4, (r) => r.u32(48)), /^general\.alignment$/, 53, /power of two/);
  });
  test("rejects an alignment above 1 MiB", () => {
    expectGgufError(withAlign(4, (r) => r.u32(2 << 20)), /^general\.alignment$/, 53);
  });
  test("accepts alignments 1 and 1 MiB", () => {
    expect(readGguf(withAlign(4, (r) => r.u32(1))).alignment).toBe(1);
    expect(readGguf(withAlign(4, (r) => r.u32(1 << 20))).alignment).toBe(1 << 20);
  });
});

describe("tensor shapes and types", () => {
  const info = (ne: Array<number | bigint>, type = 0, nDims = ne.length, data = 64) =>
    new Raw().header(1, 0).tensor("t", ne, type, 0, nDims).padTo(32).zeros(data).done();
  const nDimsAt = 24 + 9;
  test("rejects n_dims 5", () => {
    expectGgufError(info([1, 1, 1, 1, 1], 0, 5), /n_dims$/, nDimsAt, /between 1 and 4/);
  });
  test("rejects n_dims 0", () => {
    expectGgufError(info([], 0, 0), /n_dims$/, nDimsAt);
  });
  test("rejects n_dims 0xFFFFFFFF without looping over it", () => {
    expectGgufError(info([1], 0, 0xffffffff), /n_dims$/, nDimsAt);
  });
  test("rejects a dimension of 0", () => {
    expectGgufError(info([8, 0]), /ne\[1\]$/, nDimsAt + 12, /not between 1/);
  });
  test("rejects a dimension of 2^63 (above int64)", () => {
    expectGgufError(info([1n << 63n]), /ne\[0\]$/, nDimsAt + 4);
  });
  test("rejects an element count that overflows int64 (2^32 x 2^32)", () => {
    expectGgufError(info([1n << 32n, 1n << 32n]), /ne\[1\]$/, nDimsAt + 12, /overflows/);
  });
  test("rejects a byte size larger than the whole file (2^20 x 2^20 F32)", () => {
    expectGgufError(info([1 << 20, 1 << 20]), /ne$/, nDimsAt, /more than the whole file/);
  });
  test("rejects an unknown ggml type id (40)", () => {
    expectGgufError(info([8], 40), /type$/, nDimsAt + 12, /unknown ggml type 40/);
  });
  test("rejects the removed ggml types Q4_2 (4), Q4_3 (5) and Q4_0_4_4 (31)", () => {
    expectGgufError(info([32], 4), /type$/, nDimsAt + 12, /Q4_2.*removed/);
    expectGgufError(info([32], 5), /type$/, nDimsAt + 12, /Q4_3.*removed/);
    expectGgufError(info([32], 31), /type$/, nDimsAt + 12, /Q4_0_4_4.*removed/);
  });
  test("rejects ne[0] that is not a multiple of the block size (Q8_0 with ne[0] = 16)", () => {
    expectGgufError(info([16, 2], 8), /ne\[0\]$/, nDimsAt + 4, /multiple of the Q8_0 block size 32/);
  });
  test("rejects a Q6_K tensor with ne[0] = 128", () => {
    expectGgufError(info([128], 14, 1, 256), /ne\[0\]$/, undefined, /Q6_K block size 256/);
  });
});

describe("tensor offsets and the data section", () => {
  test("rejects an offset that is not a multiple of the alignment", () => {
    const b = new Raw().header(1, 0).tensor("t", [8], 0, 4).padTo(32).zeros(64).done();
    expectGgufError(b, /offset$/, 24 + 9 + 4 + 8 + 4, /multiple of the alignment 32/);
  });
  test("rejects a tensor whose offset points past the data section", () => {
    const b = new Raw().header(1, 0).tensor("t", [8], 0, 1n << 40n).padTo(32).zeros(32).done();
    expectGgufError(b, /offset$/, 24 + 25, /outside the data section/);
  });
  test("rejects a tensor whose data runs past the end of the file", () => {
    const b = new Raw().header(1, 0).tensor("t", [8], 0, 0).padTo(32).zeros(31).done();
    expectGgufError(b, /offset$/, undefined, /outside the data section/);
  });
  test("rejects an offset of 2^64-32 (aligned, BigInt sum past the end)", () => {
    const b = new Raw().header(1, 0).tensor("t", [8], 0, U64_MAX - 31n).padTo(32).zeros(32).done();
    expectGgufError(b, /offset$/, undefined, /outside the data section/);
  });
  test("rejects overlapping tensors", () => {
    const b = new Raw().header(2, 0).tensor("a", [16], 0, 0).tensor("b", [8], 0, 32).padTo(32).zeros(96).done();
    expectGgufError(b, /^tensor "b" offset$/, undefined, /overlaps tensor "a"/);
  });
  test("rejects two tensors at the same offset, whatever their order in the file", () => {
    const b = new Raw().header(2, 0).tensor("a", [8], 0, 32).tensor("b", [8], 0, 32).padTo(32).zeros(96).done();
    expect(() => readGguf(b)).toThrow(/overlaps/);
  });
  test("accepts tensors stored out of order with a gap", () => {
    const b = new Raw().header(2, 0).tensor("a", [8], 0, 64).tensor("b", [8], 0, 0).padTo(32).zeros(96).done();
    const g = readGguf(b);
    expect(g.tensors.map((t) => t.relOffset)).toEqual([64, 0]);
  });
  test("rejects a file with tensors whose data section would start past the end", () => {
    const b = new Raw().header(1, 0).tensor("t", [8], 0, 0).done();
    expectGgufError(b, /^data section$/, b.length, /past the end/);
  });
  test("accepts a zero-tensor file that ends before the data padding", () => {
    const b = new Raw().header(0, 1).kvStr("general.architecture", "x").done();
    expect(b.length % 32).not.toBe(0);
    const g = readGguf(b);
    expect(g.tensors.length).toBe(0);
    expect(g.dataOffset).toBe(Math.ceil(b.length / 32) * 32);
  });
  test("tensor data is a zero-copy view of the caller's bytes", () => {
    const b = oneTensorFile(8).done();
    const t = readGguf(b).tensors[0]!;
    expect(t.data.buffer).toBe(b.buffer);
    b[t.absOffset] = 0x7f;
    expect(t.data[0]).toBe(0x7f);
  });
});

describe("truncation anywhere", () => {
  test("every prefix of a valid file is refused with a GgufError or, for a zero-tensor prefix, read", () => {
    const b = oneTensorFile(8).done();
    for (let n = 0; n < b.length; n++) expect(() => readGguf(b.subarray(0, n))).toThrow(GgufError);
    expect(readGguf(b).tensors.length).toBe(1);
  });
});
