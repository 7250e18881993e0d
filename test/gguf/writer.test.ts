// Writer: round trips, every value and tensor type, alignment, and files @huggingface/gguf reads back.
import { mulberry32 as rng } from "../../src/util/prng.ts";
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gguf as hfGguf } from "@huggingface/gguf";
import { InputError } from "../../src/errors.ts";
import {
  dequantize, GgmlType, ggmlTypeInfo, type GgufTensorInput, type GgufValue, gv, quantize, readGguf, swapTensorBytes, writeGguf, writeGgufFile,
} from "../../src/gguf/index.ts";
import { fixtureBytes, fixtureNames } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "vb-gguf-writer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function everyValueType(): Map<string, GgufValue> {
  return new Map<string, GgufValue>([
    ["general.architecture", gv.str("test")],
    ["v.u8", gv.u8(255)], ["v.i8", gv.i8(-128)], ["v.u16", gv.u16(65535)], ["v.i16", gv.i16(-32768)],
    ["v.u32", gv.u32(0xffffffff)], ["v.i32", gv.i32(-0x80000000)], ["v.f32", gv.f32(Math.fround(0.1))], ["v.bool", gv.bool(false)],
    ["v.str", gv.str("héllo ✓ \u{1F600}")], ["v.u64", gv.u64((1n << 64n) - 1n)], ["v.i64", gv.i64(-(1n << 63n))],
    ["v.f64", gv.f64(Math.PI)],
    ["a.u8", { type: 9, itemType: 0, value: Uint8Array.of(0, 255) }],
    ["a.i8", { type: 9, itemType: 1, value: Int8Array.of(-128, 127) }],
    ["a.u16", { type: 9, itemType: 2, value: Uint16Array.of(1, 65535) }],
    ["a.i16", { type: 9, itemType: 3, value: Int16Array.of(-1, 2) }],
    ["a.u32", gv.u32s([1, 2, 0xffffffff])], ["a.i32", gv.i32s([-1, 0, 1])], ["a.f32", gv.f32s([1.5, -2.25])],
    ["a.bool", gv.bools([true, false, true])], ["a.str", gv.strs(["a", "", "ü"])],
    ["a.u64", { type: 9, itemType: 10, value: BigUint64Array.of(1n, (1n << 64n) - 1n) }],
    ["a.i64", { type: 9, itemType: 11, value: BigInt64Array.of(-1n, 1n << 62n) }],
    ["a.f64", { type: 9, itemType: 12, value: Float64Array.of(Math.E, -0) }],
    ["a.empty", gv.strs([])],
  ]);
}

function tensorsOfEveryType(seed: number): GgufTensorInput[] {
  const r = rng(seed);
  const out: GgufTensorInput[] = [];
  for (const type of [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0]) {
    const values = Float32Array.from({ length: 64 * 3 }, () => (r() - 0.5) * 8);
    out.push({ name: `w.${ggmlTypeInfo(type)!.name}`, type, ne: [64, 3], data: quantize(type, values) });
  }
  for (const type of [GgmlType.Q4_K, GgmlType.Q6_K]) {
    const info = ggmlTypeInfo(type)!;
    const data = Uint8Array.from({ length: info.typeSize * 2 }, () => Math.floor(r() * 256));
    data.set([0x00, 0x3c], type === GgmlType.Q4_K ? 0 : 208); // d = 1.0 so values are finite
    if (type === GgmlType.Q4_K) data.set([0x00, 0x3c], 2);
    else data.set([0x00, 0x3c], info.typeSize + 208);
    if (type === GgmlType.Q4_K) data.set([0x00, 0x3c, 0x00, 0x3c], info.typeSize);
    out.push({ name: `w.${info.name}`, type, ne: [256, 2], data });
  }
  out.push({ name: "w.4d", type: GgmlType.F32, ne: [2, 3, 4, 5], data: quantize(GgmlType.F32, new Float32Array(120).fill(1)) });
  return out;
}

