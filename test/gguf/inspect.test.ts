// `vector-boot inspect` of the shipped executable (checkout hidden) on the fixtures, JSON against the .json files, exit codes for bad input.
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { exe, runShipped, shipped, shippedDir, shippedEnv, tempDir } from "../harness/artifact.ts";
import { fixtureBytes, fixturePath } from "./helpers.ts";
import { gv, writeGguf } from "../../src/gguf/index.ts";

const dir = tempDir("vb-inspect-");

async function inspect(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runShipped(["inspect", ...args], { timeoutMs: 20_000 });
}

test("--json reports the header, typed metadata and every tensor's type, shape, absolute offset and size", async () => {
  for (const name of ["ref-s1-a4096", "ref-s1-big-endian"]) {
    const r = await inspect("--json", fixturePath(`${name}.gguf`));
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    const exp = await Bun.file(fixturePath(`${name}.json`)).json();
    expect(j.alignment).toBe(exp.alignment);
    expect(j.littleEndian).toBe(exp.endian === "LITTLE");
    expect(j.version).toBe(3);
    expect(j.tensors.map((t: { name: string; type: string; ne: number[]; offset: number }) => [t.name, t.type, t.ne, t.offset]))
      .toEqual(exp.tensors.map((t: { name: string; type: string; ne: number[]; absolute_offset: number }) => [t.name, t.type, t.ne, t.absolute_offset]));
    for (const [k, v] of Object.entries(exp.metadata)) {
      if (typeof v === "number") expect(j.metadata[k].value).toBeCloseTo(v, 6);
      else expect(j.metadata[k].value).toEqual(v);
    }
  }
});

test("text output lists every key with its type and every tensor line", async () => {
  const r = await inspect(fixturePath("hyllama-dummy.gguf"));
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("GGUF v3, little-endian, alignment 32");
  expect(r.stdout).toMatch(/UINT64\s+\|\s+1 \| some\.parameter\.uint64 = 1311768467463790320/);
  expect(r.stdout).toMatch(/\[STRING\]\s+\|\s+3 \| some\.parameter\.arr\.str = \["hello", "world", "!"\]/);
  expect(r.stdout.split("\n").filter((l) => / F32 .*\| tensor_\d$/.test(l)).length).toBe(10);
});

test("long arrays are elided in text and capped by --max-items in JSON", async () => {
  const r = await inspect(fixturePath("llama.cpp-vocab-llama-spm.gguf"));
  expect(r.stdout).toMatch(/tokenizer\.ggml\.tokens = \[.*\.\.\. 31992 more\]/);
  const j = JSON.parse((await inspect("--json", "--max-items", "3", fixturePath("llama.cpp-vocab-llama-spm.gguf"))).stdout);
  expect(j.metadata["tokenizer.ggml.tokens"].value.length).toBe(3);
  expect(j.metadata["tokenizer.ggml.tokens"].count).toBe(32000);
});

test("a malformed GGUF exits 2 and names the field and byte offset", async () => {
  const bytes = (await fixtureBytes("ref-s1-a32.gguf")).slice();
  new DataView(bytes.buffer).setBigUint64(8, 1n << 60n, true); // tensor_count
  const path = join(dir, "bad.gguf");
  writeFileSync(path, bytes);
  const r = await inspect(path);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("GGUF tensor_count at byte 8");
});

test("a file that is not a GGUF exits 2 naming the magic; an empty file too", async () => {
  const path = join(dir, "text.txt");
  writeFileSync(path, "hello world");
  expect((await inspect(path)).stderr).toContain("GGUF magic at byte 0");
  writeFileSync(join(dir, "empty"), "");
  expect((await inspect(join(dir, "empty"))).code).toBe(2);
});

test("--help exits 0; an unknown flag or a missing file is a usage error (64)", async () => {
  expect((await inspect("--help")).stdout).toContain("Usage: vector-boot inspect FILE");
  expect((await inspect("--frobnicate", "x")).code).toBe(64);
  expect((await inspect()).code).toBe(64);
  expect((await inspect(join(dir, "missing.gguf"))).code).toBe(64);
});

test("inspects the model embedded in the shipped executable (mapped read-only at its trailer offset)", async () => {
  const r = await inspect("--json", "--max-items", "2", exe);
  expect(r.code).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j.origin).toBe("embedded");
  expect(j.modelOffset).toBeGreaterThan(0);
  expect(j.metadata["general.architecture"].value).toBe("vectorland");
  expect(j.tensors.length).toBeGreaterThan(0);
});

test("--json dropped a metadata key named __proto__ (it set the report object's prototype instead)", async () => {
  const p = join(dir, "proto-key.gguf");
  writeFileSync(p, writeGguf({ metadata: new Map([["general.architecture", gv.str("x")], ["__proto__", gv.str("kept")], ["constructor", gv.u32(7)]]), tensors: [] }));
  const r = await inspect("--json", p);
  expect(r.code).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(Object.keys(j.metadata)).toEqual(["general.architecture", "__proto__", "constructor"]);
  expect(Object.getOwnPropertyDescriptor(j.metadata, "__proto__")!.value).toEqual({ type: "STRING", value: "kept" });
  expect(j.metadata.constructor).toEqual({ type: "UINT32", value: 7 });
});

test("--json --max-items 2 turned all 32 Mi items of a 64 MiB UINT16 array into JSON values first (a 64 MiB UINT8 array: 10.5 s and 1.1 GB, the text report 0.4 s and 180 MB): its peak memory is the text report's", () => {
  const p = join(dir, "u16-array.gguf");
  writeFileSync(p, writeGguf({ metadata: [["a", { type: 9, itemType: 2, value: new Uint16Array(32 << 20).fill(3, 0, 1) }]], tensors: [] }));
  // Work counted as memory, not time (speed is bench/'s): 32 Mi JS numbers are 256 MiB at least.
  const run = (...args: string[]) => {
    const r = Bun.spawnSync(shipped(["inspect", ...args, p]), { stdout: "pipe", stderr: "pipe", timeout: 60_000, cwd: shippedDir, env: shippedEnv() });
    return { code: r.exitCode, out: r.stdout.toString(), maxRss: r.resourceUsage.maxRSS };
  };
  const text = run("--max-items", "2");
  const json = run("--json", "--max-items", "2");
  expect([text.code, json.code]).toEqual([0, 0]);
  expect(text.out).toContain("a = [3, 0, ... 33554430 more]");
  expect(JSON.parse(json.out).metadata.a).toEqual({ type: "ARRAY", itemType: "UINT16", count: 32 << 20, value: [3, 0] });
  expect(json.maxRss).toBeLessThan(text.maxRss + (96 << 20));
}, 120_000);
