// Every shared GGUF fixture parses and agrees with its .json (gguf-py) and with @huggingface/gguf.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { gguf as hfGguf } from "@huggingface/gguf";
import { dequantize, readGguf, toJsonValue } from "../../src/gguf/index.ts";
import { fixtureBytes, fixtureNames, fixturePath } from "./helpers.ts";

interface Expected {
  alignment: number;
  endian: "LITTLE" | "BIG";
  tensors: Array<{ name: string; type: string; ne: number[]; absolute_offset: number;
    values: { count: number; first: number[]; sum: number; sumsq: number } }>;
  metadata: Record<string, unknown>;
}

const names = fixtureNames();

test("the fixture directory holds the files the issue names", () => {
  expect(names.length).toBeGreaterThanOrEqual(8);
  expect(names).toContain("ref-s1-big-endian.gguf");
  expect(names).toContain("llama.cpp-vocab-bert-bge.gguf");
  expect(names.filter((n) => existsSync(fixturePath(n.replace(/\.gguf$/, ".json"))))).toEqual([
    "ref-s1-a32.gguf", "ref-s1-a4096.gguf", "ref-s1-a64.gguf", "ref-s1-big-endian.gguf",
  ]);
});

describe.each(names)("%s", (name) => {
  test("parses and matches @huggingface/gguf (metadata values and types, tensor infos, data offset)", async () => {
    const bytes = await fixtureBytes(name);
    const g = readGguf(bytes);
    const hf = await hfGguf(fixturePath(name), { allowLocalFile: true, typedMetadata: true });
    expect(g.littleEndian).toBe(hf.littleEndian);
    expect(g.version as number).toBe(hf.typedMetadata.version.value as number);
    const hfKeys = Object.keys(hf.typedMetadata).filter((k) => !["version", "tensor_count", "kv_count"].includes(k));
    expect([...g.metadata.keys()]).toEqual(hfKeys);
    for (const [k, v] of g.metadata) {
      const h = hf.typedMetadata[k] as { value: unknown; type: number; subType?: number };
      expect(v.type as number).toBe(h.type);
      if (v.type === 9) {
        expect(v.itemType as number).toBe(h.subType!);
        // @huggingface/gguf's TextDecoder drops a leading byte-order mark (a real llama-spm token is just EF BB BF); we keep it.
        const ours = Array.from(v.value as ArrayLike<unknown>, (x) => (typeof x === "string" ? x.replace(/^\uFEFF/, "") : x));
        expect(ours).toEqual(h.value as unknown[]);
      } else {
        expect(v.value).toEqual(h.value as never);
      }
    }
    expect(g.tensors.length).toBe(hf.tensorInfos.length);
    g.tensors.forEach((t, i) => {
      const h = hf.tensorInfos[i]!;
      expect(t.name).toBe(h.name);
      expect(t.type).toBe(h.dtype as number);
      expect(t.ne).toEqual(h.shape.map(Number));
      expect(BigInt(t.relOffset)).toBe(h.offset);
    });
    if (g.tensors.length > 0) expect(BigInt(g.dataOffset)).toBe(hf.tensorDataOffset);
  });

  const jsonPath = fixturePath(name.replace(/\.gguf$/, ".json"));
  if (!existsSync(jsonPath)) return; // the vocab and hyllama files come without a .json
  test("matches its .json: alignment, endianness, metadata, types, ne, absolute offsets, dequantized digests", async () => {
    const bytes = await fixtureBytes(name);
    const exp = (await Bun.file(jsonPath).json()) as Expected;
    const g = readGguf(bytes);
    expect(g.alignment).toBe(exp.alignment);
    expect(g.littleEndian).toBe(exp.endian === "LITTLE");
    for (const [k, v] of Object.entries(exp.metadata)) {
      const got = g.metadata.get(k);
      expect(got).toBeDefined();
      const plain = toJsonValue(got!);
      if (typeof v === "number") expect(plain as number).toBeCloseTo(v, 6);
      else expect(plain).toEqual(v);
    }
    expect(g.tensors.map((t) => t.name)).toEqual(exp.tensors.map((t) => t.name));
    for (const et of exp.tensors) {
      const t = g.tensorByName(et.name)!;
      expect(t.typeName).toBe(et.type);
      expect([...t.ne]).toEqual(et.ne);
      expect(t.absOffset).toBe(et.absolute_offset);
      // zero-copy: the view shares the caller's buffer at the absolute offset
      expect(t.data.buffer).toBe(bytes.buffer);
      expect(t.data.byteOffset).toBe(bytes.byteOffset + et.absolute_offset);
      const v = dequantize(t, g.littleEndian);
      expect(v.length).toBe(et.values.count);
      for (let i = 0; i < et.values.first.length; i++) expect(Object.is(v[i], et.values.first[i])).toBe(true);
      let sum = 0;
      let sumsq = 0;
      for (const x of v) {
        sum += x;
        sumsq += x * x;
      }
      // exact values, summed in another order than numpy: allow rounding of the sum only
      expect(Math.abs(sum - et.values.sum)).toBeLessThanOrEqual(1e-12 * Math.max(1, et.values.sumsq));
      expect(Math.abs(sumsq - et.values.sumsq)).toBeLessThanOrEqual(1e-12 * Math.max(1, et.values.sumsq));
    }
  });
});

test("a subrange of a larger buffer reads with offsets relative to the subrange", async () => {
  const bytes = await fixtureBytes("ref-s1-a64.gguf");
  const big = new Uint8Array(bytes.length + 100);
  big.set(bytes, 37);
  const g = readGguf(big.subarray(37, 37 + bytes.length));
  const ref = readGguf(bytes);
  expect(g.tensors.map((t) => t.absOffset)).toEqual(ref.tensors.map((t) => t.absOffset));
  expect(Array.from(dequantize(g.tensors[3]!))).toEqual(Array.from(dequantize(ref.tensors[3]!)));
});

test("a zero-tensor vocab file that ends before its data padding parses (bert-bge)", async () => {
  const bytes = await fixtureBytes("llama.cpp-vocab-bert-bge.gguf");
  const g = readGguf(bytes);
  expect(g.tensors.length).toBe(0);
  expect(g.dataOffset).toBeGreaterThan(bytes.length);
});