describe("round trip read -> write -> read", () => {
  test.each(fixtureNames())("%s keeps metadata (types included) and tensor bytes", async (name) => {
    const src = readGguf(await fixtureBytes(name));
    const tensors = src.tensors.map((t) => (src.littleEndian ? t : { ...t, data: swapTensorBytes(t.type, t.data) }));
    const out = writeGguf({ metadata: src.metadata, tensors, alignment: src.alignment });
    const back = readGguf(out);
    expect(back.version).toBe(3);
    expect(back.littleEndian).toBe(true);
    expect(back.alignment).toBe(src.alignment);
    expect([...back.metadata]).toEqual([...src.metadata]);
    expect(back.tensors.map((t) => [t.name, t.type, t.ne])).toEqual(src.tensors.map((t) => [t.name, t.type, t.ne]));
    back.tensors.forEach((t, i) => {
      if (src.littleEndian) expect(Buffer.from(t.data).equals(Buffer.from(src.tensors[i]!.data))).toBe(true);
      else expect(dequantize(t)).toEqual(dequantize(src.tensors[i]!, false)); // byte-swapped to little-endian
    });
  });

  test.each(["ref-s1-a32.gguf", "ref-s1-a64.gguf", "ref-s1-a4096.gguf", "hyllama-dummy.gguf"])(
    "%s is rewritten byte for byte as gguf-py wrote it", async (name) => {
      const bytes = await fixtureBytes(name);
      const g = readGguf(bytes);
      expect(Buffer.from(writeGguf({ metadata: g.metadata, tensors: g.tensors })).equals(Buffer.from(bytes))).toBe(true);
    });
});

describe("files we write", () => {
  test.each([1, 32, 64, 4096])("every value type and tensor type, alignment %i, read back by us and by @huggingface/gguf", async (alignment) => {
    const metadata = everyValueType();
    const tensors = tensorsOfEveryType(alignment);
    const bytes = writeGguf({ metadata, tensors, alignment });
    const g = readGguf(bytes);
    expect(g.alignment).toBe(alignment);
    expect(g.dataOffset % alignment).toBe(0);
    expect(g.meta("general.alignment")).toBe(alignment === 32 ? undefined : alignment);
    for (const [k, v] of metadata) expect(g.metadata.get(k)).toEqual(v);
    tensors.forEach((t, i) => {
      const r = g.tensors[i]!;
      expect(r.absOffset % alignment).toBe(0);
      expect(Buffer.from(r.data).equals(Buffer.from(t.data))).toBe(true);
      expect(dequantize(r).every(Number.isFinite)).toBe(true);
    });
    const path = join(dir, `every-${alignment}.gguf`);
    writeFileSync(path, bytes);
    const hf = await hfGguf(path, { allowLocalFile: true, typedMetadata: true });
    expect(hf.tensorDataOffset).toBe(BigInt(g.dataOffset));
    for (const [k, v] of metadata) {
      const h = hf.typedMetadata[k] as { value: unknown; type: number; subType?: number };
      expect(h.type).toBe(v.type);
      if (v.type === 9) {
        expect(h.subType).toBe(v.itemType);
        expect(h.value as unknown[]).toEqual(Array.from(v.value as ArrayLike<unknown>));
      } else if (v.type === 6) {
        expect(h.value).toBe(Math.fround(v.value));
      } else {
        expect(h.value).toEqual(v.value as never);
      }
    }
    expect(hf.tensorInfos.map((t) => [t.name, t.dtype, t.shape.map(Number), Number(t.offset)])).toEqual(
      g.tensors.map((t) => [t.name, t.type, [...t.ne], t.relOffset]));
  });

  test("writeGgufFile streams the same bytes as writeGguf and truncates a longer existing file", async () => {
    const spec = { metadata: everyValueType(), tensors: tensorsOfEveryType(7), alignment: 64 };
    const path = join(dir, "streamed.gguf");
    writeFileSync(path, new Uint8Array(1 << 16).fill(0xaa));
    const n = await writeGgufFile(path, spec);
    const onDisk = await Bun.file(path).bytes();
    expect(n).toBe(onDisk.length);
    expect(Buffer.from(onDisk).equals(Buffer.from(writeGguf(spec)))).toBe(true);
  });

  test("a zero-tensor file is written with its padding and read back", () => {
    const bytes = writeGguf({ metadata: new Map([["k", gv.str("v")]]), tensors: [] });
    expect(bytes.length % 32).toBe(0);
    expect(readGguf(bytes).meta("k")).toBe("v");
  });
});

describe("writer input validation", () => {
  const md = new Map<string, GgufValue>();
  const t = (over: Partial<GgufTensorInput>): GgufTensorInput => ({ name: "t", type: 0, ne: [4], data: new Uint8Array(16), ...over });
  test("refuses tensor data of the wrong length", () => {
    expect(() => writeGguf({ metadata: md, tensors: [t({ data: new Uint8Array(15) })] })).toThrow(InputError);
  });
  test("refuses duplicate tensor names", () => {
    expect(() => writeGguf({ metadata: md, tensors: [t({}), t({})] })).toThrow(/duplicate/);
  });
  test("refuses a tensor name of 64 bytes", () => {
    expect(() => writeGguf({ metadata: md, tensors: [t({ name: "x".repeat(64) })] })).toThrow(/name/);
  });
  test("refuses ne[0] that is not a multiple of the block size, and 5 dimensions", () => {
    expect(() => writeGguf({ metadata: md, tensors: [t({ type: 8, ne: [16], data: new Uint8Array(17) })] })).toThrow(/block size/);
    expect(() => writeGguf({ metadata: md, tensors: [t({ ne: [4, 1, 1, 1, 1] })] })).toThrow(/dimensions/);
  });
  test("refuses unknown and removed tensor types", () => {
    expect(() => writeGguf({ metadata: md, tensors: [t({ type: 4 })] })).toThrow(/unknown ggml type 4/);
  });
  test("refuses out-of-range values and nested arrays", () => {
    expect(() => writeGguf({ metadata: new Map([["k", gv.u8(256)]]), tensors: [] })).toThrow(InputError);
    expect(() => writeGguf({ metadata: new Map([["k", gv.i64(1n << 63n)]]), tensors: [] })).toThrow(InputError);
    expect(() => writeGguf({ metadata: new Map([["k", { type: 9, itemType: 9, value: [] } as unknown as GgufValue]]), tensors: [] }))
      .toThrow(/nested/);
  });
  test("refuses strings with a lone surrogate and keys our reader would refuse (empty, over 65535 bytes)", () => {
    expect(() => writeGguf({ metadata: new Map([["k", gv.str("a\uD800b")]]), tensors: [] })).toThrow(/surrogate/);
    expect(() => writeGguf({ metadata: new Map([["", gv.u8(1)]]), tensors: [] })).toThrow(InputError);
    expect(() => writeGguf({ metadata: new Map([["k".repeat(65536), gv.u8(1)]]), tensors: [] })).toThrow(InputError);
    expect(readGguf(writeGguf({ metadata: new Map([["k".repeat(65535), gv.u8(1)]]), tensors: [] })).metadata.size).toBe(1);
  });
  test("a tensor name with a lone surrogate was written as U+FFFD: two names differing only there made a file our reader refuses (duplicate name); now refused", () => {
    expect(() => writeGguf({ metadata: md, tensors: [t({ name: "w\uD800" })] })).toThrow(/surrogate/);
    expect(() => writeGguf({ metadata: md, tensors: [t({ name: "a\uD800" }), t({ name: "a\uDC00" })] })).toThrow(/surrogate/);
  });
  test("tensor data given as a Float32Array (from JavaScript) was copied element by element by writeGguf, each value cut to a byte, and written as bytes by writeGgufFile; now refused", () => {
    const f32 = Float32Array.of(1.5, -2, 3.25, 4) as unknown as Uint8Array;
    expect(() => writeGguf({ metadata: md, tensors: [t({ data: f32 })] })).toThrow(/Uint8Array/);
  });
  test("refuses an alignment that is not a power of two or disagrees with general.alignment", () => {
    expect(() => writeGguf({ metadata: md, tensors: [], alignment: 48 })).toThrow(/power of two/);
    expect(() => writeGguf({ metadata: new Map([["general.alignment", gv.u32(64)]]), tensors: [], alignment: 32 })).toThrow(/disagrees/);
  });
});

describe("byte order", () => {
  test("swapTensorBytes turns big-endian F32/F16/Q8_0/Q4_0/Q4_K/Q6_K data into little-endian with the same values, and back", () => {
    const le = tensorsOfEveryType(3).filter((t) => t.ne.length === 2 && t.type !== GgmlType.BF16);
    for (const t of le) {
      const be = swapTensorBytes(t.type, t.data);
      const n = t.ne[0]! * t.ne[1]!;
      expect(dequantize({ type: t.type, data: be, nElements: n }, false)).toEqual(dequantize({ type: t.type, data: t.data, nElements: n }));
      expect(Buffer.from(swapTensorBytes(t.type, be)).equals(Buffer.from(t.data))).toBe(true);
    }
  });
  test("swapTensorBytes refuses types whose layout it does not know and partial blocks", () => {
    expect(() => swapTensorBytes(GgmlType.Q5_K, new Uint8Array(176))).toThrow(InputError);
    expect(() => swapTensorBytes(GgmlType.Q8_0, new Uint8Array(35))).toThrow(InputError);
  });
});
